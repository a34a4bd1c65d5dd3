"""Fresh databases for engine tests: a SQLite file, or a new PostgreSQL
database created for the test and dropped after it; and a queued server task
in one."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, insert, text

from taskvisor.db import migrate
from taskvisor.db.models import servers
from taskvisor.db.session import Database, utcnow
from taskvisor.tasks.store import insert_task, new_task_row
from tests.services import require_postgres


def _admin_engine(url: str):
    return create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")


def create_postgres_database() -> str:
    """A new, empty PostgreSQL database; returns its URL."""
    base = require_postgres()
    name = f"tv_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def postgres_database() -> Iterator[Database]:
    """A migrated Database on a new PostgreSQL database, dropped afterwards."""
    url = create_postgres_database()
    db = Database(url)
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/engine.sqlite")
        migrate.upgrade(db)
        yield db
        db.dispose()
        return
    with postgres_database() as db:
        yield db


def queue_server_task(db: Database, flow: str, flow_version: int, params: dict | None = None) -> dict:
    """A building server and its queued task of `flow`, as the API writes them; returns the task row."""
    sid = str(uuid.uuid4())
    task = new_task_row(resource_type="server", resource_id=sid, action="test", flow=flow,
                        flow_version=flow_version, params=params or {})
    now = utcnow()
    with db.write() as conn:
        conn.execute(insert(servers), {"id": sid, "name": "t", "project_id": "p", "user_id": "u",
                                       "vm_state": "building", "task_state": "queued", "task_id": task["id"],
                                       "flavor": {}, "created_at": now, "updated_at": now})
        insert_task(conn, task)
    return task
