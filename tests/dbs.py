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


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/engine.sqlite")
        migrate.upgrade(db)
        yield db
        db.dispose()
        return
    base = require_postgres()
    name = f"tv_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(base.rsplit("/", 1)[0] + f"/{name}")
    try:
        migrate.upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
