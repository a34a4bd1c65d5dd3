"""`taskvisor db upgrade`: bring the schema to the newest revision (idempotent)."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config as AlembicConfig

from taskvisor.db.session import Database

_HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig(os.path.join(_HERE, "alembic.ini"))
    cfg.set_main_option("script_location", os.path.join(_HERE, "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config(db.url)
    # Run on the reader engine: on SQLite its BEGIN is deferred, and Alembic's
    # batch mode toggles PRAGMAs that must not sit inside BEGIN IMMEDIATE.
    with db.reader.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
