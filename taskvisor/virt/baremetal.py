"""The baremetal virt driver: a compute whose "guests" are bare-metal nodes.

Nova's ironic driver calls Ironic's API; in taskvisor the conductor already
runs node steps itself (bm_* flows), so this driver is a thin, read-only
bridge: it reports capacity (available nodes per resource class; no vCPUs,
RAM or disk of its own, so virtual flavors never land here) and the power
state of every node that holds a server (power-state sync). A compute never
opens the database: both come from a conductor over the bus.
"""
from __future__ import annotations

from taskvisor.baremetal.placement import HYPERVISOR_TYPE
from taskvisor.rpc.base import Transport
from taskvisor.states import power
from taskvisor.virt.driver import ComputeDriver, DriverError

_UNSUPPORTED = "bare-metal servers are deployed and powered by the conductor's node steps, not by a compute"


class BaremetalDriver(ComputeDriver):
    def __init__(self, conf, transport: Transport):
        self.conf, self.transport = conf, transport

    def _ask_conductor(self, method: str) -> dict:
        return self.transport.call("conductor", method, {},
                                   timeout=float(self.conf.DEFAULT.rpc_response_timeout))

    def capabilities(self) -> dict:
        return {"hypervisor_type": HYPERVISOR_TYPE, "vcpus": 0, "memory_mb": 0, "disk_gb": 0,
                "nodes": self._ask_conductor("baremetal_available_nodes")}

    def list_guests(self) -> dict[str, int]:
        return self._ask_conductor("baremetal_power_states")

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
