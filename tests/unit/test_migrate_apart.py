"""The all-in-one's schema upgrade without Alembic in the long-lived
process: the newest revision read from the migration files, and the
upgrade run by a short-lived child (taskvisor/db/migrate.py)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select, text

from taskvisor.allinone import open_database
from taskvisor.config import Config
from taskvisor.db import migrate
from taskvisor.db.models import flavors
from taskvisor.db.session import Database


def test_heads_read_from_the_files_are_alembics():
    from alembic.script import ScriptDirectory
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert migrate.heads() == set(script.get_heads())


def test_at_head_only_once_upgraded(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/t.sqlite")
    try:
        assert not migrate.at_head(db)  # no alembic_version table yet
        from alembic.script import ScriptDirectory
        script = ScriptDirectory.from_config(migrate.alembic_config(db.url))
        migrate.upgrade(db, script.get_revision(script.get_current_head()).down_revision)  # one short
        assert not migrate.at_head(db)
        migrate.upgrade(db)
        assert migrate.at_head(db)
    finally:
        db.dispose()


def test_the_all_in_one_upgrades_apart_and_keeps_alembic_out(tmp_path):
    """A fresh database is brought to the newest revision and seeded, and
    the process that opened it has imported no Alembic (nor on a restart)."""
    code = (
        "import sys\n"
        "from taskvisor.allinone import open_database\n"
        "from taskvisor.config import Config\n"
        f"conf = Config.load(None, {{('DEFAULT', 'data_dir'): {str(tmp_path)!r}}})\n"
        "open_database(conf, upgrade_apart=True).dispose()\n"
        "open_database(conf, upgrade_apart=True).dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    conf = Config.load(None, {("DEFAULT", "data_dir"): str(tmp_path)})
    db = open_database(conf, upgrade=False)
    try:
        assert migrate.at_head(db)
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(flavors)).scalar() == 4
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        db.dispose()


def test_a_failed_upgrade_apart_stops_the_start(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/t.sqlite")
    try:
        with db.write() as conn:  # a revision no migration file knows: Alembic refuses it
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('9999_unknown')"))
        with pytest.raises(SystemExit, match="schema upgrade failed"):
            migrate.upgrade_in_child(db)
    finally:
        db.dispose()
