"""The hardware drivers as conductors recorded them when they started
(``baremetal.drivers.describe_all``): names, interfaces and clean steps.
The API never loads a driver; a driver no conductor recorded is unknown."""
from __future__ import annotations

from sqlalchemy.engine import Connection

from taskvisor import servicegroup


def recorded(conn: Connection) -> dict[str, dict]:
    """Driver name -> {"interfaces": {...}, "clean_steps": [...]}; the
    newest conductor's record wins where conductors differ (an upgrade)."""
    drivers: dict[str, dict] = {}
    conductors = servicegroup.list_services(conn, servicegroup.CONDUCTOR_BINARY)
    for svc in sorted(conductors, key=lambda s: s["last_seen"] or 0):
        drivers.update((svc["capabilities"] or {}).get("drivers") or {})
    return drivers


def clean_steps_of(conn: Connection, driver: str) -> list[dict]:
    return (recorded(conn).get(driver) or {}).get("clean_steps") or []
