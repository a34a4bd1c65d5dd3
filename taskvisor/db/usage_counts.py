"""Usage counts of the live servers, kept by the database itself.

``host_usage`` holds, per host, how many servers not deleted it has and the
sums of their vcpus, ram and disk; ``project_usage`` the same per (project,
user), without disk. Triggers on ``servers`` change them in the
transaction that writes a server, whatever code writes it (a flow's
checkpoint, the API, a test), so a boot's host choice and a create's quota
check read a row or two instead of summing every server of the host or
project. Summed, those reads grew with the servers: at 10,000 servers of
one project on one host, 1.8 ms of CPU for the host choice and 2.9 ms for
the quota count, per boot.

Each trigger subtracts the old row's part (where it counted: a key, not
deleted) and adds the new row's, with an upsert, so a row for a host or a
project appears with its first server and keeps zeros after its last. An
update touches only the count whose columns changed (a boot's host choice
does not rewrite, nor on PostgreSQL lock, its project's row).

The DDL here is what migration ``0017_usage_counts`` creates: changing it
needs a new migration. A later migration that rebuilds ``servers`` on
SQLite (Alembic's batch mode copies the table and drops the old one, and
its triggers with it) must create them again; tests/unit/test_usage_counts
fails at head without them.
"""
from __future__ import annotations

HOST_USAGE_COLUMNS = ("servers", "vcpus", "ram", "disk")
PROJECT_USAGE_COLUMNS = ("servers", "vcpus", "ram")
# the columns whose change can move a server's part within each count
HOST_COUNTED = ("host", "deleted", "vcpus", "ram", "disk")
PROJECT_COUNTED = ("project_id", "user_id", "deleted", "vcpus", "ram")
COUNTED = tuple(dict.fromkeys(HOST_COUNTED + PROJECT_COUNTED))


def _upsert(table: str, keys: tuple[str, ...], columns: tuple[str, ...], row: str, sign: str) -> str:
    """Add (sign '') or subtract (sign '-') ``row``'s part (OLD or NEW)."""
    values = ", ".join([f"{row}.{k}" for k in keys] + [f"{sign}1" if c == "servers" else f"{sign}{row}.{c}"
                                                       for c in columns])
    counted = " AND ".join([f"{row}.{k} IS NOT NULL" for k in keys] + [f"NOT {row}.deleted"])
    sums = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    return (f"INSERT INTO {table} ({', '.join(keys + columns)}) SELECT {values} WHERE {counted} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums};")


def _host_part(row: str, sign: str) -> str:
    return _upsert("host_usage", ("host",), HOST_USAGE_COLUMNS, row, sign)


def _project_part(row: str, sign: str) -> str:
    return _upsert("project_usage", ("project_id", "user_id"), PROJECT_USAGE_COLUMNS, row, sign)


def _changed(columns: tuple[str, ...], differ: str) -> str:
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in columns)


def sqlite_ddl() -> list[str]:
    def update(name: str, columns: tuple[str, ...], part) -> str:
        return (f"CREATE TRIGGER servers_usage_update_{name} AFTER UPDATE OF {', '.join(columns)} ON servers "
                f"WHEN {_changed(columns, 'IS NOT')} BEGIN {part('OLD', '-')} {part('NEW', '')} END")
    return [
        f"CREATE TRIGGER servers_usage_insert AFTER INSERT ON servers "
        f"BEGIN {_host_part('NEW', '')} {_project_part('NEW', '')} END",
        f"CREATE TRIGGER servers_usage_delete AFTER DELETE ON servers "
        f"BEGIN {_host_part('OLD', '-')} {_project_part('OLD', '-')} END",
        update("host", HOST_COUNTED, _host_part),
        update("project", PROJECT_COUNTED, _project_part),
    ]


def _in_key_order(columns: tuple[str, ...], new_sorts_first: str, part) -> str:
    """PL/pgSQL: when the count's columns changed (or on an insert or a
    delete), the old row's part subtracted and the new row's added, the one
    whose key sorts first first."""
    return f"""IF TG_OP <> 'UPDATE' OR {_changed(columns, 'IS DISTINCT FROM')} THEN
    IF TG_OP = 'UPDATE' AND {new_sorts_first} THEN
      {part("NEW", "")}
      {part("OLD", "-")}
    ELSE
      {part("OLD", "-")}
      {part("NEW", "")}
    END IF;
  END IF;"""


def postgresql_ddl() -> list[str]:
    # OLD is NULL on INSERT and NEW on DELETE: their parts then add nothing.
    # One call locks its rows in one order: the host rows by host, then the
    # project rows by (project, user). Every statement that writes servers
    # writes one server, so two transactions changing servers the opposite
    # ways (a move from host a to b beside one from b to a, or beside a
    # resize on b of a server of the same project) cannot deadlock here.
    return [
        f"""CREATE FUNCTION servers_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_in_key_order(HOST_COUNTED, "OLD.host > NEW.host", _host_part)}
  {_in_key_order(PROJECT_COUNTED, "(OLD.project_id, OLD.user_id) > (NEW.project_id, NEW.user_id)",
                 _project_part)}
  RETURN NULL;
END $$""",
        "CREATE TRIGGER servers_usage_insert_delete AFTER INSERT OR DELETE ON servers "
        "FOR EACH ROW EXECUTE FUNCTION servers_usage()",
        f"CREATE TRIGGER servers_usage_update AFTER UPDATE OF {', '.join(COUNTED)} ON servers "
        f"FOR EACH ROW WHEN ({_changed(COUNTED, 'IS DISTINCT FROM')}) EXECUTE FUNCTION servers_usage()",
    ]


def ddl(dialect: str) -> list[str]:
    return postgresql_ddl() if dialect == "postgresql" else sqlite_ddl()


def drop_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return ["DROP TRIGGER IF EXISTS servers_usage_update ON servers",
                "DROP TRIGGER IF EXISTS servers_usage_insert_delete ON servers",
                "DROP FUNCTION IF EXISTS servers_usage()"]
    return [f"DROP TRIGGER IF EXISTS servers_usage_{what}"
            for what in ("insert", "delete", "update_host", "update_project")]


# The counts as they stand, for the migration's backfill (and tests' checks)
HOST_COUNTS = ("SELECT host, count(*), coalesce(sum(vcpus), 0), coalesce(sum(ram), 0), coalesce(sum(disk), 0) "
               "FROM servers WHERE host IS NOT NULL AND NOT deleted GROUP BY host")
PROJECT_COUNTS = ("SELECT project_id, user_id, count(*), coalesce(sum(vcpus), 0), coalesce(sum(ram), 0) "
                  "FROM servers WHERE NOT deleted GROUP BY project_id, user_id")
