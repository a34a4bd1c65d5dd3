"""Server group policies at scheduling time (Nova's affinity and
anti-affinity filters and soft weighers, reduced to one choice).

``select_host_in_group`` wraps ``hosts.select_host``: a hard policy
narrows the hosts it may choose (none left: NoValidHost), a soft one only
prefers and falls back to any host."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from taskvisor import servicegroup
from taskvisor.db.models import server_group_members, server_groups, servers
from taskvisor.db.session import Database
from taskvisor.scheduler.hosts import NoValidHost, select_host
from taskvisor.servicegroup import COMPUTE_BINARY


def group_of(conn, server_id: str) -> tuple[dict | None, Counter]:
    """The server's group, and how many of its other live members each host holds."""
    group = conn.execute(select(server_groups).join(
        server_group_members, server_group_members.c.group_id == server_groups.c.id)
        .where(server_group_members.c.server_id == server_id)).mappings().first()
    if group is None:
        return None, Counter()
    hosts = conn.execute(select(servers.c.host).join(
        server_group_members, server_group_members.c.server_id == servers.c.id)
        .where(server_group_members.c.group_id == group["id"], servers.c.id != server_id,
               servers.c.deleted == False, servers.c.host.is_not(None))).scalars().all()  # noqa: E712
    return dict(group), Counter(hosts)


def hosts_to_avoid(db: Database, group: dict, used: Counter) -> set[str]:
    """The hosts the policy rules out."""
    if group["policy"].endswith("anti-affinity"):
        most = int((group["rules"] or {}).get("max_server_per_host", 1))
        return {host for host, count in used.items() if count >= most}
    if not used:  # the first member of an affinity group may go anywhere
        return set()
    home = used.most_common(1)[0][0]
    with db.read() as conn:
        every = {s["host"] for s in servicegroup.list_services(conn, COMPUTE_BINARY)}
    return every - {home}


def select_host_in_group(db: Database, server_id: str, flavor: dict, down_time: float,
                         exclude: tuple[str, ...] = (), **where) -> str:
    """``where``: what else narrows the hosts (``hosts.select_host``'s zone)."""
    with db.read() as conn:
        group, used = group_of(conn, server_id)
    if group is None:
        return select_host(db, flavor, down_time, exclude, **where)
    avoid = tuple(hosts_to_avoid(db, group, used))
    try:
        return select_host(db, flavor, down_time, exclude + avoid, **where)
    except NoValidHost:
        if not group["policy"].startswith("soft-"):
            raise NoValidHost("There are not enough hosts available.") from None
    return select_host(db, flavor, down_time, exclude, **where)  # soft: best effort
