"""Flavors: list, detail, show, admin create/delete, extra specs."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api import openapi
from taskvisor.api.compute.views import flavor_view
from taskvisor.api.policy import authorize
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.validation import NAME, json_body, validate
from taskvisor.db.models import flavors
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/compute/v2.1")

MAX_INT = 2 ** 31 - 1  # Nova's bound on flavor figures (a database integer)
CREATE_SCHEMA = {
    "type": "object", "required": ["flavor"], "additionalProperties": False,
    "properties": {"flavor": {
        "type": "object", "required": ["name", "ram", "vcpus", "disk"], "additionalProperties": False,
        "properties": {
            "name": NAME, "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
                                 "pattern": "^[a-zA-Z0-9_.\\- ]*$"},
            "ram": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": MAX_INT, "maxLength": 10},
            "vcpus": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": MAX_INT, "maxLength": 10},
            "disk": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0, "maximum": MAX_INT, "maxLength": 10},
            "OS-FLV-EXT-DATA:ephemeral": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0, "maximum": MAX_INT, "maxLength": 10},
            "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "maximum": MAX_INT, "maxLength": 10},
            "rxtx_factor": {"type": ["number", "string"], "minimum": 0, "maximum": 3.40282e+38,
                            "pattern": "^[0-9]{1,20}(\\.[0-9]{1,20})?$"},
            "os-flavor-access:is_public": {"type": "boolean"},
            "description": {"type": ["string", "null"], "maxLength": 65535},
        }}},
}
EXTRA_SPECS_SCHEMA = {
    "type": "object", "required": ["extra_specs"], "additionalProperties": False,
    "properties": {"extra_specs": {"type": "object", "additionalProperties": {"type": ["string", "integer",
                                                                                         "number", "boolean"]}}},
}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _get(conn, flavor_id: str) -> dict:
    row = conn.execute(select(flavors).where(flavors.c.id == flavor_id)).mappings().first()
    if row is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return dict(row)


def _list(request: Request, ctx: RequestContext, detail: bool) -> dict:
    params = request.query_params
    query = select(flavors).order_by(flavors.c.id)
    is_public = params.get("is_public", "True")
    if is_public.lower() in ("none", ""):  # clients send the literal None for "all"
        pass
    elif is_public.lower() in ("true", "1", "yes"):
        query = query.where(flavors.c.is_public.is_(True))
    elif is_public.lower() in ("false", "0", "no"):
        query = query.where(flavors.c.is_public.is_(False))
    else:
        raise BadRequest(f"Invalid is_public filter [{is_public}]")
    if params.get("minRam"):
        query = query.where(flavors.c.ram >= int(params["minRam"]))
    if params.get("minDisk"):
        query = query.where(flavors.c.disk >= int(params["minDisk"]))
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return {"flavors": [flavor_view(r, ctx, base_url(request), detail) for r in rows]}


@router.get("/flavors")
def list_flavors(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:flavors:index")
    return _list(request, ctx, detail=False)


@router.get("/flavors/detail")
def list_flavors_detail(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:flavors:index")
    return _list(request, ctx, detail=True)


@router.get("/flavors/{flavor_id}")
def show_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:flavors:show")
    with request.app.state.tv.db.read() as conn:
        return {"flavor": flavor_view(_get(conn, flavor_id), ctx, base_url(request))}


@router.post("/flavors", openapi_extra=openapi.body(CREATE_SCHEMA))
def create_flavor(request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-manage:create")
    spec = validate(body, CREATE_SCHEMA)["flavor"]
    for name in ("ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap"):
        if spec.get(name) not in (None, "") and int(spec[name]) > MAX_INT:
            raise BadRequest(f"Invalid input for field/attribute {name}. It must be at most {MAX_INT}.")
    if not spec["name"].strip():
        raise BadRequest("Invalid input for field/attribute name. The name may not be blank.")
    with request.app.state.tv.db.write() as conn:
        flavor_id = spec.get("id")
        if not flavor_id:
            numeric = [int(i) for (i,) in conn.execute(select(flavors.c.id)) if i.isdigit()]
            flavor_id = str(max(numeric, default=0) + 1)
        row = {"id": flavor_id, "name": spec["name"], "ram": int(spec["ram"]), "vcpus": int(spec["vcpus"]),
               "disk": int(spec["disk"]), "ephemeral": int(spec.get("OS-FLV-EXT-DATA:ephemeral", 0)),
               "swap": int(spec.get("swap") or 0), "rxtx_factor": float(spec.get("rxtx_factor", 1.0)),
               "is_public": spec.get("os-flavor-access:is_public", True),
               "description": spec.get("description"), "extra_specs": {}, "created_at": utcnow()}
        try:
            with conn.begin_nested():
                conn.execute(insert(flavors), row)
        except IntegrityError:
            raise Conflict(f"Flavor with name {spec['name']} or ID {flavor_id} already exists.") from None
    return {"flavor": flavor_view(row, ctx, base_url(request))}


@router.delete("/flavors/{flavor_id}", status_code=202)
def delete_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-manage:delete")
    with request.app.state.tv.db.write() as conn:
        _get(conn, flavor_id)
        conn.execute(delete(flavors).where(flavors.c.id == flavor_id))
    return Response(status_code=202)


@router.get("/flavors/{flavor_id}/os-extra_specs")
def list_extra_specs(flavor_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-extra-specs:index")
    with request.app.state.tv.db.read() as conn:
        return {"extra_specs": _get(conn, flavor_id)["extra_specs"] or {}}


@router.post("/flavors/{flavor_id}/os-extra_specs", openapi_extra=openapi.body(EXTRA_SPECS_SCHEMA))
def set_extra_specs(flavor_id: str, request: Request, body=Depends(json_body),
                    ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-extra-specs:create")
    specs = {k: str(v) for k, v in validate(body, EXTRA_SPECS_SCHEMA)["extra_specs"].items()}
    with request.app.state.tv.db.write() as conn:
        merged = {**(_get(conn, flavor_id)["extra_specs"] or {}), **specs}
        conn.execute(update(flavors).where(flavors.c.id == flavor_id).values(extra_specs=merged))
    return {"extra_specs": specs}


@router.delete("/flavors/{flavor_id}/os-extra_specs/{key}")
def delete_extra_spec(flavor_id: str, key: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-extra-specs:delete")
    with request.app.state.tv.db.write() as conn:
        specs = dict(_get(conn, flavor_id)["extra_specs"] or {})
        if key not in specs:
            raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
        specs.pop(key)
        conn.execute(update(flavors).where(flavors.c.id == flavor_id).values(extra_specs=specs))
    return Response(status_code=200)
