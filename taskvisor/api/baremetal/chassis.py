"""Chassis: create, list, detail, show, JSON-patch, delete (Ironic's
chassis controller's shapes and codes; a chassis has only a description
and ``extra``)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update

from taskvisor.api import openapi
from taskvisor.api.baremetal import nodes as node_api
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal.nodes import PATCH_BODY, _apply, base_url, is_uuid
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import json_body
from taskvisor.db.models import chassis, nodes
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
PATCHABLE = ("description", "extra")
OBJECTS = ("extra",)


def _links(base: str, chassis_id: str, sub: str = "") -> list[dict]:
    path = f"chassis/{chassis_id}{sub}"
    return [{"href": f"{base}/v1/{path}", "rel": "self"}, {"href": f"{base}/{path}", "rel": "bookmark"}]


def render(row: dict, base: str, detail: bool = True) -> dict:
    out = {"uuid": row["id"], "description": row["description"], "links": _links(base, row["id"])}
    if detail:
        out.update(extra=row["extra"], created_at=views.iso_utc(row["created_at"]),
                   updated_at=views.iso_utc(row["updated_at"]), nodes=_links(base, row["id"], "/nodes"))
    return out


CHASSIS_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "uuid": {"type": "string", "format": "uuid"}, "description": {"type": ["string", "null"], "maxLength": 255},
    "extra": {"type": ["object", "null"]}}}


def _check(values: dict) -> dict:
    unknown = set(values) - {"uuid", "description", "extra"}
    if unknown:
        raise BadRequest(f"Unknown attribute for argument chassis: {', '.join(sorted(unknown))}")
    desc = values.get("description")
    if desc is not None and (not isinstance(desc, str) or len(desc) > 255):
        raise BadRequest("Invalid input for field/attribute description. Expected a string of at most "
                         "255 characters")
    extra = values.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise BadRequest(f"Invalid input for field/attribute extra. Value: {extra!r}. Wrong type. "
                         "Expected 'dict'")
    if "uuid" in values and not (isinstance(values["uuid"], str) and is_uuid(values["uuid"])):
        raise BadRequest(f"Expected a UUID for uuid: {values['uuid']!r}")
    return values


def load(conn, ident: str) -> dict:
    row = None
    if is_uuid(ident):
        row = conn.execute(select(chassis).where(chassis.c.id == str(uuid.UUID(ident)))).mappings().first()
    if row is None:
        raise NotFound(f"Chassis {ident[:64]} could not be found.")
    return dict(row)


@router.post("/v1/chassis", status_code=201, openapi_extra=openapi.body(CHASSIS_BODY))
def create_chassis(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                   body=Depends(json_body)):
    authorize(ctx, "baremetal:chassis:create", {})
    if not isinstance(body, dict):
        raise BadRequest("Invalid chassis: expected a JSON object")
    values = _check(dict(body))
    now = utcnow()
    row = {"id": str(uuid.UUID(values["uuid"])) if "uuid" in values else str(uuid.uuid4()),
           "description": values.get("description"), "extra": values.get("extra") or {},
           "created_at": now, "updated_at": None}
    with request.app.state.tv.db.write() as conn:
        if conn.execute(select(chassis.c.id).where(chassis.c.id == row["id"])).first():
            raise Conflict(f"Chassis with UUID {row['id']} already exists.")
        conn.execute(insert(chassis).values(**row))
    base = base_url(request)
    response.headers["Location"] = f"{base}/v1/chassis/{row['id']}"
    return render(row, base)


def _list(request: Request, ctx: RequestContext, detail: bool, limit: int | None, marker: str | None):
    authorize(ctx, "baremetal:chassis:get", {})
    query = select(chassis).order_by(chassis.c.created_at, chassis.c.id)
    with request.app.state.tv.db.read() as conn:
        if marker is not None:
            mark = load(conn, marker)
            query = query.where((chassis.c.created_at > mark["created_at"]) |
                                ((chassis.c.created_at == mark["created_at"]) & (chassis.c.id > mark["id"])))
        if limit is not None:
            if limit < 0:
                raise BadRequest(f"Limit must be positive: {limit}")
            query = query.limit(limit or None)
        rows = [dict(r) for r in conn.execute(query).mappings()]
    base = base_url(request)
    out = {"chassis": [render(r, base, detail) for r in rows]}
    if limit and len(rows) == limit:
        out["next"] = f"{base}/v1/chassis{'/detail' if detail else ''}?limit={limit}&marker={rows[-1]['id']}"
    return out


@router.get("/v1/chassis")
def list_chassis(request: Request, ctx: RequestContext = Depends(get_context), limit: int | None = None,
                 marker: str | None = None):
    return _list(request, ctx, False, limit, marker)


@router.get("/v1/chassis/detail")
def list_chassis_detail(request: Request, ctx: RequestContext = Depends(get_context), limit: int | None = None,
                        marker: str | None = None):
    return _list(request, ctx, True, limit, marker)


@router.get("/v1/chassis/{ident}")
def show_chassis(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "baremetal:chassis:get", {})
    with request.app.state.tv.db.read() as conn:
        return render(load(conn, ident), base_url(request))


@router.patch("/v1/chassis/{ident}", openapi_extra=openapi.body(PATCH_BODY))
def patch_chassis(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                  patch=Depends(json_body)):
    authorize(ctx, "baremetal:chassis:update", {})
    if not isinstance(patch, list):
        raise BadRequest("Invalid patch: expected a JSON list of operations")
    with request.app.state.tv.db.write() as conn:
        row = load(conn, ident)
        document = {"description": row["description"], "extra": row["extra"]}
        for op in patch:
            document = _apply(document, op, ctx, PATCHABLE, OBJECTS)
        _check(document)
        row.update(description=document["description"], extra=document["extra"] or {}, updated_at=utcnow())
        conn.execute(update(chassis).where(chassis.c.id == row["id"]).values(
            description=row["description"], extra=row["extra"], updated_at=row["updated_at"]))
    return render(row, base_url(request))


@router.delete("/v1/chassis/{ident}", status_code=204)
def delete_chassis(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "baremetal:chassis:delete", {})
    with request.app.state.tv.db.write() as conn:
        row = load(conn, ident)
        if conn.execute(select(nodes.c.id).where(nodes.c.chassis_id == row["id"]).limit(1)).first():
            raise BadRequest(f"Cannot complete the requested action because chassis {row['id']} contains nodes.")
        conn.execute(delete(chassis).where(chassis.c.id == row["id"]))
    return Response(status_code=204)


# A chassis' nodes: Ironic's node list (its policy, fields and filters) for one chassis.
@router.get("/v1/chassis/{chassis_id}/nodes")
def list_chassis_nodes(chassis_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                       fields: str | None = None, limit: int | None = None, marker: str | None = None,
                       provision_state: str | None = None, maintenance: str | None = None,
                       associated: str | None = None, sort_dir: str = "asc"):
    # node_chassis.filter_nodes reads the chassis from the path
    return node_api._list(request, ctx, False, fields, limit, marker, provision_state, maintenance, None, None,
                          associated, None, sort_dir)


@router.get("/v1/chassis/{chassis_id}/nodes/detail")
def list_chassis_nodes_detail(chassis_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                              limit: int | None = None, marker: str | None = None,
                              provision_state: str | None = None, maintenance: str | None = None,
                              associated: str | None = None, sort_dir: str = "asc"):
    return node_api._list(request, ctx, True, None, limit, marker, provision_state, maintenance, None, None,
                          associated, None, sort_dir)
