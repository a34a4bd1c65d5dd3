"""Volume targets (Ironic 1.32+): the volumes a node boots from or uses,
unique by node and boot_index. Their properties (which may hold iSCSI
credentials) are masked, and redacted for callers without
``baremetal:volume:view_target_properties``."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from oslo_utils import strutils
from sqlalchemy import select

from taskvisor.api import openapi
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal import port_common as pc
from taskvisor.api.baremetal import volume_records as records
from taskvisor.api.baremetal.nodes import PATCH_BODY
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import Conflict
from taskvisor.api.policy import allowed
from taskvisor.api.validation import json_body
from taskvisor.db.models import volume_targets

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes

BODY = {"type": "object", "required": ["boot_index", "node_uuid", "volume_id", "volume_type"],
        "additionalProperties": False,
        "properties": {"boot_index": {"type": "integer"}, "extra": {"type": ["object", "null"]},
                       "node_uuid": {"type": "string"}, "properties": {"type": ["object", "null"]},
                       "volume_id": {"type": "string"}, "volume_type": {"type": "string"},
                       "uuid": {"type": ["string", "null"]}}}
REDACTED = {"redacted_contents": "** Value redacted: Requires permission baremetal:volume:view_target_properties "
                                 "access. Permission denied. **"}


def _properties(row: dict, ctx: RequestContext) -> dict:
    if not allowed(ctx, "baremetal:volume:view_target_properties", pc.target(None)):
        return dict(REDACTED)
    return strutils.mask_dict_password(row["properties"] or {}, "******")


def _render(row: dict, base: str, ctx: RequestContext) -> dict:
    return {"uuid": row["id"], "volume_type": row["volume_type"], "properties": _properties(row, ctx),
            "boot_index": row["boot_index"], "volume_id": row["volume_id"], "node_uuid": row["node_id"],
            "extra": row["extra"] or {}, "created_at": views.iso_utc(row["created_at"]),
            "updated_at": views.iso_utc(row["updated_at"]), "links": records.links(base, KIND, row["id"])}


def _duplicate(conn, row: dict, exclude: str | None) -> Conflict | None:
    table = volume_targets
    if exclude is None and conn.execute(select(table.c.id).where(table.c.id == row["id"])).first():
        return Conflict(f"A volume target with UUID {row['id']} already exists.")
    query = select(table.c.id).where(table.c.node_id == row["node_id"], table.c.boot_index == row["boot_index"])
    if exclude is not None:
        query = query.where(table.c.id != exclude)
    if conn.execute(query).first():
        return Conflict(f"A volume target with boot index '{row['boot_index']}' for the same node already exists.")
    return None


KIND = records.Kind(
    table=volume_targets, name="target", label="volume target", collection="targets",
    schema={"boot_index": ("integer", False), "extra": ("object", True), "node_uuid": ("string", False),
            "properties": ("object", True), "volume_id": ("string", False), "volume_type": ("string", False),
            "uuid": ("string", True)},
    required=("boot_index", "node_uuid", "volume_id", "volume_type"), objects=("extra", "properties"),
    defaults=["uuid", "node_uuid", "volume_type", "boot_index", "volume_id"], unsortable=("extra", "properties"),
    render=_render, duplicate=_duplicate)

T = "/v1/volume/targets"


@router.post(T, status_code=201, openapi_extra=openapi.body(BODY))
def create_target(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                  body=Depends(json_body)):
    return records.create(KIND, request, response, ctx, body)


@router.get(T)
def list_targets(request: Request, ctx: RequestContext = Depends(get_context), node: str | None = None,
                 fields: str | None = None, detail: str | None = None, limit: int | None = None,
                 marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return records.list_(KIND, request, ctx, node=node, fields=fields, detail=detail, limit=limit, marker=marker,
                         sort_key=sort_key, sort_dir=sort_dir)


@router.get("/v1/nodes/{node_ident}/volume/targets")
def list_node_targets(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                      fields: str | None = None, detail: str | None = None, limit: int | None = None,
                      marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return records.list_(KIND, request, ctx, parent=node_ident, fields=fields, detail=detail, limit=limit,
                         marker=marker, sort_key=sort_key, sort_dir=sort_dir)


@router.get(T + "/{target_id}")
def show_target(target_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                fields: str | None = None):
    return records.show(KIND, target_id, request, ctx, fields)


@router.patch(T + "/{target_id}", openapi_extra=openapi.body(PATCH_BODY))
def patch_target(target_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                 patch=Depends(json_body)):
    return records.patch_(KIND, target_id, request, ctx, patch)


@router.delete(T + "/{target_id}", status_code=204)
def delete_target(target_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    return records.delete_(KIND, target_id, request, ctx)
