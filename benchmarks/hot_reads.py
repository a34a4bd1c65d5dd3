"""CPU of the reads a boot and a delete make besides the engine's
checkpoints (the scheduler's, the spawn's, the API's create and delete
reads), each in its own read transaction as the code runs them, on a
SQLite file with one compute, the default flavors and image, and N servers.

    python benchmarks/hot_reads.py [--servers 1000] [--rounds 7]

Prints microseconds of CPU per call (the best and the median of the
rounds): a figure for a change to these paths that the whole-run
benchmarks (boot_delete.py), whose noise on a shared machine is ±10 %,
cannot resolve.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sqlalchemy import insert  # noqa: E402

from taskvisor import servicegroup  # noqa: E402
from taskvisor.api.compute import quota  # noqa: E402
from taskvisor.api.compute.flavors import visible_flavor  # noqa: E402
from taskvisor.api.compute.submit import get_server  # noqa: E402
from taskvisor.api.context import RequestContext  # noqa: E402
from taskvisor.config import Config  # noqa: E402
from taskvisor.db import migrate  # noqa: E402
from taskvisor.db.models import images, servers  # noqa: E402
from taskvisor.db.session import Database  # noqa: E402
from taskvisor.flows.common import image_for  # noqa: E402
from taskvisor.scheduler.groups import select_host_in_group  # noqa: E402
from taskvisor.seed import seed  # noqa: E402
from tests.dbs import server_row  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Config.load(None)
        db = Database(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(db)
        seed(db)
        servicegroup.report(db, binary=servicegroup.COMPUTE_BINARY, host="compute-1",
                            capabilities={"vcpus": 10**6, "memory_mb": 2**40, "disk_gb": 2**30})
        with db.read() as conn:
            image_id = conn.execute(images.select()).mappings().first()["id"]
        flavor = {"vcpus": 1, "ram": 512, "disk": 1, "name": "m1.tiny"}
        rows = [server_row("compute-1", flavor=flavor, image_id=image_id) for _ in range(args.servers)]
        ids = [row["id"] for row in rows]
        with db.write() as conn:
            conn.execute(insert(servers), rows)
        user = RequestContext(project_id="p", user_id="u", roles=["member"])
        user._is_admin = False
        step = types.SimpleNamespace(runtime=types.SimpleNamespace(db=db), server={"image_properties": {}})

        def read(fn):
            def run():
                with db.read() as conn:
                    fn(conn)
            return run
        cases = [
            ("boot: schedule (select_host_in_group)",
             lambda: select_host_in_group(db, ids[0], flavor, 60)),
            ("boot: compute takes new work", lambda: servicegroup.compute_takes_new_work(db, "compute-1", conf)),
            ("boot: image_for", lambda: image_for(step, image_id)),
            ("boot: compute is up", lambda: servicegroup.compute_is_up(db, "compute-1", conf)),
            ("create: visible_flavor", read(lambda c: visible_flavor(c, user, "1"))),
            ("create: limits", read(lambda c: quota.limits_of(c, conf, "p", "u"))),
            ("create: usage (server_usage)", read(lambda c: quota.server_usage(c, "p", "u"))),
            ("delete: get_server", read(lambda c: get_server(c, user, ids[1]))),
        ]
        figures: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(args.rounds):
            for name, fn in cases:
                for _ in range(50):
                    fn()
                started = time.process_time()
                for _ in range(args.calls):
                    fn()
                figures[name].append((time.process_time() - started) / args.calls * 1e6)
        print(f"CPU per call, µs ({args.servers} servers; best and median of {args.rounds} rounds of {args.calls})")
        total = 0.0
        for name, values in figures.items():
            total += min(values)
            print(f"  {name:42s} {min(values):7.1f} {statistics.median(values):7.1f}")
        print(f"  {'sum of the best':42s} {total:7.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
