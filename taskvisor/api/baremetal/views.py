"""Nodes as Ironic's API shows them, field by field and version by version
(a field appears from the microversion that introduced it)."""
from __future__ import annotations

import functools

from taskvisor.api.baremetal.drivers import node_conductor
from taskvisor.api.errors import ApiError, BadRequest

# field -> first minor version showing it (Ironic's VERSIONED_FIELDS); 1 = always
VERSIONED = {
    "uuid": 1, "created_at": 1, "updated_at": 1, "driver": 1, "driver_info": 1, "extra": 1,
    "instance_info": 1, "instance_uuid": 1, "last_error": 1, "maintenance": 1, "maintenance_reason": 1,
    "power_state": 1, "properties": 1, "provision_state": 1, "provision_updated_at": 1, "reservation": 1,
    "target_power_state": 1, "target_provision_state": 1, "console_enabled": 1, "chassis_uuid": 1,
    "driver_internal_info": 3, "name": 5, "inspection_finished_at": 6, "inspection_started_at": 6,
    "clean_step": 7, "raid_config": 12, "target_raid_config": 12, "network_interface": 20,
    "resource_class": 21, "boot_interface": 31, "console_interface": 31, "deploy_interface": 31,
    "inspect_interface": 31, "management_interface": 31, "power_interface": 31, "raid_interface": 31,
    "vendor_interface": 31, "storage_interface": 33, "traits": 37, "rescue_interface": 38,
    "bios_interface": 40, "fault": 42, "deploy_step": 44, "conductor_group": 46, "automated_clean": 47,
    "protected": 48, "protected_reason": 48, "conductor": 49, "owner": 50, "description": 51,
    "allocation_uuid": 52, "retired": 61, "retired_reason": 61, "lessee": 65, "network_data": 66,
    "boot_mode": 75, "secure_boot": 75, "shard": 82, "parent_node": 83, "firmware_interface": 86,
    "service_step": 87, "disable_power_off": 95, "instance_name": 104, "health": 109,
}
LIST_FIELDS = ("instance_uuid", "maintenance", "name", "power_state", "provision_state", "uuid")
_COLUMNS = ("driver", "driver_info", "extra", "instance_info", "instance_uuid", "last_error", "maintenance",
            "maintenance_reason", "power_state", "properties", "provision_state", "reservation",
            "target_power_state", "target_provision_state", "driver_internal_info", "name", "clean_step",
            "resource_class", "fault", "automated_clean", "owner", "lessee", "conductor_group", "shard",
            "description", "protected", "protected_reason", "target_raid_config", "raid_config", "console_enabled",
            "boot_mode", "secure_boot")
_EMPTY_OBJECTS = ("clean_step", "driver_internal_info", "properties", "extra", "instance_info", "raid_config",
                  "target_raid_config")
_INTERFACES = ("boot", "console", "deploy", "inspect", "management", "power", "raid", "vendor", "storage",
               "rescue", "bios", "firmware", "network")
_DEFAULTS = {"chassis_uuid": None, "inspection_finished_at": None,
             "inspection_started_at": None, "traits": [],
             "deploy_step": {},
             "allocation_uuid": None, "retired": False,
             "retired_reason": None, "network_data": {}, "parent_node": None, "service_step": {},
             "disable_power_off": False, "instance_name": None, "health": None}
SECRET = "******"


def columns_for(fields: list[str]):
    """The node columns rendering ``fields`` needs (a list reads 6 of them)."""
    from taskvisor.db.models import nodes
    names = {"id", "created_at"}
    for field in fields:
        if field.endswith("_interface"):
            names.update(("driver", "interfaces"))
        elif field == "conductor":  # drivers.node_conductor's inputs
            names.update(("driver", "reservation", "conductor_group"))
        elif field in nodes.c and field != "uuid":
            names.add(field)
    if "chassis_uuid" in fields:
        names.add("chassis_id")
    return [nodes.c[name] for name in sorted(names)]


def allowed_fields(minor: int) -> list[str]:
    return list(_allowed_fields(minor))


@functools.lru_cache(maxsize=256)
def _allowed_fields(minor: int) -> tuple[str, ...]:
    return tuple(f for f, since in VERSIONED.items() if since <= minor)


def check_fields(fields: str | None, minor: int) -> list[str] | None:
    """The ``fields`` query parameter (1.8+): a comma list of known fields."""
    if fields is None:
        return None
    if minor < 8:
        raise ApiError(406, "Request not acceptable.")
    names = [f.strip() for f in fields.split(",") if f.strip()]
    allowed = set(allowed_fields(minor))
    for name in names:
        if name not in allowed:
            raise BadRequest(f"Field {name} is not a valid field.")
    return names


def mask(info: dict | None) -> dict:
    """driver_info with secrets hidden (see secrets.mask_secrets)."""
    from taskvisor.api.baremetal.secrets import mask_secrets
    return mask_secrets(info or {})


def _computed(row: dict, field: str, conductors: list[dict] | None, conductor: str | None):
    """One of _COMPUTED_FIELDS (render_node does the other kinds itself)."""
    if field == "uuid":
        return row["id"]
    if field == "chassis_uuid":
        return row.get("chassis_id")  # the chassis' id is its UUID
    if field == "driver_info":
        return mask(row.get("driver_info"))
    if field == "conductor":
        return node_conductor(row, conductors) if conductors is not None else conductor
    if field == "conductor_group":
        return row.get("conductor_group") or ""
    if field in row:  # traits, allocation_uuid: looked up beside the node (nodes.with_related)
        return row[field]
    return _DEFAULTS.get(field)


def iso_utc(value) -> str | None:
    return value.isoformat() + "+00:00" if value is not None else None


def links(base_url: str, node_id: str, sub: str = "") -> list[dict]:
    path = f"nodes/{node_id}{sub}"
    return [{"href": f"{base_url}/v1/{path}", "rel": "self"}, {"href": f"{base_url}/{path}", "rel": "bookmark"}]


# how render_node finds each field, decided once per field list (a list renders 1,000 nodes with the same fields)
_COLUMN, _OBJECT, _DEFAULT, _TIME, _INTERFACE, _COMPUTED = range(6)
_COMPUTED_FIELDS = ("uuid", "chassis_uuid", "driver_info", "conductor", "conductor_group", "traits",
                    "allocation_uuid")


@functools.lru_cache(maxsize=256)
def _plan(names: tuple[str, ...]) -> tuple[tuple[str, int, str | None], ...]:
    plan = []
    for name in names:
        if name in ("created_at", "updated_at", "provision_updated_at"):
            plan.append((name, _TIME, None))
        elif name.endswith("_interface"):
            plan.append((name, _INTERFACE, name[:-len("_interface")]))
        elif name in _COMPUTED_FIELDS:
            plan.append((name, _COMPUTED, None))
        elif name in _COLUMNS:
            plan.append((name, _OBJECT if name in _EMPTY_OBJECTS else _COLUMN, None))
        else:
            plan.append((name, _DEFAULT, None))
    return tuple(plan)


def render_node(row: dict, minor: int, base_url: str, fields: list[str] | None = None,
                conductors: list[dict] | None = None, drivers: dict | None = None,
                conductor: str | None = None, unmasked: bool = False) -> dict:
    """``drivers``: what conductors recorded of them, ``conductors``: the
    conductors registered (both from ``api.baremetal.drivers``), from which
    the node's ``conductor`` is computed; without them, ``conductor`` is shown.
    ``unmasked``: the caller will be shown driver_info as stored (secrets.redact
    would replace the masked copy with it), so it is not masked."""
    names = tuple(fields) if fields is not None else _allowed_fields(minor)
    drivers = drivers or {}
    node = {}
    own_interfaces = driver_interfaces = None
    for name, how, kind in _plan(names):
        if how == _COLUMN:
            node[name] = row.get(name)
        elif how == _OBJECT:
            value = row.get(name)
            node[name] = {} if value is None else value
        elif how == _TIME:
            value = row.get(name)
            node[name] = None if value is None else value.isoformat() + "+00:00"
        elif how == _INTERFACE:
            if driver_interfaces is None:
                own_interfaces = row.get("interfaces") or {}
                driver_interfaces = (drivers.get(row["driver"]) or {}).get("interfaces") or {}
            node[name] = own_interfaces.get(kind) or driver_interfaces.get(kind)
        elif how == _DEFAULT:
            node[name] = _DEFAULTS.get(name)
        elif unmasked and name == "driver_info":
            node[name] = row.get("driver_info") or {}
        else:
            node[name] = _computed(row, name, conductors, conductor)
    node_id = row["id"]
    if minor < 2 and node.get("provision_state") == "available":
        node["provision_state"] = None  # Ironic before 1.2 called available "None"
    node["links"] = links(base_url, node_id)
    if fields is None:
        node["ports"] = links(base_url, node_id, "/ports")
        if minor >= 14:
            node["states"] = links(base_url, node_id, "/states")
        if minor >= 24:
            node["portgroups"] = links(base_url, node_id, "/portgroups")
        if minor >= 32:
            node["volume"] = links(base_url, node_id, "/volume")
    return node


def render_brief(rows, minor: int, base_url: str) -> list[dict]:
    """The default list view (LIST_FIELDS), built directly: it is the hot
    path (Nova's and the CLI's polling), ~2x cheaper than render_node."""
    out = []
    for row in rows:
        node_id, state = row["id"], row["provision_state"]
        out.append({"instance_uuid": row["instance_uuid"], "maintenance": row["maintenance"], "name": row["name"],
                    "power_state": row["power_state"],
                    "provision_state": None if minor < 2 and state == "available" else state, "uuid": node_id,
                    "links": [{"href": f"{base_url}/v1/nodes/{node_id}", "rel": "self"},
                              {"href": f"{base_url}/nodes/{node_id}", "rel": "bookmark"}]})
    return out


def render_states(row: dict, minor: int) -> dict:
    states = {"console_enabled": bool(row.get("console_enabled")), "last_error": row.get("last_error"),
              "power_state": row.get("power_state"), "provision_state": row.get("provision_state"),
              "target_power_state": row.get("target_power_state"),
              "target_provision_state": row.get("target_provision_state"),
              "provision_updated_at": iso_utc(row.get("provision_updated_at"))}
    if minor >= 12:
        states.update(raid_config=row.get("raid_config") or {},
                      target_raid_config=row.get("target_raid_config") or {})
    if minor >= 75:
        states.update(boot_mode=row.get("boot_mode"), secure_boot=row.get("secure_boot"))
    if minor < 2 and states["provision_state"] == "available":
        states["provision_state"] = None
    return states
