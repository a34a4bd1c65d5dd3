"""The query plans of the engine's and the lists' hot statements on SQLite
and PostgreSQL, with enough rows that the planners choose as they would in
production (docs/performance.md quotes this output).

    python benchmarks/explain.py [--rows 10000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sqlalchemy import event, insert, select, text  # noqa: E402

from taskvisor.api.compute import quota  # noqa: E402
from taskvisor.db import migrate  # noqa: E402
from taskvisor.db.models import nodes, servers, task_steps, tasks  # noqa: E402
from taskvisor.db.session import Database, utcnow  # noqa: E402
from taskvisor.scheduler import hosts  # noqa: E402
from taskvisor.tasks import store  # noqa: E402


def fill(db: Database, n: int) -> None:
    now = utcnow()
    srv, tsk, stp = [], [], []
    for i in range(n):
        sid, tid = str(uuid.uuid4()), str(uuid.uuid4())
        srv.append({"id": sid, "name": f"s{i}", "project_id": f"p{i % 10}", "user_id": "u", "vm_state": "active",
                    "task_id": tid, "power_state": 1, "flavor": {}, "created_at": now, "updated_at": now,
                    "host": f"h{i % 2}", "vcpus": 1, "ram": 512, "disk": 1,
                    "deleted": False})
        row = store.new_task_row(resource_type="server", resource_id=sid, action="create", flow="boot",
                                 flow_version=1, task_id=tid)
        row["status"] = "succeeded"
        tsk.append(row)
        stp += [{"task_id": tid, "idx": j, "name": f"step{j}", "status": "succeeded", "attempt": 1, "details": {},
                 "started_at": now}
                for j in range(3)]
    with db.write() as conn:
        for table, rows in ((servers, srv), (tasks, tsk), (task_steps, stp)):
            for k in range(0, len(rows), 500):
                conn.execute(insert(table), rows[k:k + 500])
        if not db.is_sqlite:  # as in production: PostgreSQL analyzes on its own, taskvisor never runs ANALYZE on SQLite
            conn.execute(text("ANALYZE"))


STATEMENTS = [
    ("claim: the look for runnable tasks", lambda: (store._RUNNABLE, {
        "p_now": time.time(), "p_owner": "c1", "p_inst": "i1", "p_limit": 16})),
    ("claim: taking one task (generation CAS)", lambda: (store._CLAIM, {
        "p_id": "t", "p_gen": 0, "p_owner": "c1", "p_inst": "i1", "p_lease": 0.0, "p_now": utcnow()})),
    ("checkpoint: the fenced task update", lambda: (store._FENCE_CHECKPOINT, {
        "p_id": "t", "p_gen": 1, "p_inst": "i1", "p_store": {}, "p_progress": 50, "p_now": utcnow()})),
    ("checkpoint: the step's outcome", lambda: (store._STEP_END, {
        "p_task": "t", "p_idx": 0, "p_status": "succeeded", "p_host": "h", "p_now": utcnow(), "p_details": {},
        "p_error": None, "p_traceback": None})),
    ("checkpoint: the owned resource update", lambda: (store._resource_update("server", frozenset({"task_state"})), {
        "p_id": "s", "p_task": "t", "v_task_state": None})),
    ("GET /servers/detail?limit=100 (one project)", lambda: (
        select(servers).where(servers.c.deleted == False, servers.c.project_id == "p1")  # noqa: E712
        .order_by(servers.c.created_at.desc(), servers.c.id).limit(100), {})),
    ("GET /servers/detail?all_tenants=1&limit=100 (admin)", lambda: (
        select(servers).where(servers.c.deleted == False)  # noqa: E712
        .order_by(servers.c.created_at.desc(), servers.c.id)
        .limit(100), {})),
    ("GET /baremetal/v1/nodes?limit=100", lambda: (
        select(nodes).order_by(nodes.c.created_at, nodes.c.id).limit(100), {})),
    ("POST /servers: the quota count (one project's instances, cores, RAM, kept per user)", lambda: (
        quota._PROJECT_SERVERS, {"project_id": "p1"})),
    ("boot's schedule step: each host's usage (servers, vcpus, RAM, disk; kept per host)", lambda: (
        hosts._USAGE, {})),
    ("a server's tasks (instance actions, faults)", lambda: (
        select(tasks).where(tasks.c.resource_id == "s").order_by(tasks.c.created_ts.desc()), {})),
]


def explain(label: str, db: Database, rows: int) -> None:
    migrate.upgrade(db)
    fill(db, rows)
    with db.write() as conn:  # a backlog: 200 queued boots of their own servers
        conn.execute(insert(tasks), [store.new_task_row(resource_type="server", resource_id=str(uuid.uuid4()),
                                                        action="create", flow="boot", flow_version=1)
                                     for _ in range(200)])
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
    plans: list[str] = []

    def as_explain(conn, cursor, statement, parameters, context, executemany):
        return prefix + statement, parameters

    print(f"\n### {label} ({rows} servers, {rows} finished tasks, {3 * rows} steps, 200 queued tasks)\n")
    for name, build in STATEMENTS:
        stmt, params = build()
        with db.writer.connect() as conn:
            trans = conn.begin()
            if stmt is store._RUNNABLE:  # the look as the claim runs it
                stmt = store._claim_look(conn, db.is_sqlite)
            event.listen(conn, "before_cursor_execute", as_explain, retval=True)
            result = conn.execute(stmt, params)
            plans = [" | ".join(str(v) for v in (r[-1:] if db.is_sqlite else r)) for r in result.cursor.fetchall()]
            trans.rollback()
        print(f"{name}:\n```")
        print("\n".join(plans))
        print("```")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/explain.sqlite")
        explain("SQLite", db, args.rows)
        db.dispose()
    from tests.dbs import create_postgres_database, drop_postgres_database
    url = create_postgres_database()
    try:
        db = Database(url)
        explain("PostgreSQL", db, args.rows)
        db.dispose()
    finally:
        drop_postgres_database(url)


if __name__ == "__main__":
    main()
