"""Placement: the least loaded enabled compute whose service is up and
accepting work, among those where the flavor still fits."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select

from taskvisor import servicegroup
from taskvisor.db.models import servers
from taskvisor.db.session import Database
from taskvisor.db.zones import host_zones, zone_of
from taskvisor.servicegroup import COMPUTE_BINARY
from taskvisor.tasks.flow import StepFailed

# Built once (statement construction costs more than the query). It reads
# only ix_servers_usage: no row and no JSON, whatever the number of servers.
_USAGE = (select(servers.c.host, func.count(), func.sum(servers.c.vcpus), func.sum(servers.c.ram),
                 func.sum(servers.c.disk))
          .where(servers.c.host.in_(bindparam("hosts", expanding=True)), servers.c.deleted.is_(False))
          .group_by(servers.c.host))


class NoValidHost(StepFailed):
    def __init__(self, reason: str):
        super().__init__(f"No valid host was found. {reason}", code=500)


def select_host(db: Database, flavor: dict, down_time: float, exclude: tuple[str, ...] = (),
                zone: str | None = None, default_zone: str = "nova") -> str:
    with db.read() as conn:
        return choose_host(conn, flavor, down_time, exclude, zone, default_zone)


def choose_host(conn, flavor: dict, down_time: float, exclude: tuple[str, ...] = (),
                zone: str | None = None, default_zone: str = "nova") -> str:
    """``select_host`` within the caller's read transaction."""
    candidates = [s for s in servicegroup.list_services(conn, COMPUTE_BINARY)
                  if not s["disabled"] and s["state"] == "running" and s["host"] not in exclude
                  and servicegroup.is_up(s, down_time)]
    candidates = in_zone(conn, candidates, zone, default_zone)
    if not candidates:
        raise NoValidHost("There are not enough hosts available.")
    hosts = [s["host"] for s in candidates]
    used = {h: {"count": 0, "vcpus": 0, "ram": 0, "disk": 0} for h in hosts}
    for host, count, vcpus, ram, disk in conn.execute(_USAGE, {"hosts": hosts}):
        used[host] = {"count": count, "vcpus": vcpus or 0, "ram": ram or 0, "disk": disk or 0}
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


def in_zone(conn, candidates: list[dict], zone: str | None, default_zone: str) -> list[dict]:
    """The hosts of the requested availability zone (any host when none was asked for)."""
    if not zone:
        return candidates
    zones = host_zones(conn)
    return [s for s in candidates if zone_of(zones, s["host"], default_zone) == zone]
