"""Chaos, small: mixed operations while conductors and computes are killed
at random, computes are SIGTERMed during spawns, conductors' database
connections are cut (runner crashes) and the cluster's broker connections
are cut once; nothing is lost, stuck or duplicated. benchmarks/chaos.py runs the long version."""
from __future__ import annotations

from tests import chaos
from tests.integration.distributed import cluster_factory  # noqa: F401  (fixture)

ENV = {"TASKVISOR_FAKE__SPAWN_SECONDS": "0.3", "TASKVISOR_DEFAULT__RPC_RESPONSE_TIMEOUT": "5",
       "TASKVISOR_DEFAULT__SHUTDOWN_TIMEOUT": "2", "TASKVISOR_CONDUCTOR__RETRY_BACKOFF": "0.3",
       "TASKVISOR_CONDUCTOR__COMPUTE_DOWN_DEADLINE": "60", "TASKVISOR_DEFAULT__GRACEFUL_SHUTDOWN_TIMEOUT": "20",
       # benchmarks/chaos.py boots 30 servers by default: more than Nova's default quota of 10
       "TASKVISOR_QUOTA__INSTANCES": "-1", "TASKVISOR_QUOTA__CORES": "-1", "TASKVISOR_QUOTA__RAM": "-1"}


def test_chaos_loses_nothing(cluster_factory):
    cluster = cluster_factory(conductors=2, computes=2, env=ENV)
    # a fault every ~1.5 s: the ~20 s run deals the five kinds at least twice over
    summary = chaos.run(cluster, servers=10, operations=60, kill_every=1.5, rate=3.0, seed=7)
    print("\n" + summary.table())
    assert summary.problems == [], summary.problems
    assert sum(summary.kills.values()) + summary.compute_sigterms + summary.database_cuts >= 3
    assert summary.broker_cuts > 0 and summary.database_cuts > 0 and summary.compute_sigterms > 0
    assert summary.stuck == 0 and summary.duplicated == 0
    assert all(t["status"] in ("succeeded", "failed", "reverted", "cancelled") for t in summary.tasks)
