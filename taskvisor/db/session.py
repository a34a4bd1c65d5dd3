"""Engines and transactions.

``db.write()`` opens a transaction that will write; ``db.read()`` one that
only reads. On SQLite a writing transaction starts with BEGIN IMMEDIATE:
SQLite allows one writer, and a deferred transaction that reads first and
writes later fails at once (SQLITE_BUSY_SNAPSHOT) when another writer got in
between; taking the write lock up front makes concurrent writers queue on
the busy timeout instead. Writers of one process also queue on a Python lock
first: SQLite's busy handler sleeps with backoff (up to 100 ms a try) rather
than waking when the lock frees, which caps a busy conductor at a few dozen
tasks a second; a lock hand-off wakes the next writer at once. Writers of
other processes on the same file (a split all-in-one) queue on an flock the
same way. On PostgreSQL both are ordinary transactions.

Stale connections (PostgreSQL): a connection that sat in the pool longer
than ``STALE_AFTER`` is checked with a ping before use, and every one is
replaced after ``RECYCLE_AFTER``. A connection in steady use is not pinged:
``pool_pre_ping`` cost a round trip on every transaction (a conductor's
checkpoints spent 14 % of their time in it). If the server went away under
a busy connection, the statement fails with a disconnect error, SQLAlchemy
invalidates every connection of the pool made before it, and the caller's
transaction rolls back like any other database error (a conductor's lease
expires and the task resumes elsewhere; the API answers 503).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

STALE_AFTER = 5.0        # seconds idle in the pool after which a connection is pinged before use
RECYCLE_AFTER = 1800     # seconds after which a connection is replaced whatever its use


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _private_file(path: str) -> None:
    """The SQLite file holds BMC passwords: 0600 in a 0700 directory (SQLite
    gives its -wal and -shm files the database file's mode)."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path, path + "-wal", path + "-shm"):
        if os.path.exists(name) and os.stat(name).st_mode & 0o077:
            os.chmod(name, 0o600)


@dataclass(frozen=True)
class PoolOptions:
    """[database] max_pool_size / max_overflow / pool_timeout (oslo.db's
    names). A request that cannot get a connection within pool_timeout
    fails with sqlalchemy's TimeoutError, which the API answers with 503."""
    size: int = 20
    overflow: int = 20
    timeout: float = 10.0

    @classmethod
    def from_conf(cls, conf) -> "PoolOptions":
        return cls(conf.database.max_pool_size, conf.database.max_overflow, conf.database.pool_timeout)


def _json_dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (task stores, step details, flavors, addresses) through orjson:
# the stdlib's decoder was most of the time of reading 1,000 servers on
# PostgreSQL, and every checkpoint encodes the task's store.
JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def _sqlite_engine(url: str, pool: PoolOptions | None) -> Engine:
    """``pool`` None: one connection (the writers', who take turns)."""
    _private_file(sqlite_file(url))
    pooling = ({"poolclass": StaticPool} if pool is None else
               {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout})
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60}, **pooling, **JSON_CODEC)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take transaction control from pysqlite so BEGIN is ours to issue (begin_sqlite).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    return engine


def begin_sqlite(conn: Connection, immediate: bool = False) -> None:
    """Open SQLite's transaction inside SQLAlchemy's (``conn.begin()``,
    which pysqlite leaves to us). Issued here rather than from a "begin"
    event listener: any connection event on an engine makes SQLAlchemy
    dispatch events around every statement, which cost a read of five
    statements about a third more CPU. Straight to the driver:
    exec_driver_sql costs more than the BEGIN itself."""
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def sqlite_file(url: str) -> str | None:
    """The database file a SQLite URL names; None for an in-memory one."""
    path = url.split("///", 1)[-1] if "///" in url else ""
    return os.path.abspath(path) if path and path != ":memory:" else None


class _WriterLock:
    """Where a SQLite writer queues before BEGIN IMMEDIATE: a thread lock
    for this process's writers, then, for a database file, an flock on
    ``<file>.lock`` for other processes' (the split all-in-one's API and
    conductor): SQLite's busy handler would make the loser sleep with backoff
    (about half the conductor's time in a 300-server run), a released flock
    wakes the next writer at once."""

    def __init__(self, path: str | None):
        self._threads = threading.Lock()
        self._fd: int | None = None
        if path:
            self._fd = os.open(path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            weakref.finalize(self, os.close, self._fd)

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *_exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


def _server_engine(url: str, pool: PoolOptions) -> Engine:
    engine = create_engine(url, pool_size=pool.size, max_overflow=pool.overflow, pool_timeout=pool.timeout,
                           pool_recycle=RECYCLE_AFTER, **JSON_CODEC)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record: ConnectionPoolEntry, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < STALE_AFTER:
            return  # new, or in steady use
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:
            # the pool discards this connection and checks out another (or connects anew)
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error

    return engine


class Database:
    def __init__(self, url: str, pool: PoolOptions | None = None):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        pool = pool or PoolOptions()
        # SQLite's writers take turns (the writer lock), so one connection
        # serves them all, kept open between transactions: a pool checkout and
        # a new Connection per transaction cost SQLAlchemy more than SQLite's
        # BEGIN IMMEDIATE and COMMIT together.
        self._write_conn: Connection | None = None
        if self.is_sqlite:
            if sqlite_file(url) is None:  # each engine (and process) would get a database of its own
                raise ValueError(f"an in-memory SQLite database cannot be shared by the API and the conductor; "
                                 f"name a file: sqlite:////path/to/taskvisor.db (not {url!r})")
            self.writer = _sqlite_engine(url, pool=None)
            self.reader = _sqlite_engine(url, pool=pool)
            self._write_lock: _WriterLock | None = _WriterLock(sqlite_file(url))
        else:
            self.writer = _server_engine(url, pool)
            self.reader = self.writer
            self._write_lock = None

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        if self._write_lock is None:
            with self.writer.begin() as conn:
                yield conn
            return
        with self._write_lock:
            conn, self._write_conn = self._write_conn or self.writer.connect(), None
            try:
                with conn.begin():
                    begin_sqlite(conn, immediate=True)
                    yield conn
            except BaseException:
                conn.close()  # a failed transaction's Connection is not reused: the next one is fresh
                raise
            self._write_conn = conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.begin() as conn:
            if self.is_sqlite:
                begin_sqlite(conn)
            yield conn

    def dispose(self) -> None:
        # Under the writers' lock (SQLite): every writer shares the one DBAPI
        # connection of the writer's StaticPool, and closing it while a
        # straggler (a stopping service's last report) runs a statement on it
        # crashes the interpreter in sqlite3. A writer after this opens a new one.
        with self._write_lock or contextlib.nullcontext():
            if self._write_conn is not None:
                self._write_conn.close()
                self._write_conn = None
            self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
