"""Volume connectors (Ironic 1.32+): how a node reaches its storage (an
iSCSI IQN, a WWPN, a MAC…). Unique by type and connector_id."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from taskvisor.api import openapi
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal import volume_records as records
from taskvisor.api.baremetal.nodes import PATCH_BODY
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import Conflict
from taskvisor.api.validation import json_body
from taskvisor.db.models import volume_connectors

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes

BODY = {"type": "object", "required": ["connector_id", "node_uuid", "type"], "additionalProperties": False,
        "properties": {"connector_id": {"type": "string"}, "extra": {"type": ["object", "null"]},
                       "node_uuid": {"type": "string"}, "type": {"type": "string"},
                       "uuid": {"type": ["string", "null"]}}}


def _render(row: dict, base: str, ctx: RequestContext) -> dict:
    return {"uuid": row["id"], "type": row["type"], "connector_id": row["connector_id"],
            "node_uuid": row["node_id"], "extra": row["extra"] or {},
            "created_at": views.iso_utc(row["created_at"]), "updated_at": views.iso_utc(row["updated_at"]),
            "links": records.links(base, KIND, row["id"])}


def _duplicate(conn, row: dict, exclude: str | None) -> Conflict | None:
    table = volume_connectors
    if exclude is None and conn.execute(select(table.c.id).where(table.c.id == row["id"])).first():
        return Conflict(f"A volume connector with UUID {row['id']} already exists.")
    query = select(table.c.id).where(table.c.type == row["type"], table.c.connector_id == row["connector_id"])
    if exclude is not None:
        query = query.where(table.c.id != exclude)
    if conn.execute(query).first():
        return Conflict(f"A volume connector with type {row['type']} and connector ID {row['connector_id']} "
                        "already exists.")
    return None


KIND = records.Kind(
    table=volume_connectors, name="connector", label="volume connector", collection="connectors",
    schema={"connector_id": ("string", False), "extra": ("object", True), "node_uuid": ("string", False),
            "type": ("string", False), "uuid": ("string", True)},
    required=("connector_id", "node_uuid", "type"), objects=("extra",),
    defaults=["uuid", "node_uuid", "type", "connector_id"], unsortable=("extra",),
    render=_render, duplicate=_duplicate)

C = "/v1/volume/connectors"


@router.post(C, status_code=201, openapi_extra=openapi.body(BODY))
def create_connector(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                     body=Depends(json_body)):
    return records.create(KIND, request, response, ctx, body)


@router.get(C)
def list_connectors(request: Request, ctx: RequestContext = Depends(get_context), node: str | None = None,
                    fields: str | None = None, detail: str | None = None, limit: int | None = None,
                    marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return records.list_(KIND, request, ctx, node=node, fields=fields, detail=detail, limit=limit, marker=marker,
                         sort_key=sort_key, sort_dir=sort_dir)


@router.get("/v1/nodes/{node_ident}/volume/connectors")
def list_node_connectors(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                         fields: str | None = None, detail: str | None = None, limit: int | None = None,
                         marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return records.list_(KIND, request, ctx, parent=node_ident, fields=fields, detail=detail, limit=limit,
                         marker=marker, sort_key=sort_key, sort_dir=sort_dir)


@router.get(C + "/{connector_id}")
def show_connector(connector_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                   fields: str | None = None):
    return records.show(KIND, connector_id, request, ctx, fields)


@router.patch(C + "/{connector_id}", openapi_extra=openapi.body(PATCH_BODY))
def patch_connector(connector_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                    patch=Depends(json_body)):
    return records.patch_(KIND, connector_id, request, ctx, patch)


@router.delete(C + "/{connector_id}", status_code=204)
def delete_connector(connector_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    return records.delete_(KIND, connector_id, request, ctx)
