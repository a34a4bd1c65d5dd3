"""The client side of conductor RPC: what computes (and their drivers) ask a
conductor. One place names the topic and the methods, so no caller spells
``"conductor"`` or a method name by hand.

Every method here is served by every conductor this code can meet (version
1.0 of the conductor API); a method added later gets its version here, as
``compute/rpcapi.py`` does for computes.
"""
from __future__ import annotations

from taskvisor.rpc import metrics
from taskvisor.rpc.base import Transport

TOPIC = "conductor"
RPC_API_VERSION = "1.0"


class ConductorClient:
    def __init__(self, transport: Transport, timeout: float):
        self.transport, self.timeout = transport, timeout

    def report_service(self, report: dict, wait: bool = False, timeout: float | None = None) -> None:
        """A service's heartbeat; ``wait`` for the first one (registration)."""
        if wait:
            self._call("report_service", report, timeout)
        else:
            self.transport.cast(TOPIC, "report_service", report)

    def sync_power_states(self, host: str, states: dict, taken_at: float) -> None:
        self.transport.cast(TOPIC, "sync_power_states", {"host": host, "states": states, "taken_at": taken_at})

    def baremetal_available_nodes(self, timeout: float | None = None) -> dict:
        return self._call("baremetal_available_nodes", {}, timeout)

    def baremetal_power_states(self) -> dict:
        return self._call("baremetal_power_states", {})

    # 1.1: synchronous node reads for the bare-metal API
    def node_validate(self, node_id: str) -> dict:
        return self._call("node_validate", {"node_id": node_id}, version="1.1")

    def node_boot_device(self, node_id: str) -> dict:
        return self._call("node_boot_device", {"node_id": node_id}, version="1.1")

    def node_supported_boot_devices(self, node_id: str) -> list:
        return self._call("node_supported_boot_devices", {"node_id": node_id}, version="1.1")

    # 1.2: a node's indicators (bm-extras)
    def node_indicators(self, node_id: str) -> dict:
        return self._call("node_indicators", {"node_id": node_id}, version="1.2")

    def node_indicator_state(self, node_id: str, component: str, indicator: str) -> str:
        return self._call("node_indicator_state", {"node_id": node_id, "component": component,
                                                   "indicator": indicator}, version="1.2")

    def _call(self, method: str, args: dict, timeout: float | None = None, version: str = RPC_API_VERSION):
        with metrics.timed(TOPIC, method):
            return self.transport.call(TOPIC, method, args, version=version, timeout=timeout or self.timeout)
