"""Service records: every conductor and compute reports itself; a service
whose last report is older than [DEFAULT] service_down_time is down.

Computes never write the database: they report over the bus and a conductor
writes the row (``ConductorEndpoint.report_service``).
"""
from __future__ import annotations

import time

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from taskvisor.db import direct
from taskvisor.db.models import services
from taskvisor.db.session import Database, utcnow

COMPUTE_BINARY = "taskvisor-compute"
CONDUCTOR_BINARY = "taskvisor-conductor"


def report(db: Database, *, binary: str, host: str, topic: str | None = None, version: int = 1,
           state: str = "running", capabilities: dict | None = None) -> None:
    now, ts = utcnow(), time.time()
    values = {"topic": topic, "version": version, "state": state, "last_seen": ts, "updated_at": now}
    if capabilities is not None:
        values["capabilities"] = capabilities
    with db.write() as conn:
        result = conn.execute(update(services).where(services.c.binary == binary, services.c.host == host)
                              .values(**values))
        if result.rowcount == 0:
            conn.execute(insert(services), {"binary": binary, "host": host, "zone": "nova", "disabled": False,
                                            "forced_down": False, "created_at": now,
                                            "capabilities": capabilities or {}, **values})


def is_up(row: dict, down_time: float, now: float | None = None) -> bool:
    if row.get("forced_down") or row.get("state") == "stopped" or row.get("last_seen") is None:
        return False
    return (now or time.time()) - row["last_seen"] <= down_time


_ALL = select(services).order_by(services.c.id)
_BY_BINARY = _ALL.where(services.c.binary == bindparam("binary"))


def list_services(conn: Connection, binary: str | None = None) -> list[dict]:
    return direct.mappings(conn, _BY_BINARY, {"binary": binary}) if binary else direct.mappings(conn, _ALL, {})


_ONE = select(services).where(services.c.binary == bindparam("binary"), services.c.host == bindparam("host"))
# What is_up and "takes new work" look at (not the capabilities document)
_LIVENESS = (select(services.c.disabled, services.c.state, services.c.forced_down, services.c.last_seen)
             .where(services.c.binary == bindparam("binary"), services.c.host == bindparam("host")))


def service_version(db: Database, host: str, binary: str = COMPUTE_BINARY) -> int:
    """The service version a host last reported (1 when it never did): what
    an RPC client to it may send (``compute.rpcapi.ComputeClient``)."""
    with db.read() as conn:
        row = conn.execute(_ONE, {"binary": binary, "host": host}).mappings().first()
    return (row["version"] if row else None) or 1


def compute_is_up(db: Database, host: str, conf) -> bool:
    """Whether the compute on ``host`` reported within [DEFAULT] service_down_time."""
    with db.read() as conn:
        row = direct.mapping(conn, _LIVENESS, {"binary": COMPUTE_BINARY, "host": host})
    return row is not None and is_up(row, conf.DEFAULT.service_down_time)


def compute_takes_new_work(db: Database, host: str, conf) -> bool:
    """Up, enabled and not draining: a host the scheduler may still choose."""
    with db.read() as conn:
        row = direct.mapping(conn, _LIVENESS, {"binary": COMPUTE_BINARY, "host": host})
    return (row is not None and not row["disabled"] and row["state"] == "running"
            and is_up(row, conf.DEFAULT.service_down_time))


def running_compute_versions(db: Database, conf) -> list[int]:
    """Service versions of the computes that are up and not stopped (what
    ``[upgrade_levels] compute = auto`` takes the lowest of)."""
    with db.read() as conn:
        rows = list_services(conn, COMPUTE_BINARY)
    return [r["version"] or 1 for r in rows
            if r["state"] != "stopped" and is_up(r, conf.DEFAULT.service_down_time)]

