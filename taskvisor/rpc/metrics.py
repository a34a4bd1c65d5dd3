"""RPC call latency, as each process sees it (Prometheus).

Every call a process makes through an RPC client (``compute.rpcapi``,
``rpc.conductorapi``) is timed here by target service, method and outcome. The
figures live in this process: the API's ``/metrics`` shows them beside its
own (in the all-in-one that is every call), and a conductor or compute serves
them with ``--metrics-port``.
"""
from __future__ import annotations

import contextlib
import time

from prometheus_client import CollectorRegistry, Histogram

from taskvisor.rpc.base import RpcTimeout

REGISTRY = CollectorRegistry(auto_describe=True)
# a clean shutdown call waits for the guest: the buckets reach its timeouts
CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
CALLS = Histogram("taskvisor_rpc_call_duration_seconds",
                  "RPC calls this process made, from send to answer, by target service, method and outcome "
                  "(ok, error: the target answered with an error, timeout: no answer)",
                  ("target", "method", "outcome"), buckets=CALL_BUCKETS, registry=REGISTRY)


@contextlib.contextmanager
def timed(target: str, method: str):
    """Time one call to ``target`` (compute, compute-alt, conductor)."""
    started, outcome = time.perf_counter(), "error"
    try:
        yield
        outcome = "ok"
    except RpcTimeout:
        outcome = "timeout"
        raise
    finally:
        CALLS.labels(target, method, outcome).observe(time.perf_counter() - started)
