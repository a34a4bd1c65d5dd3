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
def postgres_database(revision: str = "head") -> Iterator[Database]:
    """A Database on a new PostgreSQL database migrated to ``revision``, dropped afterwards."""
    url = create_postgres_database()
    db = Database(url)
    try:
        migrate.upgrade(db, revision)
        yield db
    finally:
        db.dispose()
        drop_postgres_database(url)


@contextlib.contextmanager
def sqlite_database(directory, revision: str = "head") -> Iterator[Database]:
    """A Database on a new SQLite file in ``directory`` migrated to ``revision``."""
    db = Database(f"sqlite:///{directory}/engine.sqlite")
    try:
        migrate.upgrade(db, revision)
        yield db
    finally:
        db.dispose()


def migrated_database(kind: str, directory, revision: str = "head"):
    """``sqlite_database`` or ``postgres_database``, by ``kind``."""
    return sqlite_database(directory, revision) if kind == "sqlite" else postgres_database(revision)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    with migrated_database(request.param, tmp_path) as db:
        yield db


def server_row(host: str | None = None, project: str = "p", user: str = "u", vcpus: int = 1, ram: int = 512,
               disk: int = 1, deleted: bool = False, **fields) -> dict:
    """A servers row, not deleted and ACTIVE unless told (``fields`` overrides any column)."""
    now = utcnow()
    return {"id": str(uuid.uuid4()), "name": "s", "project_id": project, "user_id": user, "vm_state": "active",
            "power_state": 1, "flavor": {}, "vcpus": vcpus, "ram": ram, "disk": disk, "image_id": "i",
            "image_properties": {}, "metadata": {}, "addresses": {}, "system_metadata": {}, "host": host,
            "node": host, "progress": 0, "created_at": now, "updated_at": now, "deleted": deleted, **fields}


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
