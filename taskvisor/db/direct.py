"""The engine's hottest statements, run on SQLite's driver directly.

A checkpoint's statements are tiny: SQLite runs one in a few microseconds,
while SQLAlchemy's per-execution set-up (the compiled cache's look-up, the
execution context, its events, the result object) costs ten times that
(docs/performance.md, "Issue 15, fourth pass: the engine"). Here a Core
statement is compiled once, and each run binds its parameters through the
same type processors SQLAlchemy would use (JSON through the engine's
serializer, datetimes as SQLite stores them) and executes on the DBAPI
connection under the caller's SQLAlchemy transaction, which still begins,
commits and rolls back as before. Driver errors are raised as SQLAlchemy's.

Only SQLite: elsewhere (PostgreSQL) the statement goes through
``conn.execute`` as usual, where SQLAlchemy also handles a lost
connection. Only statements whose parameters are all given by the caller or
fixed in the statement (no Python-side column defaults run at execution).
"""
from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

_MISSING = object()
# id(statement) -> (statement, plan); the statement is kept so its id stays its own
_PLANS: dict[int, tuple[Any, tuple | None]] = {}


def _plan(conn: Connection, statement: Any) -> tuple | None:
    """(sql, [(name, processor, default)], [(column key, result processor)])
    for a positional SQLite statement; None when it needs what only
    SQLAlchemy's execution does."""
    compiled = statement.compile(dialect=conn.dialect)
    if not compiled.positional or compiled.escaped_bind_names or compiled.literal_execute_params \
            or compiled.post_compile_params:
        return None
    processors = compiled._bind_processors
    binds = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if bind.callable is not None:
            return None
        binds.append((name, processors.get(name), _MISSING if bind.required else bind.effective_value))
    columns = [(column.keyname, column.type._cached_result_processor(conn.dialect, None))
               for column in compiled._result_columns]
    return compiled.string, binds, columns


def _run(conn: Connection, statement: Any, params: dict) -> tuple[sqlite3.Cursor, list] | None:
    if conn.dialect.name != "sqlite":
        return None
    entry = _PLANS.get(id(statement))
    if entry is None or entry[0] is not statement:
        entry = _PLANS[id(statement)] = (statement, _plan(conn, statement))
    plan = entry[1]
    if plan is None:
        return None
    sql, binds, columns = plan
    args = []
    for name, processor, default in binds:
        value = params.get(name, default)
        if value is _MISSING:
            raise KeyError(f"statement parameter {name!r} not given")
        args.append(value if processor is None else processor(value))
    try:
        return conn.connection.driver_connection.execute(sql, args), columns
    except sqlite3.Error as error:
        raise DBAPIError.instance(sql, args, error, sqlite3.Error) from error


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


def _fetch(cursor: sqlite3.Cursor) -> list[tuple]:
    try:
        return cursor.fetchall()  # to the end: the statement is done before the commit
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


def mappings(conn: Connection, statement: Any, params: dict) -> list[dict]:
    """Run a statement; its rows as dicts, each value as SQLAlchemy reads it
    (JSON decoded, datetimes parsed, booleans)."""
    ran = _run(conn, statement, params)
    if ran is None:
        return [dict(row) for row in conn.execute(statement, params).mappings()]
    cursor, columns = ran
    return [{key: value if processor is None else processor(value)
             for (key, processor), value in zip(columns, row)} for row in _fetch(cursor)]
