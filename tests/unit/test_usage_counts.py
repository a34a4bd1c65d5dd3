"""The usage counts the database keeps (db/usage_counts.py) always equal
the sums over the servers they stand for, on SQLite and PostgreSQL: after
any mix of creates, moves, resizes, soft and hard deletes, and after the
migration that fills them from servers made before it."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text, update

from taskvisor.db import migrate, usage_counts
from taskvisor.db.models import servers
from taskvisor.db.session import Database
from tests.dbs import database, migrated_database, server_row  # noqa: F401  (database: a fixture)

HOSTS = st.sampled_from([None, "host-a", "host-b", "host-c"])
CHANGES = st.one_of(
    st.tuples(st.just("host"), HOSTS),
    st.tuples(st.just("deleted"), st.booleans()),
    st.tuples(st.sampled_from(["vcpus", "ram", "disk"]), st.integers(0, 64)),
    st.tuples(st.just("project_id"), st.sampled_from(["p1", "p2"])),
    st.tuples(st.just("user_id"), st.sampled_from(["u1", "u2"])),
    st.tuples(st.just("name"), st.text(max_size=5)),  # counts nothing: the update trigger must not move a count
)
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("create"), HOSTS, st.sampled_from(["p1", "p2"]), st.sampled_from(["u1", "u2"]),
              st.integers(0, 8), st.integers(0, 4096), st.integers(0, 80), st.booleans()),
    st.tuples(st.just("change"), st.integers(0, 30), st.lists(CHANGES, min_size=1, max_size=2)),
    st.tuples(st.just("purge"), st.integers(0, 30)),
), max_size=40)


def kept_and_summed(db: Database) -> tuple[tuple[set, set], tuple[set, set]]:
    with db.read() as conn:
        kept = ({tuple(r) for r in conn.execute(text("SELECT * FROM host_usage WHERE servers <> 0"))},
                {tuple(r) for r in conn.execute(text("SELECT * FROM project_usage WHERE servers <> 0"))})
        # a count at zero servers must be zero in every sum
        leftovers = conn.execute(text("SELECT count(*) FROM host_usage WHERE servers = 0 AND "
                                      "(vcpus <> 0 OR ram <> 0 OR disk <> 0)")).scalar()
        leftovers += conn.execute(text("SELECT count(*) FROM project_usage WHERE servers = 0 AND "
                                       "(vcpus <> 0 OR ram <> 0)")).scalar()
        summed = ({tuple(r) for r in conn.execute(text(usage_counts.HOST_COUNTS))},
                  {tuple(r) for r in conn.execute(text(usage_counts.PROJECT_COUNTS))})
    assert leftovers == 0
    return kept, summed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_the_counts_equal_the_sums_after_any_writes(database, operations):
    with database.write() as conn:
        conn.execute(delete(servers))  # each example starts from no server (the triggers take every count to 0)
    ids: list[str] = []
    for op in operations:
        with database.write() as conn:  # one transaction per operation, as flows and the API write
            if op[0] == "create":
                row = server_row(*op[1:])
                conn.execute(insert(servers), row)
                ids.append(row["id"])
            elif ids and op[0] == "change":
                conn.execute(update(servers).where(servers.c.id == ids[op[1] % len(ids)]).values(dict(op[2])))
            elif ids and op[0] == "purge":
                conn.execute(delete(servers).where(servers.c.id == ids.pop(op[1] % len(ids))))
    kept, summed = kept_and_summed(database)
    assert kept == summed


@pytest.mark.parametrize("column, value", [("host", "host-c"), ("host", None), ("deleted", True), ("vcpus", 3),
                                           ("ram", 100), ("disk", 7), ("project_id", "p2"), ("user_id", "u2")])
def test_each_counted_column_changed_alone_moves_the_counts(database, column, value):
    with database.write() as conn:
        conn.execute(delete(servers))
        row = server_row("host-b", "p1", "u1", 4, 2048, 20, False)
        conn.execute(insert(servers), row)
    with database.write() as conn:
        conn.execute(update(servers).where(servers.c.id == row["id"]).values({column: value}))
    kept, summed = kept_and_summed(database)
    assert kept == summed


def test_a_server_moved_between_hosts_moves_its_count(database):
    with database.write() as conn:
        conn.execute(delete(servers))
        row = server_row("host-b", "p1", "u1", 4, 2048, 20, False)
        conn.execute(insert(servers), row)
    with database.write() as conn:
        conn.execute(update(servers).where(servers.c.id == row["id"]).values(host="host-a", vcpus=8))
    with database.read() as conn:
        rows = dict((r[0], tuple(r[1:])) for r in conn.execute(text("SELECT * FROM host_usage")))
    assert rows == {"host-a": (1, 8, 2048, 20), "host-b": (0, 0, 0, 0)}


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_migration_counts_the_servers_made_before_it(kind, tmp_path):
    with migrated_database(kind, tmp_path, "0016_unfinished_resource") as db:
        with db.write() as conn:
            conn.execute(insert(servers), [server_row("host-a", "p1", "u1", 2, 512, 1, False),
                                           server_row("host-a", "p1", "u2", 4, 1024, 10, False),
                                           server_row("host-b", "p2", "u1", 1, 256, 1, True),
                                           server_row(None, "p2", "u1", 8, 8192, 80, False)])
        migrate.upgrade(db)
        kept, summed = kept_and_summed(db)
        assert kept == summed
        assert kept[0] == {("host-a", 2, 6, 1536, 11)}
        assert kept[1] == {("p1", "u1", 1, 2, 512), ("p1", "u2", 1, 4, 1024), ("p2", "u1", 1, 8, 8192)}
