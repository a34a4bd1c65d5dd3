"""What a bare-metal compute asks its conductor (computes never open the
database): the nodes it can offer, and the power state of each node that
holds a server (for power-state sync)."""
from __future__ import annotations

from sqlalchemy import func, select

from taskvisor.baremetal.interfaces import POWER_OFF, POWER_ON
from taskvisor.baremetal.placement import normalize
from taskvisor.db.models import nodes
from taskvisor.db.session import Database
from taskvisor.states import node as node_states
from taskvisor.states import power

_POWER = {POWER_ON: power.RUNNING, POWER_OFF: power.SHUTDOWN}
_AVAILABLE = (select(nodes.c.resource_class, func.count())
              .where(nodes.c.provision_state == node_states.AVAILABLE, nodes.c.maintenance.is_(False),
                     nodes.c.instance_uuid.is_(None)).group_by(nodes.c.resource_class))
_HELD = select(nodes.c.instance_uuid, nodes.c.power_state).where(nodes.c.instance_uuid.is_not(None))


def available_nodes(db: Database) -> dict[str, int]:
    """Free nodes per (normalised) resource class."""
    with db.read() as conn:
        rows = conn.execute(_AVAILABLE).all()
    available: dict[str, int] = {}
    for rc, count in rows:
        if rc:
            available[normalize(rc)] = available.get(normalize(rc), 0) + count
    return available


def server_power_states(db: Database) -> dict[str, int]:
    """Nova's power state of every server on a node, by server id."""
    with db.read() as conn:
        rows = conn.execute(_HELD).all()
    return {uuid: _POWER.get(state, power.NOSTATE) for uuid, state in rows}
