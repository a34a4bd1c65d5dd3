"""Placement: the least loaded enabled compute whose service is up and
accepting work, among those where the flavor still fits."""
from __future__ import annotations

from sqlalchemy import select

from taskvisor import servicegroup
from taskvisor.db import direct
from taskvisor.db.models import host_usage
from taskvisor.db.session import Database
from taskvisor.db.zones import host_zones, zone_of
from taskvisor.servicegroup import COMPUTE_BINARY
from taskvisor.tasks.flow import StepFailed

# Every host's usage: a row per host, kept by the database (db/usage_counts.py),
# whatever the number of servers.
_USAGE = select(host_usage.c.host, host_usage.c.servers, host_usage.c.vcpus, host_usage.c.ram, host_usage.c.disk)


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
    for host, count, vcpus, ram, disk in direct.rows(conn, _USAGE, {}):
        if host in used:
            used[host] = {"count": count, "vcpus": vcpus, "ram": ram, "disk": disk}
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
