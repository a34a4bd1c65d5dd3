"""db/direct runs the engine's statements on the driver (sqlite3, psycopg):
what it writes and reads must be exactly what SQLAlchemy's own execution
writes and reads, its errors SQLAlchemy's, and a connection PostgreSQL lost
must not go back to the pool."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from taskvisor.db import direct
from taskvisor.db.models import task_steps, tasks
from taskvisor.db.session import Database, utcnow
from taskvisor.tasks import store
from tests.dbs import database, postgres_database  # noqa: F401  (database: a fixture)


@pytest.fixture
def db(database):
    return database


def _task(db: Database) -> dict:
    row = store.new_task_row(resource_type="server", resource_id="s1", action="create", flow="boot",
                             flow_version=1, params={"nested": {"list": [1, 2.5, None]}, "text": "é"})
    with db.write() as conn:
        store.insert_task(conn, row)
    return row


def test_rows_read_directly_equal_sqlalchemys_types_included(db):
    _task(db)
    with db.read() as conn:
        expected = [dict(r) for r in conn.execute(select(tasks)).mappings()]
        got = direct.mappings(conn, select(tasks), {})
    assert got == expected
    assert [{k: type(v) for k, v in r.items()} for r in got] == [{k: type(v) for k, v in r.items()} for r in expected]


def test_a_write_made_directly_reads_back_as_sqlalchemys_would(db):
    row = _task(db)
    now = utcnow()
    with db.write() as conn:
        owned = direct.first(conn, store._FENCE_CHECKPOINT, {
            "p_id": row["id"], "p_gen": 0, "p_inst": None, "p_store": {"asked": {"h": 1}}, "p_progress": None,
            "p_now": now})
        # p_inst None matches no row (owner_instance = NULL is never true): nothing written, no row back
        assert owned is None
        assert direct.rowcount(conn, store._fenced_update(frozenset({"store", "updated_at"})), {
            "p_id": row["id"], "p_gen": 0, "p_inst": None, "v_store": {}, "v_updated_at": now}) == 0
        conn.execute(tasks.update().where(tasks.c.id == row["id"]).values(owner_instance="me"))
        owned = direct.first(conn, store._FENCE_CHECKPOINT, {
            "p_id": row["id"], "p_gen": 0, "p_inst": "me", "p_store": {"asked": {"h": 1}}, "p_progress": None,
            "p_now": now})
        assert owned is not None and not owned[0]
        direct.rowcount(conn, store._INSERT_STEP, {"p_task": row["id"], "p_idx": 0, "p_name": "schedule",
                                                   "p_status": "running", "p_host": "h", "p_started": now})
    with db.read() as conn:
        task = conn.execute(select(tasks).where(tasks.c.id == row["id"])).mappings().one()
        step = conn.execute(select(task_steps)).mappings().one()
    assert task["store"] == {"asked": {"h": 1}} and task["updated_at"] == now and task["progress"] == 0
    assert step["details"] == {} and step["attempt"] == 1 and step["started_at"] == now


def test_driver_errors_are_sqlalchemys(db):
    row = _task(db)
    params = {"p_task": row["id"], "p_idx": 0, "p_name": "schedule", "p_status": "running", "p_host": "h",
              "p_started": utcnow()}
    with pytest.raises(IntegrityError):
        with db.write() as conn:
            direct.rowcount(conn, store._INSERT_STEP, params)
            direct.rowcount(conn, store._INSERT_STEP, params)  # the same primary key
    with db.read() as conn:  # the transaction rolled back as a whole
        assert conn.execute(select(task_steps)).first() is None


def test_the_plan_runs_on_the_driver_not_through_sqlalchemy(db):
    """Else the rest of this file compares SQLAlchemy with itself."""
    with db.read() as conn:
        assert direct._plan(conn, store._FENCE_CHECKPOINT) is not None
        assert direct._plan(conn, store._INSERT_STEP) is not None


@pytest.fixture
def postgres():
    with postgres_database() as db:
        yield db


def test_a_connection_postgresql_lost_is_invalidated_not_pooled(postgres):
    db = postgres
    row = _task(db)
    with db.write() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    killer = create_engine(db.url)  # not the pool's: it would hand out the very connection to kill
    with killer.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    killer.dispose()
    with pytest.raises(DBAPIError) as raised:
        with db.write() as conn:  # the pool's one connection, whose backend is gone: direct meets it first
            direct.first(conn, select(tasks.c.id).where(tasks.c.id == row["id"]), {})
    assert raised.value.statement.startswith("SELECT tasks.id"), raised.value  # raised by direct, not later
    assert raised.value.connection_invalidated
    with db.write() as conn:  # a new connection, not the dead one
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != backend
        assert direct.first(conn, select(tasks.c.id).where(tasks.c.id == row["id"]), {}) == (row["id"],)
