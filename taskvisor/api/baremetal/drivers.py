"""The hardware drivers and conductors as conductors recorded them when
they started (``baremetal.drivers.describe_all`` on their service row):
names, interfaces, properties and steps of each driver; each conductor's
group and drivers. The API never loads a driver; a driver no conductor
recorded is unknown."""
from __future__ import annotations


from sqlalchemy.engine import Connection

from taskvisor import servicegroup
from taskvisor.baremetal import steps as clean_steps


def recorded(conn: Connection) -> dict[str, dict]:
    """Driver name -> {"interfaces": {...}, "clean_steps": [...], ...}; the
    newest conductor's record wins where conductors differ (an upgrade)."""
    drivers: dict[str, dict] = {}
    conductors = servicegroup.list_services(conn, servicegroup.CONDUCTOR_BINARY)
    for svc in sorted(conductors, key=lambda s: s["last_seen"] or 0):
        drivers.update((svc["capabilities"] or {}).get("drivers") or {})
    return drivers


def clean_steps_of(conn: Connection, driver: str, node: dict | None = None) -> list[dict]:
    """The driver's clean steps; for ``node``, less those of the interfaces it replaced."""
    known = (recorded(conn).get(driver) or {}).get("clean_steps") or []
    return clean_steps.for_node(known, node) if node is not None else known


def conductors(conn: Connection, down_time: float) -> list[dict]:
    """Every conductor that ever registered, as Ironic's conductor API shows
    it (less links): alive when its last heartbeat is recent."""
    out = []
    for svc in servicegroup.list_services(conn, servicegroup.CONDUCTOR_BINARY):
        record = svc["capabilities"] or {}
        out.append({"hostname": svc["host"], "conductor_group": record.get("conductor_group") or "",
                    "alive": servicegroup.is_up(svc, down_time), "drivers": sorted(record.get("drivers") or {}),
                    "created_at": svc["created_at"], "updated_at": svc["updated_at"],
                    "_record": record})
    return out


def active_drivers(conn: Connection, down_time: float) -> dict[str, dict]:
    """Driver name -> {"hosts": [alive conductors offering it], **its record}
    (Ironic lists the drivers of live conductors only)."""
    found: dict[str, dict] = {}
    for cond in sorted(conductors(conn, down_time), key=lambda c: c["hostname"]):
        if not cond["alive"]:
            continue
        for name, record in (cond["_record"].get("drivers") or {}).items():
            entry = found.setdefault(name, {**record, "hosts": []})
            entry["hosts"].append(cond["hostname"])
    return found


def node_conductor(node: dict, live: list[dict]) -> str | None:
    """The conductor Ironic would show as servicing ``node`` (its hash ring's
    choice): the one holding it now, else one of the live conductors of its
    group that offer its driver, picked by the node's UUID so the choice is
    stable while the set of conductors is."""
    if node.get("reservation"):
        return node["reservation"]
    group = node.get("conductor_group") or ""
    hosts = sorted(c["hostname"] for c in live
                   if c["alive"] and c["conductor_group"] == group and node.get("driver") in c["drivers"])
    if not hosts:
        return None
    node_id = node["id"]  # stored as str(uuid.UUID(...)): its hex digits are the UUID's integer
    return hosts[int(node_id.replace("-", ""), 16) % len(hosts)]
