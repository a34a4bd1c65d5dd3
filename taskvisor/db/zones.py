"""Availability zones, as Nova derives them: a host's zone is the
``availability_zone`` metadata of an aggregate it belongs to, else the
default zone (``[DEFAULT] default_availability_zone``)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from taskvisor.db.models import aggregate_hosts, aggregate_metadata

AZ_KEY = "availability_zone"
INTERNAL = "internal"  # the zone of every service that is not a compute


def host_zones(conn: Connection) -> dict[str, str]:
    """Host → zone, for the hosts an aggregate with a zone holds."""
    query = (select(aggregate_hosts.c.host, aggregate_metadata.c.value)
             .join(aggregate_metadata, aggregate_metadata.c.aggregate_id == aggregate_hosts.c.aggregate_id)
             .where(aggregate_metadata.c.key == AZ_KEY))
    return {host: zone for host, zone in conn.execute(query)}


def zone_of(zones: dict[str, str], host: str, default: str) -> str:
    return zones.get(host, default)


def zone_of_host(conn: Connection, host: str, default: str) -> str:
    return zone_of(host_zones(conn), host, default)
