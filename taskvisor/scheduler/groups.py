"""Server group policies at scheduling time (Nova's affinity and
anti-affinity filters and soft weighers, reduced to one choice).

``select_host_in_group`` wraps ``hosts.choose_host``: a hard policy
narrows the hosts it may choose (none left: NoValidHost), a soft one only
prefers and falls back to any host."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import bindparam, select, text, update

from taskvisor import servicegroup
from taskvisor.db import direct
from taskvisor.db.models import server_group_members, server_groups, servers
from taskvisor.db.session import Database
from taskvisor.db.zones import zone_of_host
from taskvisor.scheduler.hosts import NoValidHost, choose_host
from taskvisor.servicegroup import COMPUTE_BINARY

# Built once (every boot asks for its server's group; SQLAlchemy then
# reuses the compiled form), reading only the columns used.
_GROUP = (select(server_groups.c.id, server_groups.c.policy, server_groups.c.rules)
          .join(server_group_members, server_group_members.c.group_id == server_groups.c.id)
          .where(server_group_members.c.server_id == bindparam("server_id")))
_MEMBERS = (select(servers.c.id, servers.c.host)
            .join(server_group_members, server_group_members.c.server_id == servers.c.id)
            .where(server_group_members.c.group_id == bindparam("group_id"),
                   servers.c.id != bindparam("server_id"), servers.c.deleted.is_(False),
                   servers.c.host.is_not(None)))
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")
# How often a hard policy's choice is made again when a member scheduled at
# the same moment took its room.
ATTEMPTS = 5
_SET_HOST = (update(servers).where(servers.c.id == bindparam("sid"), servers.c.task_id == bindparam("tid"))
             .values(host=bindparam("chosen"), node=bindparam("chosen")))


def group_of(conn, server_id: str) -> tuple[dict | None, list[tuple[str, str]]]:
    """The server's group, and (member id, host) of its other live members that have a host."""
    group = direct.mapping(conn, _GROUP, {"server_id": server_id})
    if group is None:
        return None, []
    rows = direct.mappings(conn, _MEMBERS, {"group_id": group["id"], "server_id": server_id})
    return group, [(r["id"], r["host"]) for r in rows]


def _anti(group: dict) -> bool:
    return group["policy"].endswith("anti-affinity")


def _most_per_host(group: dict) -> int:
    return int((group["rules"] or {}).get("max_server_per_host", 1))


def _home(members: list[tuple[str, str]]) -> str:
    """An affinity group's host: the earliest-named member's."""
    return min(members)[1]


def hosts_to_avoid(conn, group: dict, members: list[tuple[str, str]]) -> set[str]:
    """The hosts the policy rules out, given where the other members are."""
    used = Counter(host for _, host in members)
    if _anti(group):
        most = _most_per_host(group)
        return {host for host, count in used.items() if count >= most}
    if not used:  # the first member of an affinity group may go anywhere
        return set()
    every = {s["host"] for s in servicegroup.list_services(conn, COMPUTE_BINARY)}
    return every - {_home(members)}


def _breaks_policy(group: dict, host: str, members: list[tuple[str, str]]) -> bool:
    """Would one more member on ``host`` break the (hard) policy?"""
    if _anti(group):
        return sum(1 for _, h in members if h == host) >= _most_per_host(group)
    return bool(members) and _home(members) != host


def _lock_group(conn, group_id: str) -> None:
    """Serialise the claims of one group's members (SQLite's writers already are)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"key": f"server-group:{group_id}"})


def _placed(conn, host: str, zone: str | None, default_zone: str) -> tuple[str, str]:
    """The host and its zone (the one asked for, else the host's own)."""
    return host, zone or zone_of_host(conn, host, default_zone)


def select_host_in_group(db: Database, server_id: str, flavor: dict, down_time: float,
                         exclude: tuple[str, ...] = (), fenced: Callable | None = None,
                         task_id: str | None = None, zone: str | None = None,
                         default_zone: str = "nova") -> tuple[str, str]:
    """(host, its availability zone) for the server (``zone``: only hosts
    of that zone). With ``fenced`` (the task's fenced write transaction), a
    hard policy's choice is checked and written in one transaction under
    the group's lock, so members scheduled at the same moment see each
    other (Nova's late check). A server in no group costs one read
    transaction."""
    where = {"zone": zone, "default_zone": default_zone}
    with db.read() as conn:
        group, members = group_of(conn, server_id)
        if group is None:
            return _placed(conn, choose_host(conn, flavor, down_time, exclude, **where), zone, default_zone)
    soft = group["policy"].startswith("soft-")
    for _ in range(ATTEMPTS):
        with db.read() as conn:
            try:
                host = choose_host(conn, flavor, down_time,
                                   exclude + tuple(hosts_to_avoid(conn, group, members)), **where)
            except NoValidHost:
                if not soft:
                    raise NoValidHost("There are not enough hosts available.") from None
                host = choose_host(conn, flavor, down_time, exclude, **where)  # soft: best effort
                return _placed(conn, host, zone, default_zone)
            placed = _placed(conn, host, zone, default_zone)
        if fenced is None or soft:
            return placed
        with fenced() as conn:
            _lock_group(conn, group["id"])
            _, members = group_of(conn, server_id)
            if not _breaks_policy(group, host, members):
                conn.execute(_SET_HOST, {"sid": server_id, "tid": task_id, "chosen": host})
                return placed
        # a member scheduled at the same moment took the room: choose again, knowing where it went
    raise NoValidHost("There are not enough hosts available.")
