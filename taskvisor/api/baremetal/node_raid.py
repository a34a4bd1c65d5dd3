"""PUT /v1/nodes/{id}/states/raid (1.12+): a node's target RAID
configuration, checked against Ironic's RAID schema and saved on the node
(Ironic's set_target_raid_config: synchronous, 204; the RAID clean steps
build it later). An empty object clears it. A node whose RAID interface is
none (no-raid, or a driver without RAID) has no such resource: 404."""
from __future__ import annotations

import jsonschema
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import update

from taskvisor.api import openapi
from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import minor, node_locked, recorded_drivers
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.validation import json_body
from taskvisor.db.models import nodes
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE = 12
_LEVELS = ["JBOD", "0", "1", "2", "5", "6", "1+0", "5+0", "6+0"]
# Ironic's raid_config_schema.json, constraint for constraint
LOGICAL_DISK = {
    "type": "object", "required": ["raid_level", "size_gb"], "additionalProperties": False,
    "dependencies": {"physical_disks": ["controller"]},
    "properties": {
        "raid_level": {"type": "string", "enum": _LEVELS},
        "size_gb": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["MAX"]}]},
        "volume_name": {"type": "string"}, "is_root_volume": {"type": "boolean"},
        "share_physical_disks": {"type": "boolean"}, "disk_type": {"type": "string", "enum": ["hdd", "ssd"]},
        "interface_type": {"type": "string", "enum": ["sata", "scsi", "sas"]},
        "number_of_physical_disks": {"type": "integer", "exclusiveMinimum": 0},
        "controller": {"type": "string"},
        "physical_disks": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                     {"type": "array", "items": {"type": "object"}, "minItems": 2}]}}}
RAID_SCHEMA = {"type": "object", "required": ["logical_disks"], "additionalProperties": False,
               "properties": {"logical_disks": {"type": "array", "items": LOGICAL_DISK, "minItems": 1}}}


def check_config(config) -> None:
    """Ironic's validation: the schema, then at most one root volume."""
    if not isinstance(config, dict):
        raise BadRequest(f"Invalid input for field/attribute target_raid_config. Value: {str(config)[:64]}. "
                         "Wrong type. Expected 'dict'")
    if not config:
        return
    try:
        jsonschema.validate(config, RAID_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise BadRequest(f"RAID config validation error: {exc.message}") from None
    roots = [d for d in config["logical_disks"] if d.get("is_root_volume")]
    if len(roots) > 1:
        raise BadRequest(f"Raid config cannot have more than one root volume. {len(roots)} root volumes were "
                         "specified")


def _has_raid(request: Request, node: dict) -> bool:
    if (node.get("interfaces") or {}).get("raid") == "no-raid":
        return False
    return (recorded_drivers(request).get(node["driver"]) or {}).get("raid_logical_disk_properties") is not None


@router.put("/v1/nodes/{ident}/states/raid", status_code=204, openapi_extra=openapi.body({
    "type": "object", "properties": {"logical_disks": {"type": "array", "items": {"type": "object"}}}}))
def set_raid_config(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                    body=Depends(json_body)):
    node = node_for(request, ctx, ident, "baremetal:node:set_raid_state")
    if minor(ctx) < SINCE:
        raise ApiError(406, "Request not acceptable.")
    check_config(body)
    if not _has_raid(request, node):
        raise NotFound(f"Driver {node['driver']} does not support raid (disabled or not implemented).")
    with request.app.state.tv.db.write() as conn:
        done = conn.execute(update(nodes).where(nodes.c.id == node["id"], nodes.c.task_id.is_(None))
                            .values(target_raid_config=body or None, updated_at=utcnow())).rowcount
    if not done:
        raise node_locked(request, node)
    return Response(status_code=204)
