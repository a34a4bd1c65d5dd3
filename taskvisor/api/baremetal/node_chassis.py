"""A node's chassis (Ironic's ``chassis_uuid``): set on create and by
JSON-patch (an unknown chassis is a 400 there, as in Ironic), removable from
1.25, changed under ``baremetal:node:update:chassis_uuid``; the node list's
chassis filter (``?chassis_uuid=``, and ``/chassis/{id}/nodes``). The
chassis' id is its UUID, so a node stores it as ``chassis_id``."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from taskvisor.api.baremetal.secrets import node_target
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.db.models import chassis, nodes

PATH = "/chassis_uuid"
RULE = "baremetal:node:update:chassis_uuid"
REMOVABLE_FROM = 25  # Ironic 1.25: a node's chassis may be unset
BODY = {"type": ["string", "null"], "format": "uuid"}


def _uuid(value) -> str | None:
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def chassis_of(conn, chassis_uuid) -> str | None:
    """The chassis id ``chassis_uuid`` names (None: no chassis); unknown: 400."""
    if chassis_uuid is None or chassis_uuid == "":
        return None
    found = _uuid(chassis_uuid)
    if found is None:
        raise BadRequest(f"Expected UUID for chassis_uuid: {chassis_uuid}")
    if conn.execute(select(chassis.c.id).where(chassis.c.id == found)).first() is None:
        raise BadRequest(f"Chassis {chassis_uuid} could not be found.")
    return found


def split(patch: list) -> tuple[list, list]:
    """(the operations on /chassis_uuid, the others)."""
    mine = [op for op in patch if isinstance(op, dict) and op.get("path") == PATH]
    return mine, [op for op in patch if not (isinstance(op, dict) and op.get("path") == PATH)]


def changes(conn, ctx, node: dict, ops: list, minor: int) -> dict:
    """The ``chassis_id`` change the operations make (nothing if none)."""
    value = node.get("chassis_id")
    for op in ops:
        if op.get("op") not in ("add", "replace", "remove"):
            raise BadRequest(f"Invalid patch operation: {op!r}. Each needs 'op' (add, replace, remove) and a 'path'")
        if op["op"] != "remove" and "value" not in op:
            raise BadRequest(f"Couldn't apply patch '{op}'. Reason: 'value' is required for '{op['op']}'")
        value = None if op["op"] == "remove" else op["value"]
    if not ops or value == node.get("chassis_id"):
        return {}
    authorize(ctx, RULE, node_target(node))
    if value is None and minor < REMOVABLE_FROM:
        raise ApiError(406, "Request not acceptable.")
    return {"chassis_id": chassis_of(conn, value)}


def filter_nodes(conn, request, query):
    """The node list of one chassis: ``/chassis/{chassis_id}/nodes`` or
    ``?chassis_uuid=``; a chassis that does not exist is Ironic's 404."""
    wanted = request.path_params.get("chassis_id") or request.query_params.get("chassis_uuid")
    if wanted is None:
        return query
    found = _uuid(wanted)
    if found is None:
        raise BadRequest(f"Expected UUID for chassis_uuid: {wanted}")
    if conn.execute(select(chassis.c.id).where(chassis.c.id == found)).first() is None:
        raise NotFound(f"Chassis {wanted} could not be found.")
    return query.where(nodes.c.chassis_id == found)
