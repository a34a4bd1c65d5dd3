"""Placement of a bare-metal server: a bare-metal compute that is up, and an
``available`` node of the flavor's resource class that no server holds.

Choosing and reserving a node is one conditional UPDATE (the node must still
be free when the row is written), so two boots never get the same node; a
boot that loses the race tries the next candidate.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from taskvisor import servicegroup
from taskvisor.baremetal.placement import HYPERVISOR_TYPE, host_for, node_class, normalize
from taskvisor.db.models import nodes
from taskvisor.db.session import Database, utcnow
from taskvisor.scheduler.hosts import NoValidHost
from taskvisor.servicegroup import COMPUTE_BINARY
from taskvisor.states import node as node_states

_FREE = (nodes.c.provision_state == node_states.AVAILABLE, nodes.c.maintenance.is_(False),
         nodes.c.instance_uuid.is_(None), nodes.c.task_id.is_(None))


def baremetal_hosts(conn: Connection, down_time: float, usable_only: bool = True) -> list[dict]:
    """Compute services running the baremetal driver (optionally only those up and enabled)."""
    out = []
    for svc in servicegroup.list_services(conn, COMPUTE_BINARY):
        if (svc["capabilities"] or {}).get("hypervisor_type") != HYPERVISOR_TYPE:
            continue
        if usable_only and (svc["disabled"] or svc["state"] != "running" or not servicegroup.is_up(svc, down_time)):
            continue
        out.append(svc)
    return out


def compute_for(db: Database, node_id: str, down_time: float) -> str | None:
    with db.read() as conn:
        return host_for(node_id, [s["host"] for s in baremetal_hosts(conn, down_time)])


def reserve_node(db: Database, server_id: str, task_id: str, flavor: dict, instance_info: dict,
                 down_time: float, fenced: Callable[[], AbstractContextManager[Connection]]) -> tuple[dict, str]:
    """Reserve a node for the server (instance_uuid, and the node's lock for
    the booting task); returns (node, compute host). ``fenced()`` is the
    task's fenced transaction: the node is reserved only while this conductor
    still runs the task."""
    wanted = node_class(flavor)
    if wanted is None:
        raise NoValidHost(f"Flavor {flavor.get('name')} asks for no single bare-metal resource class "
                          "with amount 1.")
    with db.read() as conn:
        hosts = [s["host"] for s in baremetal_hosts(conn, down_time)]
        if not hosts:
            raise NoValidHost("There are not enough hosts available: no bare-metal compute is up.")
        candidates = [dict(r) for r in conn.execute(
            select(nodes.c.id, nodes.c.resource_class).where(*_FREE).order_by(nodes.c.created_at, nodes.c.id)
        ).mappings() if r["resource_class"] and normalize(r["resource_class"]) == wanted]
    for node in candidates:
        with fenced() as conn:
            taken = conn.execute(update(nodes).where(nodes.c.id == node["id"], *_FREE).values(
                instance_uuid=server_id, task_id=task_id, instance_info=instance_info,
                updated_at=utcnow())).rowcount
            if taken:
                row = dict(conn.execute(select(nodes).where(nodes.c.id == node["id"])).mappings().one())
                return row, host_for(row["id"], hosts)
    raise NoValidHost(f"No available node of resource class {wanted} (flavor {flavor.get('name')}).")
