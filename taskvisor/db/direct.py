"""The hottest statements (the engine's checkpoints, a boot's scheduling
reads, a create's and a delete's reads in the API), run on the database
driver directly.

A checkpoint's statements are tiny: SQLite runs one in a few microseconds,
while SQLAlchemy's per-execution set-up (the compiled cache's look-up, the
execution context, its events, the result object) costs ten times that
(docs/performance.md, "Issue 15, fourth pass: the engine"); on PostgreSQL
that set-up was 17 % of a distributed conductor's CPU (sixth pass). Here a
Core statement is compiled once, and each run binds its parameters through
the same type processors SQLAlchemy would use (JSON through the engine's
serializer, datetimes as SQLite stores them) and executes on the DBAPI
connection under the caller's SQLAlchemy transaction, which still begins,
commits and rolls back as before. Driver errors are raised as SQLAlchemy's,
and a connection the driver lost is invalidated as SQLAlchemy would (the
pool replaces it).

Drivers: sqlite3 (positional parameters) and psycopg (named ones); any
other goes through ``conn.execute``. Only statements whose parameters are
all given by the caller or fixed in the statement (no Python-side column
defaults run at execution).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_MISSING = object()
# the drivers run here, and whether each takes its parameters by position
_DRIVERS = {("sqlite", "pysqlite"): True, ("postgresql", "psycopg"): False}


@dataclass(slots=True)
class _Plan:
    sql: str
    positional: bool
    binds: list[tuple[str, Any, Any]]        # (name, bind processor, default or _MISSING)
    columns: list[tuple[str, Any]]           # (result key, column type)
    # (key, result processor) per column, made from the first result: a
    # processor may depend on the column's type as the driver reports it
    processors: list[tuple[str, Any]] | None = None

    def args(self, params: dict) -> list | dict:
        values = []
        for name, processor, default in self.binds:
            value = params.get(name, default)
            if value is _MISSING:
                raise KeyError(f"statement parameter {name!r} not given")
            values.append(value if processor is None else processor(value))
        return values if self.positional else {name: value for (name, _, _), value in zip(self.binds, values)}


# (id(statement), dialect) -> (statement, plan); the statement is kept so its id stays its own
_PLANS: dict[tuple[int, str], tuple[Any, _Plan | None]] = {}


def _plan(conn: Connection, statement: Any) -> _Plan | None:
    """The statement compiled for a driver run here; None when it needs what
    only SQLAlchemy's execution does."""
    positional = _DRIVERS.get((conn.dialect.name, conn.dialect.driver))
    if positional is None:
        return None
    compiled = statement.compile(dialect=conn.dialect)
    if compiled.positional != positional or compiled.escaped_bind_names or compiled.literal_execute_params \
            or compiled.post_compile_params:
        return None
    processors = compiled._bind_processors
    binds = []
    for name in (compiled.positiontup if positional else compiled.bind_names.values()):
        bind = compiled.binds[name]
        if bind.callable is not None:
            return None
        binds.append((name, processors.get(name), _MISSING if bind.required else bind.effective_value))
    return _Plan(compiled.string, positional, binds,
                 [(column.keyname, column.type) for column in compiled._result_columns])


def _run(conn: Connection, statement: Any, params: dict) -> tuple[Any, _Plan] | None:
    key = (id(statement), conn.dialect.name)
    entry = _PLANS.get(key)
    if entry is None or entry[0] is not statement:
        entry = _PLANS[key] = (statement, _plan(conn, statement))
    plan = entry[1]
    if plan is None:
        return None
    args = plan.args(params)
    try:
        return conn.connection.driver_connection.execute(plan.sql, args), plan
    except conn.dialect.loaded_dbapi.Error as error:
        # as SQLAlchemy's own execution does: a lost connection is not given back to the pool
        lost = conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
        if lost:
            conn.invalidate(error)
        raise DBAPIError.instance(plan.sql, args, error, conn.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost) from error


def rowcount(conn: Connection, statement: Any, params: dict) -> int:
    """Run a statement; the number of rows it changed."""
    ran = _run(conn, statement, params)
    if ran is None:
        return conn.execute(statement, params).rowcount
    cursor = ran[0]
    try:
        return cursor.rowcount
    finally:
        cursor.close()


def _fetch(cursor: Any) -> list[tuple]:
    try:
        return cursor.fetchall() if cursor.description else []  # to the end: done before the commit
    finally:
        cursor.close()


def first(conn: Connection, statement: Any, params: dict) -> tuple | None:
    """Run a statement; its first row as a tuple of the driver's values (a
    boolean is 0 or 1 on SQLite: no result processing), or None."""
    ran = _run(conn, statement, params)
    if ran is None:
        row = conn.execute(statement, params).first()
        return None if row is None else tuple(row)
    rows = _fetch(ran[0])
    return rows[0] if rows else None


def _read(conn: Connection, statement: Any, params: dict) -> tuple[list[tuple[str, Any]], list[tuple]] | None:
    """Run a statement; (key, result processor) per column and its rows as
    the driver gives them, or None when SQLAlchemy must run it."""
    ran = _run(conn, statement, params)
    if ran is None:
        return None
    cursor, plan = ran
    if plan.processors is None:
        plan.processors = [(key, type_._cached_result_processor(conn.dialect, column[1]))
                           for (key, type_), column in zip(plan.columns, cursor.description)]
    return plan.processors, _fetch(cursor)


def mappings(conn: Connection, statement: Any, params: dict) -> list[dict]:
    """Run a statement; its rows as dicts, each value as SQLAlchemy reads it
    (JSON decoded, datetimes parsed, booleans)."""
    read = _read(conn, statement, params)
    if read is None:
        return [dict(row) for row in conn.execute(statement, params).mappings()]
    processors, found = read
    return [{key: value if processor is None else processor(value)
             for (key, processor), value in zip(processors, row)} for row in found]


def rows(conn: Connection, statement: Any, params: dict) -> list[tuple]:
    """Run a statement; its rows as tuples of the values ``mappings`` gives
    (made directly: no dict per row, and no two columns of one key merged)."""
    read = _read(conn, statement, params)
    if read is None:
        return [tuple(row) for row in conn.execute(statement, params)]
    processors, found = read
    return [tuple([value if processor is None else processor(value) for (_, processor), value in zip(processors, row)])
            for row in found]


def mapping(conn: Connection, statement: Any, params: dict) -> dict | None:
    """Run a statement; its first row as ``mappings`` gives it, or None."""
    found = mappings(conn, statement, params)
    return found[0] if found else None
