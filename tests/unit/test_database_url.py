"""A SQLite URL must name a file: the API and the conductor share it, and an
in-memory database would be one per engine."""
from __future__ import annotations

import os

import pytest

from taskvisor.db.session import Database


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_refused_and_leaves_no_file(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="name a file"):
        Database(url)
    assert os.listdir(tmp_path) == []


def test_a_sqlite_file_is_made_private(tmp_path):
    path = tmp_path / "db" / "taskvisor.db"
    db = Database(f"sqlite:///{path}")
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        db.dispose()
