"""The baremetal virt driver: a compute whose "guests" are bare-metal nodes.

Nova's ironic driver calls Ironic's API; in taskvisor the conductor already
runs node steps itself (bm_* flows), so this driver is a thin, read-only
bridge: it reports capacity (available nodes per resource class; no vCPUs,
RAM or disk of its own, so virtual flavors never land here) and the power
state of every node that holds a server (power-state sync). A compute never
writes the database; this one only reads the nodes table.
"""
from __future__ import annotations

from sqlalchemy import func, select

from taskvisor.baremetal.interfaces import POWER_OFF, POWER_ON
from taskvisor.baremetal.placement import normalize
from taskvisor.db.models import nodes
from taskvisor.db.session import Database
from taskvisor.states import node as node_states
from taskvisor.states import power
from taskvisor.virt.driver import ComputeDriver, DriverError

_UNSUPPORTED = "bare-metal servers are deployed and powered by the conductor's node steps, not by a compute"
_POWER = {POWER_ON: power.RUNNING, POWER_OFF: power.SHUTDOWN}


class BaremetalDriver(ComputeDriver):
    def __init__(self, conf):
        self.conf = conf
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.conf.database_url)
        return self._db

    def capabilities(self) -> dict:
        with self.db.read() as conn:
            rows = conn.execute(select(nodes.c.resource_class, func.count()).where(
                nodes.c.provision_state == node_states.AVAILABLE, nodes.c.maintenance.is_(False),
                nodes.c.instance_uuid.is_(None)).group_by(nodes.c.resource_class)).all()
        available: dict[str, int] = {}
        for rc, count in rows:
            if rc:
                available[normalize(rc)] = available.get(normalize(rc), 0) + count
        return {"hypervisor_type": "ironic", "vcpus": 0, "memory_mb": 0, "disk_gb": 0, "nodes": available}

    def list_guests(self) -> dict[str, int]:
        with self.db.read() as conn:
            rows = conn.execute(select(nodes.c.instance_uuid, nodes.c.power_state)
                                .where(nodes.c.instance_uuid.is_not(None))).all()
        return {uuid: _POWER.get(state, power.NOSTATE) for uuid, state in rows}

    def power_state(self, server_id: str) -> int:
        return self.list_guests().get(server_id, power.NOSTATE)

    def spawn(self, server: dict, image: dict, flavor: dict) -> int:
        raise DriverError(_UNSUPPORTED)

    def destroy(self, server_id: str) -> bool:
        # Nothing to reap here: a node is freed by the conductor's bm_delete/bm_boot flows.
        return False

    def request_shutdown(self, server_id: str) -> None:
        raise DriverError(_UNSUPPORTED)

    def force_off(self, server_id: str) -> None:
        raise DriverError(_UNSUPPORTED)

    def power_on(self, server_id: str) -> int:
        raise DriverError(_UNSUPPORTED)
