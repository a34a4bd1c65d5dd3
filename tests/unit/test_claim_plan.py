"""The claim's look reads the partial index of unfinished tasks on SQLite
whatever the table holds and whether or not statistics exist: SQLite's
planner, left to itself on a database with no ANALYZE, reads the status
indexes and sorts every queued task instead."""
from __future__ import annotations

import time

from sqlalchemy import insert

from taskvisor.db import migrate
from taskvisor.db.models import tasks
from taskvisor.db.session import Database
from taskvisor.tasks import store


def _plan(db: Database, statement, params: dict) -> list[str]:
    with db.reader.connect() as conn:
        sql = statement.compile(dialect=conn.dialect)
        cursor = conn.connection.driver_connection.execute(
            "EXPLAIN QUERY PLAN " + str(sql), [sql.construct_params(params)[name] for name in sql.positiontup])
        return [row[-1] for row in cursor.fetchall()]


def test_the_sqlite_look_reads_ix_tasks_active(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/plan.db")
    try:
        migrate.upgrade(db)
        rows = [store.new_task_row(resource_type="server", resource_id=f"s{i}", action="create", flow="boot",
                                   flow_version=1) for i in range(300)]
        for row in rows[:200]:
            row["status"] = "succeeded"
        with db.write() as conn:
            conn.execute(insert(tasks), rows)
        look = {"p_now": time.time(), "p_owner": "c1", "p_inst": "i1", "p_limit": 16}
        plan = _plan(db, store._RUNNABLE_SQLITE, look)
        assert plan[0] == "SCAN tasks USING INDEX ix_tasks_active", plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
        with db.read() as conn:
            assert len(conn.execute(store._RUNNABLE_SQLITE, look).all()) == 16
    finally:
        db.dispose()
