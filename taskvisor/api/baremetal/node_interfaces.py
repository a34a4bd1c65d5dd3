"""PATCH of a node's ``<kind>_interface`` fields (Ironic 1.31+). A driver
here enables one implementation per kind (``baremetal.drivers.describe``),
so a valid change names that one, and removing the field resets it to the
same default: both leave the node as it is. Any other name is Ironic's 400."""
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


def check(ops: list, record: dict, minor: int) -> None:
    """``record``: what conductors recorded of the node's driver."""
    enabled = record.get("enabled_interfaces") or {}
    for op in ops:
        field = _field(op)
        if views.VERSIONED.get(field, 1) > minor:
            raise ApiError(406, "Request not acceptable.")
        if op.get("op") not in ("add", "replace", "remove"):
            raise BadRequest(f"Invalid patch operation: {op!r}. Each needs 'op' (add, replace, remove) and a 'path'")
        if op["op"] == "remove":
            continue
        if "value" not in op:
            raise BadRequest(f"Couldn't apply patch '{op}'. Reason: 'value' is required for '{op['op']}'")
        valid = enabled.get(FIELDS[field]) or []
        if op["value"] is not None and op["value"] not in valid:
            raise BadRequest(f"Could not find the following interface in the 'ironic.hardware.interfaces."
                             f"{FIELDS[field]}' entrypoint: {op['value']}. Valid interfaces are "
                             f"{', '.join(valid)}.")
