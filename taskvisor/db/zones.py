"""Availability zones, as Nova derives them: a host's zone is the
``availability_zone`` metadata of an aggregate it belongs to, else the
default zone (``[DEFAULT] default_availability_zone``)."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from taskvisor.db import direct
from taskvisor.db.models import aggregate_hosts, aggregate_metadata

AZ_KEY = "availability_zone"
INTERNAL = "internal"  # the zone of every service that is not a compute


# Built once: SQLAlchemy then reuses their compiled form (the scheduler
# reads zones on every boot).
_HOST_ZONES = (select(aggregate_hosts.c.host, aggregate_metadata.c.value)
               .join(aggregate_metadata, aggregate_metadata.c.aggregate_id == aggregate_hosts.c.aggregate_id)
               .where(aggregate_metadata.c.key == AZ_KEY))
_ZONE_OF_HOST = _HOST_ZONES.where(aggregate_hosts.c.host == bindparam("host")).limit(1)


def host_zones(conn: Connection) -> dict[str, str]:
    """Host → zone, for the hosts an aggregate with a zone holds."""
    return {host: zone for host, zone in conn.execute(_HOST_ZONES)}


def zone_of(zones: dict[str, str], host: str, default: str) -> str:
    return zones.get(host, default)


def zone_of_host(conn: Connection, host: str, default: str) -> str:
    row = direct.first(conn, _ZONE_OF_HOST, {"host": host})
    return row[1] if row else default
