"""A node's BIOS settings (1.40+), as its conductor last cached them in
bios_settings (after every BIOS step): GET /v1/nodes/{id}/bios and
/bios/{name}. From 1.74 a list takes ``detail`` or ``fields`` and a setting
shows its registry fields. Below 1.40 the resource does not exist (404)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import _bool, base_url, minor
from taskvisor.api.baremetal.views import iso_utc, links
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.db.models import bios_settings

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE, QUERY_SINCE = 40, 74
DEFAULT_FIELDS = ("name", "value")
REGISTRY_FIELDS = ("name", "value", "attribute_type", "allowable_values", "lower_bound", "max_length", "min_length",
                   "read_only", "reset_required", "unique", "upper_bound")
_ALL = (*REGISTRY_FIELDS, "created_at", "updated_at", "links")


def _node(request: Request, ctx: RequestContext, ident: str) -> dict:
    if minor(ctx) < SINCE:
        raise NotFound("The resource could not be found.")
    return node_for(request, ctx, ident, "baremetal:node:bios:get")


def _render(request: Request, ident: str, row: dict, fields) -> dict:
    out = {"created_at": iso_utc(row["created_at"]), "updated_at": iso_utc(row["updated_at"])}
    out.update({name: row[name] for name in fields if name in REGISTRY_FIELDS})
    out["links"] = links(base_url(request), ident, f"/bios/{row['name']}")
    return out


def _fields(ctx: RequestContext, fields: str | None, detail: str | None) -> tuple[str, ...]:
    if (fields is not None or detail is not None) and minor(ctx) < QUERY_SINCE:
        raise BadRequest(f"Invalid query parameter ?{'detail' if detail is not None else 'fields'} received.")
    if fields is not None and detail is not None:
        raise BadRequest("Can not specify ?detail=True and fields in the same request.")
    if detail is not None and _bool("detail", detail):
        return REGISTRY_FIELDS
    if fields is None:
        return DEFAULT_FIELDS
    names = tuple(f.strip() for f in fields.split(",") if f.strip())
    for name in names:
        if name not in _ALL:
            raise BadRequest(f"Field {name[:64]} is not a valid field.")
    return names


@router.get("/v1/nodes/{ident}/bios")
def list_bios_settings(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                       fields: str | None = None, detail: str | None = None):
    node = _node(request, ctx, ident)
    wanted = _fields(ctx, fields, detail)
    with request.app.state.tv.db.read() as conn:
        rows = conn.execute(select(bios_settings).where(bios_settings.c.node_id == node["id"])
                            .order_by(bios_settings.c.name)).mappings().all()
    return {"bios": [_render(request, ident, dict(r), wanted) for r in rows]}


@router.get("/v1/nodes/{ident}/bios/{setting_name}")
def show_bios_setting(ident: str, setting_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = _node(request, ctx, ident)
    with request.app.state.tv.db.read() as conn:
        row = conn.execute(select(bios_settings).where(bios_settings.c.node_id == node["id"],
                                                       bios_settings.c.name == setting_name)).mappings().first()
    if row is None:
        raise NotFound(f"Node {node['id']} doesn't have a BIOS setting '{setting_name[:255]}'")
    wanted = REGISTRY_FIELDS if minor(ctx) >= QUERY_SINCE else DEFAULT_FIELDS
    return {setting_name: _render(request, node["id"], dict(row), wanted)}
