"""The claim's look costs the same whatever the queue holds and whatever
the planners' statistics say.

SQLite, left to itself on a database with no ANALYZE, reads the status
indexes and sorts every queued task; the look pins ix_tasks_active.
PostgreSQL, planning from a queue's always-stale statistics, read and
sorted every unfinished task and scanned them all again for each one's
"older task of the same resource" test; the look keeps that test a probe
of ix_tasks_unfinished_resource and its transaction turns sorting off."""
from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import insert, text

from taskvisor.db import migrate
from taskvisor.db.models import ACTIVE_TASKS, UNFINISHED_TASKS, tasks
from taskvisor.db.session import Database
from taskvisor.tasks import store
from tests.dbs import postgres_database

LOOK = {"p_owner": "c1", "p_inst": "i1", "p_limit": 16}


def _plan(db: Database, statement, params: dict) -> list[str]:
    with db.reader.connect() as conn:
        sql = statement.compile(dialect=conn.dialect)
        cursor = conn.connection.driver_connection.execute(
            "EXPLAIN QUERY PLAN " + str(sql), [sql.construct_params(params)[name] for name in sql.positiontup])
        return [row[-1] for row in cursor.fetchall()]


def _queue(db: Database, queued: int, running_elsewhere: int = 32, finished: int = 0) -> list[dict]:
    """In order of creation: ``finished`` done tasks, ``running_elsewhere``
    tasks another conductor holds, a task of the first running one's
    resource (it must wait for it), then ``queued`` tasks; each but the
    waiting one of its own resource."""
    batch, start = uuid.uuid4().hex[:8], time.time()

    def task(resource: int, action: str = "create") -> dict:
        return store.new_task_row(resource_type="server", resource_id=f"{batch}-{resource}", action=action,
                                  flow="boot", flow_version=1)
    rows = [task(i) for i in range(finished + running_elsewhere)]
    if running_elsewhere:
        rows.append(task(finished, "delete"))
    rows += [task(finished + running_elsewhere + i) for i in range(queued)]
    for i, row in enumerate(rows):  # created in this order, after every earlier batch
        row.update(owner=None, owner_instance=None, lease_expires=None, created_ts=start + i * 1e-4)
        if i < finished:
            row["status"] = "succeeded"
        elif i < finished + running_elsewhere:
            row.update(status="running", owner="c2", owner_instance="i2", lease_expires=time.time() + 600)
    with db.write() as conn:
        for k in range(0, len(rows), 500):
            conn.execute(insert(tasks), rows[k:k + 500])
    return rows


def test_the_sqlite_look_reads_ix_tasks_active(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/plan.db")
    try:
        migrate.upgrade(db)
        _queue(db, queued=100, finished=200)
        look = {**LOOK, "p_now": time.time()}
        plan = _plan(db, store._RUNNABLE_SQLITE, look)
        assert plan[0] == "SCAN tasks USING INDEX ix_tasks_active", plan
        assert any(step.startswith("SEARCH older USING INDEX ix_tasks_unfinished_resource (resource_id=? AND created_ts<?)")
                   for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
        with db.read() as conn:
            assert len(conn.execute(store._RUNNABLE_SQLITE, look).all()) == 16
    finally:
        db.dispose()


def _pg_look(db: Database) -> dict:
    """EXPLAIN ANALYZE of the look as ``TaskStore.claim`` runs it: in a
    write transaction that first turns sorting off."""
    with db.write() as conn:
        sql = store._claim_look(conn, db.is_sqlite).compile(dialect=conn.dialect)
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + str(sql),
                       sql.construct_params({**LOOK, "p_now": time.time()}))
        plan = cursor.fetchone()[0]
        return (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


@pytest.mark.parametrize("analyzed_when_idle", [False, True])
def test_the_postgresql_look_reads_the_front_of_the_queue_only(analyzed_when_idle):
    with postgres_database() as db:
        if analyzed_when_idle:  # statistics of a long history and an empty queue, then a burst
            _queue(db, queued=0, running_elsewhere=0, finished=3000)
            with db.write() as conn:
                conn.execute(text("ANALYZE tasks"))
        rows = _queue(db, queued=600)
        small = _pg_look(db)
        _queue(db, queued=3000)
        large = _pg_look(db)
        for plan in (small, large):
            nodes = _nodes(plan)
            assert not any(n["Node Type"] == "Sort" for n in nodes), nodes
            outer = next(n for n in nodes if n.get("Relation Name") == "tasks" and n.get("Alias") == "tasks")
            assert (outer["Node Type"], outer.get("Index Name")) == ("Index Scan", "ix_tasks_active"), outer
            probe = next(n for n in nodes if n.get("Alias") == "older")
            # a probe by resource: through the partial index, or (statistics of a history of one task a
            # resource) through ix_tasks_resource, which then reads as little
            assert probe.get("Index Name") in ("ix_tasks_unfinished_resource", "ix_tasks_resource"), probe
            assert "resource_id" in probe.get("Index Cond", ""), probe
            assert plan["Actual Rows"] == 16
        # five times the queue, the same work: the look stops at the limit
        assert large["Shared Hit Blocks"] + large.get("Shared Read Blocks", 0) < 200, large

        claims = store.TaskStore(db, "c1", lease_seconds=60).claim(16)
        waiting, *queued = [r for r in rows if r["status"] == "queued"]  # the first waits for a running one
        assert waiting["action"] == "delete"
        assert [c.task["id"] for c in claims] == [r["id"] for r in queued[:16]]


def test_unfinished_is_every_status_but_the_finished_ones():
    """The look names the unfinished tasks two ways (for the two partial indexes): they must agree."""
    assert ACTIVE_TASKS == f"status IN ({', '.join(repr(s) for s in store.ACTIVE)})"
    assert UNFINISHED_TASKS == f"status NOT IN ({', '.join(repr(s) for s in store.TERMINAL)})"
    assert str(store.IS_ACTIVE) == "tasks." + ACTIVE_TASKS
    assert str(store.OLDER_IS_UNFINISHED) == "older." + UNFINISHED_TASKS
