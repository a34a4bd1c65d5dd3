"""Server group policies at scheduling time (Nova's affinity and
anti-affinity filters and soft weighers, reduced to one choice).

``select_host_in_group`` wraps ``hosts.select_host``: a hard policy
narrows the hosts it may choose (none left: NoValidHost), a soft one only
prefers and falls back to any host."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy import select, text, update

from taskvisor import servicegroup
from taskvisor.db.models import server_group_members, server_groups, servers
from taskvisor.db.session import Database
from taskvisor.scheduler.hosts import NoValidHost, select_host
from taskvisor.servicegroup import COMPUTE_BINARY


def group_of(conn, server_id: str) -> tuple[dict | None, list[tuple[str, str]]]:
    """The server's group, and (member id, host) of its other live members that have a host."""
    group = conn.execute(select(server_groups).join(
        server_group_members, server_group_members.c.group_id == server_groups.c.id)
        .where(server_group_members.c.server_id == server_id)).mappings().first()
    if group is None:
        return None, []
    rows = conn.execute(select(servers.c.id, servers.c.host).join(
        server_group_members, server_group_members.c.server_id == servers.c.id)
        .where(server_group_members.c.group_id == group["id"], servers.c.id != server_id,
               servers.c.deleted == False, servers.c.host.is_not(None))).all()  # noqa: E712
    return dict(group), [(r.id, r.host) for r in rows]


def _anti(group: dict) -> bool:
    return group["policy"].endswith("anti-affinity")


def hosts_to_avoid(db: Database, group: dict, members: list[tuple[str, str]]) -> set[str]:
    """The hosts the policy rules out, given where the other members are."""
    used = Counter(host for _, host in members)
    if _anti(group):
        most = int((group["rules"] or {}).get("max_server_per_host", 1))
        return {host for host, count in used.items() if count >= most}
    if not used:  # the first member of an affinity group may go anywhere
        return set()
    home = min(members)[1]  # the earliest-named member's host
    with db.read() as conn:
        every = {s["host"] for s in servicegroup.list_services(conn, COMPUTE_BINARY)}
    return every - {home}


def _breaks_policy(group: dict, host: str, members: list[tuple[str, str]]) -> bool:
    """Would one more member on ``host`` break the (hard) policy?"""
    if _anti(group):
        most = int((group["rules"] or {}).get("max_server_per_host", 1))
        return sum(1 for _, h in members if h == host) >= most
    return bool(members) and min(members)[1] != host


def _lock_group(conn, group_id: str) -> None:
    """Serialise the claims of one group's members (SQLite's writers already are)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"server-group:{group_id}"})


def select_host_in_group(db: Database, server_id: str, flavor: dict, down_time: float,
                         exclude: tuple[str, ...] = (), fenced: Callable | None = None,
                         task_id: str | None = None, **where) -> str:
    """With ``fenced`` (the task's fenced write transaction), a hard policy's
    choice is checked and written in one transaction under the group's lock,
    so members scheduled at the same moment see each other (Nova's late check).
    ``where``: what else narrows the hosts (``hosts.select_host``'s zone)."""
    with db.read() as conn:
        group, members = group_of(conn, server_id)
    if group is None:
        return select_host(db, flavor, down_time, exclude, **where)
    for _ in range(ATTEMPTS):
        try:
            host = select_host(db, flavor, down_time, exclude + tuple(hosts_to_avoid(db, group, members)), **where)
        except NoValidHost:
            if not group["policy"].startswith("soft-"):
                raise NoValidHost("There are not enough hosts available.") from None
            return select_host(db, flavor, down_time, exclude, **where)  # soft: best effort
        if fenced is None or group["policy"].startswith("soft-"):
            return host
        with fenced() as conn:
            _lock_group(conn, group["id"])
            _, members = group_of(conn, server_id)
            if not _breaks_policy(group, host, members):
                conn.execute(update(servers).where(servers.c.id == server_id, servers.c.task_id == task_id)
                             .values(host=host, node=host))
                return host
        # a member scheduled at the same moment took the room: choose again, knowing where it went
    raise NoValidHost("There are not enough hosts available.")


ATTEMPTS = 5
