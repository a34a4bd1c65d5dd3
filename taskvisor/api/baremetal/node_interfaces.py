"""A node's ``<kind>_interface`` fields (Ironic 1.31+): its driver's
default, or another name the driver enables (``enabled_interfaces`` of
``baremetal.drivers.describe``; fake-hardware's no-* ones), kept in
``nodes.interfaces``. Removing the field resets it to the default; any
name the driver does not enable is Ironic's 400."""
from __future__ import annotations

from taskvisor.api.baremetal import views
from taskvisor.api.errors import ApiError, BadRequest

KINDS = ("bios", "boot", "console", "deploy", "firmware", "inspect", "management", "network", "power", "raid",
         "rescue", "storage", "vendor")
FIELDS = {f"{kind}_interface": kind for kind in KINDS}
RULE = "baremetal:node:update:driver_interfaces"


def _field(op) -> str | None:
    path = op.get("path") if isinstance(op, dict) else None
    if isinstance(path, str) and path.startswith("/") and path[1:] in FIELDS:
        return path[1:]
    return None


def split(patch: list) -> tuple[list, list]:
    """(operations on interface fields, the others)."""
    ops = [op for op in patch if _field(op)]
    return ops, [op for op in patch if not _field(op)]


def check(ops: list, record: dict, minor: int, chosen: dict | None) -> dict:
    """Apply ``ops`` to the node's ``chosen`` interfaces (``nodes.interfaces``)
    and return them; ``record``: what conductors recorded of its driver."""
    defaults, enabled = record.get("interfaces") or {}, record.get("enabled_interfaces") or {}
    chosen = dict(chosen or {})
    for op in ops:
        field = _field(op)
        kind = FIELDS[field]
        if views.VERSIONED.get(field, 1) > minor:
            raise ApiError(406, "Request not acceptable.")
        if op.get("op") not in ("add", "replace", "remove"):
            raise BadRequest(f"Invalid patch operation: {op!r}. Each needs 'op' (add, replace, remove) and a 'path'")
        if op["op"] != "remove" and "value" not in op:
            raise BadRequest(f"Couldn't apply patch '{op}'. Reason: 'value' is required for '{op['op']}'")
        value = None if op["op"] == "remove" else op["value"]
        if value is None or value == defaults.get(kind):  # reset to the driver's default
            chosen.pop(kind, None)
            continue
        check_name(kind, value, enabled)
        chosen[kind] = value
    return chosen


def check_name(kind: str, value, enabled: dict) -> None:
    valid = enabled.get(kind) or []
    if value not in valid:
        raise BadRequest(f"Could not find the following interface in the 'ironic.hardware.interfaces.{kind}' "
                         f"entrypoint: {value}. Valid interfaces are {', '.join(valid)}.")


def for_driver(chosen: dict | None, record: dict) -> dict:
    """The choices still valid once the node changes driver (the others reset)."""
    enabled = record.get("enabled_interfaces") or {}
    return {kind: name for kind, name in (chosen or {}).items() if name in (enabled.get(kind) or [])}
