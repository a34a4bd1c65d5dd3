"""The cost of an empty claim (nothing runnable) and of an empty write
transaction, on SQLite and PostgreSQL, with some finished history in the
tables (a claim must not grow with them); and how many small write
transactions a second each database commits with 1 and 8 writers, the
ceiling of any number of conductors (docs/performance.md).

    python benchmarks/claim.py [--history 1000] [--rounds 2000]
"""
from __future__ import annotations

import argparse
import threading
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sqlalchemy import insert, text  # noqa: E402

from taskvisor.db import migrate  # noqa: E402
from taskvisor.db.models import tasks  # noqa: E402
from taskvisor.db.session import Database  # noqa: E402
from taskvisor.tasks.store import TaskStore, new_task_row  # noqa: E402


def timed(fn, rounds: int) -> tuple[float, float]:
    """(wall ms, CPU ms) per call, median-free: total over the rounds."""
    fn()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - t0) * 1000 / rounds, (time.process_time() - c0) * 1000 / rounds


def measure(label: str, db: Database, history: int, rounds: int) -> None:
    migrate.upgrade(db)
    rows = []
    for i in range(history):
        row = new_task_row(resource_type="server", resource_id=f"r{i}", action="boot", flow="boot", flow_version=1)
        row["status"] = "succeeded"
        rows.append(row)
    with db.write() as conn:
        if rows:
            conn.execute(insert(tasks), rows)
    store = TaskStore(db, "bench", 30)

    def empty_write():
        with db.write() as conn:
            conn.execute(text("SELECT 1"))

    claim_wall, claim_cpu = timed(lambda: store.claim(16), rounds)
    write_wall, write_cpu = timed(empty_write, rounds)
    with db.write() as conn:
        conn.execute(text("CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        conn.execute(text("INSERT INTO bench_counter VALUES " + ", ".join(f"({i}, 0)" for i in range(8))))
    rates = {}
    for writers in (1, 8):
        done = [0] * writers
        stop = time.monotonic() + 3

        def write(i: int) -> None:
            while time.monotonic() < stop:
                with db.write() as conn:
                    conn.execute(text("UPDATE bench_counter SET n = n + 1 WHERE id = :i"), {"i": i})
                done[i] += 1
        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rates[writers] = sum(done) / 3
    print(f"{label:<11} one-row write transactions committed: {rates[1]:.0f}/s with 1 writer, "
          f"{rates[8]:.0f}/s with 8 (one process)")
    print(f"{label:<11} empty claim {claim_wall:.3f} ms ({claim_cpu:.3f} ms CPU)   "
          f"empty write transaction {write_wall:.3f} ms ({write_cpu:.3f} ms CPU)   [{history} finished tasks]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/claim.sqlite")
        measure("SQLite", db, args.history, args.rounds)
        db.dispose()
    from tests.dbs import create_postgres_database, drop_postgres_database
    url = create_postgres_database()
    try:
        db = Database(url)
        measure("PostgreSQL", db, args.history, args.rounds)
        db.dispose()
    finally:
        drop_postgres_database(url)


if __name__ == "__main__":
    main()
