"""Chaos, long run: a real distributed cluster (API, 2 conductors, 2 computes
on PostgreSQL + RabbitMQ) runs mixed server operations while conductors and
computes are SIGKILLed and restarted at random, computes are SIGTERMed
(drained) while a boot spawns on them, conductors' database connections are
cut under them (their task runners crash and hand the task back), and the
cluster's broker connections are cut once. Prints the summary table, with
lost / stuck / duplicated (guests of one server counted on every host) /
dead-lettered; any problem found (a task not terminal, a server stuck, the
database disagreeing with the guests, a guest on two hosts, a side effect
done twice) is listed and makes the exit status 1.

    python benchmarks/chaos.py [--operations 1000] [--servers 30] [--kill-every 3] [--rate 8]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests import chaos  # noqa: E402
from tests.dbs import create_postgres_database, drop_postgres_database  # noqa: E402
from tests.integration.test_chaos import ENV  # noqa: E402
from tests.procs import Cluster  # noqa: E402
from tests.services import RABBIT_URL  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=30)
    parser.add_argument("--kill-every", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=8.0, help="operations a second")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    url = create_postgres_database()
    with tempfile.TemporaryDirectory() as data_dir:
        cluster = Cluster(data_dir, url, RABBIT_URL, env=ENV).start(conductors=2, computes=2)
        try:
            summary = chaos.run(cluster, servers=args.servers, operations=args.operations,
                                kill_every=args.kill_every, rate=args.rate, seed=args.seed, settle_timeout=600)
        finally:
            cluster.stop()
            drop_postgres_database(url)
    print(f"chaos: {args.operations} operations, 2 conductors, 2 computes, PostgreSQL + RabbitMQ")
    print(summary.table())
    for problem in summary.problems:
        print("  PROBLEM:", problem)
    return 1 if summary.problems else 0


if __name__ == "__main__":
    sys.exit(main())
