"""Flavors: list, detail, show, admin create/delete, extra specs."""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api import openapi
from taskvisor.api.compute.views import flavor_view
from taskvisor.api.policy import authorize
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.validation import NAME, json_body, page_limit, strict_query, validate
from taskvisor.db import direct
from taskvisor.db.models import flavor_projects, flavors
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/compute/v2.1")

MAX_INT = 2 ** 31 - 1  # Nova's bound on flavor figures (a database integer)
CREATE_SCHEMA = {
    "type": "object", "required": ["flavor"], "additionalProperties": False,
    "properties": {"flavor": {
        "type": "object", "required": ["name", "ram", "vcpus", "disk"], "additionalProperties": False,
        "properties": {
            "name": NAME, "id": {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
                                 "pattern": "^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
            "ram": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": MAX_INT, "maxLength": 10},
            "vcpus": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": MAX_INT, "maxLength": 10},
            "disk": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0, "maximum": MAX_INT, "maxLength": 10},
            "OS-FLV-EXT-DATA:ephemeral": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0, "maximum": MAX_INT, "maxLength": 10},
            "swap": {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "maximum": MAX_INT, "maxLength": 10},
            "rxtx_factor": {"type": ["number", "string"], "minimum": 0, "maximum": 3.40282e+38,
                            "pattern": "^[0-9]{1,20}(\\.[0-9]{1,20})?$"},
            "os-flavor-access:is_public": {"type": ["boolean", "string"], "enum": [
                True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]},
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


def _get(conn, flavor_id: str, ctx: RequestContext | None = None) -> dict:
    """The flavor (for a non-admin ``ctx``: only one it may see)."""
    row = (visible_flavor(conn, ctx, flavor_id) if ctx is not None
           else conn.execute(_FLAVOR, {"flavor_id": flavor_id}).mappings().first())
    if row is None:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return dict(row)


TRUE_WORDS = ("true", "1", "yes", "on", "y", "t")
FALSE_WORDS = ("false", "0", "no", "off", "n", "f")
# Nova's sort keys (its column names) -> ours; keys with no column of their own sort by id
SORT_KEYS = {"flavorid": "id", "id": "id", "name": "name", "memory_mb": "ram", "vcpus": "vcpus", "root_gb": "disk",
             "ephemeral_gb": "ephemeral", "swap": "swap", "rxtx_factor": "rxtx_factor", "is_public": "is_public",
             "description": "description", "created_at": "created_at", "updated_at": "created_at",
             "disabled": "id", "vcpu_weight": "id"}


def _is_public_filter(ctx: RequestContext, value: str | None):
    """Nova: only an admin chooses (default public only; "None" = all); others
    see the public flavors and the private ones shared with their project."""
    if not ctx.is_admin or value is None:
        return True
    if value.lower() == "none":
        return None
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise BadRequest(f"Invalid is_public filter [{value}]")


def _shared_with(project_id):
    return flavors.c.id.in_(select(flavor_projects.c.flavor_id).where(flavor_projects.c.project_id == project_id))


def _min_filter(params, name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        raise BadRequest(f"Invalid {name} filter [{text[:64]}]")
    return int(text)


def _list(request: Request, ctx: RequestContext, detail: bool) -> dict:
    params = request.query_params
    strict_query(params, ctx, ("limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"))
    query = select(flavors)
    is_public = _is_public_filter(ctx, params.get("is_public"))
    if is_public is True:
        query = query.where(or_(flavors.c.is_public.is_(True), _shared_with(ctx.project_id)))
    elif is_public is False:
        query = query.where(flavors.c.is_public.is_(False))
    min_ram, min_disk = _min_filter(params, "minRam"), _min_filter(params, "minDisk")
    if min_ram is not None:
        query = query.where(flavors.c.ram >= min_ram)
    if min_disk is not None:
        query = query.where(flavors.c.disk >= min_disk)
    sort_key, sort_dir = params.get("sort_key", "flavorid"), params.get("sort_dir", "asc")
    if sort_key not in SORT_KEYS or sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for query parameters sort_key or sort_dir: {sort_key[:32]} {sort_dir[:8]}")
    column = flavors.c[SORT_KEYS[sort_key]]
    query = query.order_by(column.desc() if sort_dir == "desc" else column.asc(), flavors.c.id)
    limit, marker = page_limit(params, request.app.state.tv.conf.api.max_limit), params.get("marker")
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]  # flavors are few: page here
    if marker is not None:
        ids = [r["id"] for r in rows]
        if marker not in ids:
            raise BadRequest(f"marker [{marker[:64]}] not found")
        rows = rows[ids.index(marker) + 1:]
    rows = rows[:limit]
    base = base_url(request)
    out: dict = {"flavors": [flavor_view(r, ctx, base, detail) for r in rows]}
    if rows and len(rows) == limit:
        args = [(k, v) for k, v in params.multi_items() if k not in ("marker", "limit")]
        args += [("limit", str(limit)), ("marker", rows[-1]["id"])]
        path = "flavors/detail" if detail else "flavors"
        out["flavors_links"] = [{"rel": "next", "href": f"{base}/compute/v2.1/{path}?{urlencode(args)}"}]
    return out


LIST_QUERY = openapi.query(openapi.LIMIT, openapi.MARKER, ("is_public", openapi.STRING), ("minRam", openapi.STRING),
                           ("minDisk", openapi.STRING), ("sort_key", openapi.STRING), ("sort_dir", openapi.STRING))


@router.get("/flavors", openapi_extra=LIST_QUERY)
def list_flavors(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:flavors:index")
    return _list(request, ctx, detail=False)


@router.get("/flavors/detail", openapi_extra=LIST_QUERY)
def list_flavors_detail(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:flavors:index")
    return _list(request, ctx, detail=True)


@router.get("/flavors/{flavor_id}")
def show_flavor(flavor_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:flavors:show")
    with request.app.state.tv.db.read() as conn:
        return {"flavor": flavor_view(_get(conn, flavor_id, ctx), ctx, base_url(request))}


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
        flavor_id = str(spec["id"]) if spec.get("id") is not None else None
        if isinstance(spec.get("id"), float) and spec["id"].is_integer():
            flavor_id = str(int(spec["id"]))
        if not flavor_id:  # Nova generates a UUID
            flavor_id = str(uuid.uuid4())
        row = {"id": flavor_id, "name": spec["name"], "ram": int(spec["ram"]), "vcpus": int(spec["vcpus"]),
               "disk": int(spec["disk"]), "ephemeral": int(spec.get("OS-FLV-EXT-DATA:ephemeral", 0)),
               "swap": int(spec.get("swap") or 0), "rxtx_factor": float(spec.get("rxtx_factor", 1.0)),
               "is_public": str(spec.get("os-flavor-access:is_public", True)).lower() in TRUE_WORDS,
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
        conn.execute(delete(flavor_projects).where(flavor_projects.c.flavor_id == flavor_id))
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


# -- nova-quotas: flavor description update (2.55), one extra spec, flavor access -------------
UPDATE_SCHEMA = {"type": "object", "required": ["flavor"], "additionalProperties": False, "properties": {
    "flavor": {"type": "object", "required": ["description"], "additionalProperties": False,
               "properties": {"description": {"type": ["string", "null"], "maxLength": 65535}}}}}
ONE_SPEC_SCHEMA = {"type": "object", "minProperties": 1,
                   "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}}
ACCESS_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
                 "properties": {name: {"type": "object", "required": ["tenant"], "additionalProperties": False,
                                       "properties": {"tenant": {"type": "string", "minLength": 1,
                                                                 "maxLength": 255}}}
                                for name in ("addTenantAccess", "removeTenantAccess")}}


@router.put("/flavors/{flavor_id}", openapi_extra=openapi.body(UPDATE_SCHEMA))
def update_flavor(flavor_id: str, request: Request, body=Depends(json_body),
                  ctx: RequestContext = Depends(get_context)):
    if not ctx.at_least("2.55"):
        raise NotFound("The resource could not be found.")
    authorize(ctx, "os_compute_api:os-flavor-manage:update")
    description = validate(body, UPDATE_SCHEMA)["flavor"]["description"]
    with request.app.state.tv.db.write() as conn:
        row = _get(conn, flavor_id)
        conn.execute(update(flavors).where(flavors.c.id == flavor_id).values(description=description))
    row["description"] = description
    return {"flavor": flavor_view(row, ctx, base_url(request))}


@router.get("/flavors/{flavor_id}/os-extra_specs/{key}")
def show_extra_spec(flavor_id: str, key: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-extra-specs:show")
    with request.app.state.tv.db.read() as conn:
        specs = _get(conn, flavor_id, ctx)["extra_specs"] or {}
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return {key: specs[key]}


@router.put("/flavors/{flavor_id}/os-extra_specs/{key}", openapi_extra=openapi.body(ONE_SPEC_SCHEMA))
def update_extra_spec(flavor_id: str, key: str, request: Request, body=Depends(json_body),
                      ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-extra-specs:update")
    spec = validate(body, ONE_SPEC_SCHEMA)
    if key not in spec:
        raise BadRequest("Request body and URI mismatch")
    if len(spec) > 1:
        raise BadRequest("Request body contains too many items")
    value = str(spec[key])
    with request.app.state.tv.db.write() as conn:
        merged = {**(_get(conn, flavor_id)["extra_specs"] or {}), key: value}
        conn.execute(update(flavors).where(flavors.c.id == flavor_id).values(extra_specs=merged))
    return {key: value}


def _access(conn, flavor_id: str) -> dict:
    projects = conn.execute(select(flavor_projects.c.project_id).where(flavor_projects.c.flavor_id == flavor_id)
                            .order_by(flavor_projects.c.project_id)).scalars().all()
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": p} for p in projects]}


@router.get("/flavors/{flavor_id}/os-flavor-access")
def list_flavor_access(flavor_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-flavor-access")
    with request.app.state.tv.db.read() as conn:
        if _get(conn, flavor_id)["is_public"]:
            raise NotFound("Access list not available for public flavors.")
        return _access(conn, flavor_id)


@router.post("/flavors/{flavor_id}/action", openapi_extra=openapi.body(ACCESS_SCHEMA))
def flavor_action(flavor_id: str, request: Request, body=Depends(json_body),
                  ctx: RequestContext = Depends(get_context)):
    add = isinstance(body, dict) and "addTenantAccess" in body
    authorize(ctx, "os_compute_api:os-flavor-access:" + ("add_tenant_access" if add else "remove_tenant_access"))
    spec = validate(body, ACCESS_SCHEMA)
    tenant = (spec.get("addTenantAccess") or spec.get("removeTenantAccess"))["tenant"]
    with request.app.state.tv.db.write() as conn:
        flavor = _get(conn, flavor_id)
        key = (flavor_projects.c.flavor_id == flavor_id) & (flavor_projects.c.project_id == tenant)
        present = conn.execute(select(flavor_projects.c.project_id).where(key)).first() is not None
        if add:
            if flavor["is_public"] and ctx.at_least("2.7"):
                raise Conflict("Can not add access to a public flavor.")
            if present:
                raise Conflict(f"Flavor access already exists for flavor {flavor_id} and project {tenant} "
                               "combination.")
            conn.execute(insert(flavor_projects).values(flavor_id=flavor_id, project_id=tenant))
        else:
            if not present:
                raise NotFound(f"Flavor access not found for {flavor_id} / {tenant} combination.")
            conn.execute(delete(flavor_projects).where(key))
        return _access(conn, flavor_id)


# what every server create reads, built once (SQLAlchemy caches by statement)
_FLAVOR = select(flavors).where(flavors.c.id == bindparam("flavor_id"))
_PROJECT_FLAVOR = _FLAVOR.where(or_(flavors.c.is_public.is_(True), _shared_with(bindparam("project_id"))))


def visible_flavor(conn, ctx: RequestContext, flavor_id: str) -> dict | None:
    """The flavor a server create may use: public, shared with the caller's project, or any for an admin."""
    if ctx.is_admin:
        return direct.mapping(conn, _FLAVOR, {"flavor_id": flavor_id})
    return direct.mapping(conn, _PROJECT_FLAVOR, {"flavor_id": flavor_id, "project_id": ctx.project_id})
