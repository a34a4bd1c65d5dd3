"""Placement: the least loaded enabled compute whose service is up and
accepting work, among those where the flavor still fits."""
from __future__ import annotations

from sqlalchemy import select

from taskvisor import servicegroup
from taskvisor.db.models import servers
from taskvisor.db.session import Database
from taskvisor.tasks.flow import StepFailed

COMPUTE_BINARY = "taskvisor-compute"


class NoValidHost(StepFailed):
    def __init__(self, reason: str):
        super().__init__(f"No valid host was found. {reason}", code=500)


def select_host(db: Database, flavor: dict, down_time: float, exclude: tuple[str, ...] = ()) -> str:
    with db.read() as conn:
        candidates = [s for s in servicegroup.list_services(conn, COMPUTE_BINARY)
                      if not s["disabled"] and s["state"] == "running" and s["host"] not in exclude
                      and servicegroup.is_up(s, down_time)]
        if not candidates:
            raise NoValidHost("There are not enough hosts available.")
        hosts = [s["host"] for s in candidates]
        used: dict[str, dict] = {h: {"count": 0, "vcpus": 0, "ram": 0, "disk": 0} for h in hosts}
        for host, f in conn.execute(select(servers.c.host, servers.c.flavor).where(
                servers.c.host.in_(hosts), servers.c.deleted.is_(False))):
            u = used[host]
            u["count"] += 1
            u["vcpus"] += f.get("vcpus", 0)
            u["ram"] += f.get("ram", 0)
            u["disk"] += f.get("disk", 0)
    fitting = []
    for svc in candidates:
        cap, u = svc["capabilities"] or {}, used[svc["host"]]
        if (u["vcpus"] + flavor.get("vcpus", 0) <= cap.get("vcpus", 0)
                and u["ram"] + flavor.get("ram", 0) <= cap.get("memory_mb", 0)
                and u["disk"] + flavor.get("disk", 0) <= cap.get("disk_gb", 0)):
            fitting.append((u["count"], svc["host"]))
    if not fitting:
        raise NoValidHost(f"No compute has room for flavor {flavor.get('name')}.")
    return min(fitting)[1]
