"""`taskvisor db upgrade`: bring the schema to the newest revision (idempotent)."""
from __future__ import annotations

import os
import sys

from taskvisor.db.session import Database


def _import_alembic():
    """Alembic, without Pygments: Alembic imports Mako, whose error pages
    highlight code with Pygments when it can import it (42 modules, ~4 MB
    of a process's memory, for HTML pages migrations never render); Mako
    falls back to plain escaping when the import fails."""
    hide = "pygments" not in sys.modules
    if hide:
        sys.modules["pygments"] = None  # an import of it raises ImportError
    try:
        from alembic import command
        from alembic.config import Config as AlembicConfig
    finally:
        if hide and sys.modules.get("pygments", 0) is None:
            del sys.modules["pygments"]
    return command, AlembicConfig

_HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config(url: str):
    _command, AlembicConfig = _import_alembic()
    cfg = AlembicConfig(os.path.join(_HERE, "alembic.ini"))
    cfg.set_main_option("script_location", os.path.join(_HERE, "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    command, _ = _import_alembic()
    cfg = alembic_config(db.url)
    # Run on the reader engine: on SQLite its BEGIN is deferred, and Alembic's
    # batch mode toggles PRAGMAs that must not sit inside BEGIN IMMEDIATE.
    with db.reader.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
