"""The baremetal virt driver: a compute whose "guests" are bare-metal nodes.

Nova's ironic driver calls Ironic's API; in taskvisor the conductor already
runs node steps itself (bm_* flows), so this driver is a thin, read-only
bridge: it reports capacity (available nodes per resource class; no vCPUs,
RAM or disk of its own, so virtual flavors never land here) and the power
state of every node that holds a server (power-state sync). A compute never
opens the database: both come from a conductor over the bus.
"""
from __future__ import annotations

import logging

from taskvisor.baremetal.placement import HYPERVISOR_TYPE
from taskvisor.rpc.base import RpcError, Transport
from taskvisor.rpc.conductorapi import ConductorClient
from taskvisor.states import power
from taskvisor.virt.driver import ComputeDriver, DriverError

LOG = logging.getLogger(__name__)
_UNSUPPORTED = "bare-metal servers are deployed and powered by the conductor's node steps, not by a compute"


class BaremetalDriver(ComputeDriver):
    def __init__(self, conf, transport: Transport):
        self.conf, self.transport = conf, transport
        self.conductor = ConductorClient(transport, float(conf.DEFAULT.rpc_response_timeout))

    def capabilities(self) -> dict:
        """Sent with every service report. With no conductor answering yet (a
        compute may start first) it offers no nodes until the next report."""
        try:
            available = self.conductor.baremetal_available_nodes(timeout=5)
        except RpcError as exc:
            LOG.info("no conductor told this compute its nodes yet (%s); offering none for now", exc)
            available = {}
        return {"hypervisor_type": HYPERVISOR_TYPE, "vcpus": 0, "memory_mb": 0, "disk_gb": 0,
                "nodes": available}

    def list_guests(self) -> dict[str, int]:
        return self.conductor.baremetal_power_states()

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
