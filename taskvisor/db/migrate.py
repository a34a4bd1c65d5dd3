"""`taskvisor db upgrade`: bring the schema to the newest revision (idempotent)."""
from __future__ import annotations

import ast
import os
import re
import sys

from taskvisor.db.session import Database, begin_sqlite


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
        if db.is_sqlite:
            begin_sqlite(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+?)\s*(?:#.*)?$", re.M)


def heads() -> set[str]:
    """The newest revisions, read from the migration files without Alembic
    (which, once imported, keeps ~6 MB in a long-lived process)."""
    revisions, parents = set(), set()
    versions = os.path.join(_HERE, "migrations", "versions")
    for name in os.listdir(versions):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(versions, name), encoding="utf-8") as f:
            found = dict((key, ast.literal_eval(value)) for key, value in _REVISION_LINE.findall(f.read()))
        revisions.add(found["revision"])
        down = found.get("down_revision")
        parents.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
    return revisions - parents


def at_head(db: Database) -> bool:
    """Whether the schema is at the newest revision (False when unsure: the
    caller then runs the upgrade, which is idempotent)."""
    from sqlalchemy import text
    try:
        newest = heads()
        with db.read() as conn:
            current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except Exception:  # no such table (a new database), a file this parser does not read, ...
        return False
    return bool(newest) and current == newest


def upgrade_in_child(db: Database) -> None:
    """``upgrade`` in a child process that ends after it (the URL, which may
    hold a password, goes through its stdin, not its command line)."""
    import subprocess
    done = subprocess.run([sys.executable, "-m", "taskvisor.db.migrate"], input=db.url.encode(), check=False)
    if done.returncode:
        raise SystemExit(f"taskvisor: the schema upgrade failed (exit status {done.returncode}); see its log above")


if __name__ == "__main__":
    _db = Database(sys.stdin.read().strip())
    try:
        upgrade(_db)
    finally:
        _db.dispose()
