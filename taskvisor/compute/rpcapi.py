"""The conductor's side of compute RPC.

Topic choice (graceful shutdown, architecture.md §6): the first call an operation
makes to a host goes to ``compute.<host>``; later calls of the same
operation to that host go to ``compute-alt.<host>``, which a draining
compute keeps serving, but only when the target's service version says it
has that topic (an older compute gets everything on ``compute``).
"""
from __future__ import annotations

from typing import Any

from taskvisor.rpc.base import Transport

RPC_API_VERSION = "1.0"          # newest compute API this conductor speaks
ALT_TOPIC_SERVICE_VERSION = 2    # computes from this service version serve compute-alt


class ComputeClient:
    def __init__(self, transport: Transport, host: str, store: dict, service_version: int, timeout: float,
                 op: str | None = None, read_only: bool = False):
        self.transport, self.host, self.store = transport, host, store
        self.service_version, self.timeout, self.op = service_version, timeout, op
        # A read that changes nothing (console output) goes to compute-alt
        # whenever the compute serves it: a draining compute still answers.
        self.read_only = read_only

    def topic(self) -> str:
        touched = self.store.setdefault("hosts_touched", [])
        if (self.host in touched or self.read_only) and self.service_version >= ALT_TOPIC_SERVICE_VERSION:
            return f"compute-alt.{self.host}"
        return f"compute.{self.host}"

    def call(self, method: str, rpc_timeout: float | None = None, version: str = RPC_API_VERSION,
             **args: Any) -> Any:
        topic = self.topic()
        result = self.transport.call(topic, method, args, version=version, timeout=rpc_timeout or self.timeout,
                                     op=self.op)
        touched = self.store.setdefault("hosts_touched", [])
        if self.host not in touched:
            touched.append(self.host)
        return result


def operation_done(transport: Transport, task_id: str, hosts: list[str], version_of) -> None:
    """Tell each compute a task touched that the task is done with it (a
    draining compute waits for exactly these). Only computes that serve
    compute-alt know the message; older ones are never sent it."""
    for host in hosts:
        if version_of(host) >= ALT_TOPIC_SERVICE_VERSION:
            try:
                transport.cast(f"compute-alt.{host}", "operation_done", {"op": task_id})
            except Exception:  # best effort: a draining compute also stops waiting at its timeout
                pass
