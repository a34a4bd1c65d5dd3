"""Usage counts of the live servers, kept by the database itself.

``host_usage`` holds, per host, how many servers not deleted it has and the
sums of their vcpus, ram and disk; ``project_usage`` the same per (project,
user), without disk. Triggers on ``servers`` change them in the
transaction that writes a server, whatever code writes it (a flow's
checkpoint, the API, a test), so a boot's host choice and a create's quota
check read a row or two instead of summing every server of the host or
project. Summed, those reads grew with the servers: at 10,000 servers of
one project on one host, 2.0 ms of CPU for the host choice and 3.0 ms for
the quota count, per boot.

Each trigger subtracts the old row's part (where it counted: a host, not
deleted) and adds the new row's, with an upsert, so a row for a host or a
project appears with its first server and keeps zeros after its last.

The DDL here is what migration ``0017_usage_counts`` creates, and what
``META.create_all`` adds for a schema built without Alembic (some tests):
changing it needs a new migration.
"""
from __future__ import annotations

HOST_USAGE_COLUMNS = ("servers", "vcpus", "ram", "disk")
PROJECT_USAGE_COLUMNS = ("servers", "vcpus", "ram")
# a change to any of these can move a server's part from one count to another
COUNTED = ("host", "deleted", "vcpus", "ram", "disk", "project_id", "user_id")


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


def _parts(row: str, sign: str) -> list[str]:
    return [_host_part(row, sign), _project_part(row, sign)]


def _changed(differ: str) -> str:
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in COUNTED)


def sqlite_ddl() -> list[str]:
    subtract, add = _parts("OLD", "-"), _parts("NEW", "")
    return [
        f"CREATE TRIGGER servers_usage_insert AFTER INSERT ON servers BEGIN {' '.join(add)} END",
        f"CREATE TRIGGER servers_usage_delete AFTER DELETE ON servers BEGIN {' '.join(subtract)} END",
        f"CREATE TRIGGER servers_usage_update AFTER UPDATE OF {', '.join(COUNTED)} ON servers "
        f"WHEN {_changed('IS NOT')} BEGIN {' '.join(subtract + add)} END",
    ]


def _in_key_order(new_sorts_first: str, part) -> str:
    """PL/pgSQL: the old row's part subtracted and the new row's added, the
    one whose key sorts first first."""
    return f"""IF TG_OP = 'UPDATE' AND {new_sorts_first} THEN
    {part("NEW", "")}
    {part("OLD", "-")}
  ELSE
    {part("OLD", "-")}
    {part("NEW", "")}
  END IF;"""


def postgresql_ddl() -> list[str]:
    # OLD is NULL on INSERT and NEW on DELETE: their parts then add nothing.
    # Rows are locked in one order, whatever moves: the host rows by host,
    # then the project rows by (project, user); so two transactions changing
    # servers the opposite ways (a move from host a to b beside one from b to
    # a, or beside a resize on b of a server of the same project) cannot
    # deadlock.
    return [
        f"""CREATE FUNCTION servers_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_in_key_order("OLD.host > NEW.host", _host_part)}
  {_in_key_order("(OLD.project_id, OLD.user_id) > (NEW.project_id, NEW.user_id)", _project_part)}
  RETURN NULL;
END $$""",
        "CREATE TRIGGER servers_usage_insert_delete AFTER INSERT OR DELETE ON servers "
        "FOR EACH ROW EXECUTE FUNCTION servers_usage()",
        f"CREATE TRIGGER servers_usage_update AFTER UPDATE OF {', '.join(COUNTED)} ON servers "
        f"FOR EACH ROW WHEN ({_changed('IS DISTINCT FROM')}) EXECUTE FUNCTION servers_usage()",
    ]


def ddl(dialect: str) -> list[str]:
    return postgresql_ddl() if dialect == "postgresql" else sqlite_ddl()


def drop_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return ["DROP TRIGGER IF EXISTS servers_usage_update ON servers",
                "DROP TRIGGER IF EXISTS servers_usage_insert_delete ON servers",
                "DROP FUNCTION IF EXISTS servers_usage()"]
    return [f"DROP TRIGGER IF EXISTS servers_usage_{what}" for what in ("insert", "delete", "update")]


# The counts as they stand, for the migration's backfill (and tests' checks)
HOST_COUNTS = ("SELECT host, count(*), coalesce(sum(vcpus), 0), coalesce(sum(ram), 0), coalesce(sum(disk), 0) "
               "FROM servers WHERE host IS NOT NULL AND NOT deleted GROUP BY host")
PROJECT_COUNTS = ("SELECT project_id, user_id, count(*), coalesce(sum(vcpus), 0), coalesce(sum(ram), 0) "
                  "FROM servers WHERE NOT deleted GROUP BY project_id, user_id")
