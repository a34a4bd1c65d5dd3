"""Fresh databases for engine tests: a SQLite file, or a new PostgreSQL
database created for the test and dropped after it."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from taskvisor.db import migrate
from taskvisor.db.session import Database
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


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/engine.sqlite")
        migrate.upgrade(db)
        yield db
        db.dispose()
        return
    url = create_postgres_database()
    db = Database(url)
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        drop_postgres_database(url)
