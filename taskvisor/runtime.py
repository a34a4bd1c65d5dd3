"""What a conductor's steps need: config, database, bus, this host's name,
and the flows it runs."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from taskvisor import servicegroup
from taskvisor.compute.rpcapi import ComputeClient, ComputeVersions, operation_done
from taskvisor.config import Config
from taskvisor.db.session import Database
from taskvisor.rpc.base import Transport
from taskvisor.tasks.flow import Flows


@dataclass
class Runtime:
    conf: Config
    db: Database
    transport: Transport
    host: str
    flows: Flows
    _versions: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # what each compute may be sent: [upgrade_levels] compute (ValueError for a value it does not know)
        self.compute_versions = ComputeVersions(self.conf.upgrade_levels.compute, self.service_version,
                                                lambda: servicegroup.running_compute_versions(self.db, self.conf))

    def service_version(self, host: str, binary: str = "taskvisor-compute") -> int:
        cached = self._versions.get((binary, host))
        if cached and time.monotonic() - cached[1] < 5:
            return cached[0]
        version = servicegroup.service_version(self.db, host, binary)
        self._versions[(binary, host)] = (version, time.monotonic())
        return version

    def compute_client(self, host: str, store: dict, op: str | None = None) -> ComputeClient:
        return ComputeClient(self.transport, host, store, self.compute_versions.for_host(host),
                             float(self.conf.DEFAULT.rpc_response_timeout), op)

    def task_done(self, task: dict) -> None:
        operation_done(self.transport, task["id"], task["store"].get("hosts_touched", []),
                       self.compute_versions.for_host)
