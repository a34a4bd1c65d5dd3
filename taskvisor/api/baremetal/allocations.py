"""Allocations (1.52+): a request for one node of a resource class (with
traits, among candidates, for an owner), Ironic's shapes, gates and errors.

Creating one records it ``allocating`` and queues its task (flow
``bm_allocate``), which picks and reserves a node; a node already deployed
is backfilled at once (1.58+, no task: a record-only change). Deleting one
frees its node's ``instance_uuid``, except while the node is deployed.
"""
from __future__ import annotations

import re
import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api.baremetal.paging import check_sort_dir, page_limit
from taskvisor.api import openapi
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal.nodes import _apply, authorize_node, base_url, is_uuid, load_node, minor, node_locked
from taskvisor.api.baremetal.secrets import node_target
from taskvisor.api.baremetal.traits import check_trait, traits_of
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from taskvisor.api.policy import allowed, authorize
from taskvisor.api.task_start import TASK_HEADER
from taskvisor.api.validation import json_body
from taskvisor.db.models import allocations, nodes
from taskvisor.db.session import utcnow
from taskvisor.policies.base import NO_PROJECT
from taskvisor.states import node as node_states
from taskvisor.tasks.store import insert_task, new_task_row

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
ALLOCATING, ACTIVE, ERROR = "allocating", "active", "error"
_NAME = re.compile(r"^[A-Za-z0-9\-._~]{1,255}$")
# Ironic's UPDATE_ALLOWED_STATES that this node machine has
UPDATE_ALLOWED = (node_states.DEPLOYFAIL, node_states.CLEANFAIL, node_states.ERROR, node_states.VERIFYING)
FIELDS = ("candidate_nodes", "created_at", "extra", "last_error", "links", "name", "node_uuid", "owner",
          "resource_class", "state", "traits", "updated_at", "uuid")
NOT_ALLOWED = "The API version does not allow allocations"
_405 = {405: {"description": "Allocations need microversion 1.52 (PATCH 1.57)"}}

ALLOCATION_BODY = {"type": "object", "additionalProperties": False, "properties": {
    "candidate_nodes": {"type": ["array", "null"], "items": {"type": "string"}},
    "extra": {"type": ["object", "null"]}, "name": {"type": ["string", "null"]},
    "node": {"type": ["string", "null"]}, "owner": {"type": ["string", "null"], "maxLength": 255},
    "resource_class": {"type": ["string", "null"], "maxLength": 80},
    "traits": {"type": ["array", "null"], "items": {"type": "string"}},
    "uuid": {"type": ["string", "null"]}}}
PATCH_BODY = {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["op", "path"], "properties": {
    "op": {"enum": ["add", "replace", "remove"]}, "path": {"type": "string", "pattern": "^/"}, "value": {}}}}


def target(row: dict) -> dict:
    owner = row.get("owner") or NO_PROJECT
    return {"allocation.owner": owner, "project_id": owner}


def render(row: dict, m: int, base: str, fields: list[str] | None = None) -> dict:
    out = {"uuid": row["id"], "name": row["name"], "node_uuid": row["node_id"], "state": row["state"],
           "last_error": row["last_error"], "resource_class": row["resource_class"],
           "traits": list(row["traits"] or []), "candidate_nodes": list(row["candidate_nodes"] or []),
           "extra": row["extra"] or {}, "owner": row["owner"], "created_at": views.iso_utc(row["created_at"]),
           "updated_at": views.iso_utc(row["updated_at"]),
           "links": [{"href": f"{base}/v1/allocations/{row['id']}", "rel": "self"},
                     {"href": f"{base}/allocations/{row['id']}", "rel": "bookmark"}]}
    if m < 60:
        out.pop("owner")
    if fields is not None:
        out = {k: v for k, v in out.items() if k in fields or k == "links"}
    return out


def _gate(ctx: RequestContext, status: int = 404, since: int = 52) -> None:
    if minor(ctx) < since:
        raise ApiError(status, NOT_ALLOWED if since == 52 else "The API version does not allow updating "
                                                               "allocations")


def _fields(ctx: RequestContext, fields: str | None) -> list[str] | None:
    if fields is None:
        return None
    names = [f.strip() for f in fields.split(",") if f.strip()]
    for name in names:
        if name not in FIELDS:
            raise BadRequest(f"Field {name[:64]} is not a valid field.")
    if "owner" in names and minor(ctx) < 60:
        raise ApiError(406, "Request not acceptable.")
    return names


def _valid_name(name) -> bool:
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and not is_uuid(name)


def _find(conn, ident: str) -> dict | None:
    if is_uuid(ident):
        query = select(allocations).where(allocations.c.id == str(uuid.UUID(ident)))
    elif _valid_name(ident):
        query = select(allocations).where(allocations.c.name == ident)
    else:
        raise BadRequest(f"Expected a logical name or UUID but received {ident[:64]}.")
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def load(conn, ident: str, ctx: RequestContext) -> dict:
    """By UUID or name; up to 1.90 a trailing ``.json`` is a format suffix."""
    row = _find(conn, ident)
    if row is None and ident.endswith(".json") and minor(ctx) <= 90:
        row = _find(conn, ident[:-5])
    if row is None:
        raise NotFound(f"Allocation {ident[:64]} could not be found.")
    return row


def authorize_allocation(ctx: RequestContext, rule: str, row: dict, ident: str) -> None:
    """An allocation the caller may not read is a 404 (not leaked); one it
    reads but may not act on is a 403."""
    if not allowed(ctx, "baremetal:allocation:get", target(row)):
        raise NotFound(f"Allocation {ident[:64]} could not be found.")
    authorize(ctx, rule, target(row))


def _is_system(ctx: RequestContext) -> bool:
    """Ironic's system scope; taskvisor's admin role is the cloud administrator."""
    return ctx.system_scope == "all" or ctx.is_admin


# -- list / show ----------------------------------------------------------------------------------
@router.get("/v1/allocations", openapi_extra=openapi.query(
    ("node", openapi.STRING), ("resource_class", openapi.STRING), ("state", openapi.STRING),
    ("owner", openapi.STRING), ("fields", openapi.STRING), ("sort_key", openapi.STRING),
    ("sort_dir", openapi.STRING), openapi.LIMIT, openapi.MARKER))
def list_allocations(request: Request, ctx: RequestContext = Depends(get_context), node: str | None = None,
                     resource_class: str | None = None, state: str | None = None, owner: str | None = None,
                     fields: str | None = None, limit: int | None = None, marker: str | None = None,
                     sort_key: str = "created_at", sort_dir: str = "asc"):
    _gate(ctx)
    authorize(ctx, "baremetal:allocation:list")
    wanted = _fields(ctx, fields)
    if owner is not None and minor(ctx) < 60:
        raise ApiError(406, "Request not acceptable.")
    if not allowed(ctx, "baremetal:allocation:list_all"):
        if owner is not None and owner != ctx.project_id:
            raise Forbidden()
        owner = ctx.project_id or NO_PROJECT
    if sort_key in ("extra", "candidate_nodes", "traits"):
        raise BadRequest(f"The sort_key value {sort_key} is an invalid field for sorting")
    columns = {"created_at": allocations.c.created_at, "updated_at": allocations.c.updated_at,
               "uuid": allocations.c.id, "id": allocations.c.created_at, "name": allocations.c.name,
               "state": allocations.c.state, "resource_class": allocations.c.resource_class,
               "node_uuid": allocations.c.node_id, "owner": allocations.c.owner}
    if sort_key not in columns:
        raise BadRequest(f"The sort_key value {sort_key[:64]} is an invalid field for sorting")
    check_sort_dir(sort_dir)
    limit = page_limit(limit, request.app.state.tv.conf.api.max_limit)
    key = columns[sort_key]
    order = [key, allocations.c.id] if key is not allocations.c.id else [key]
    query = select(allocations).order_by(*(c.desc() if sort_dir == "desc" else c.asc() for c in order))
    for column, value in ((allocations.c.resource_class, resource_class), (allocations.c.state, state),
                          (allocations.c.owner, owner)):
        if value is not None:
            query = query.where(column == value)
    with request.app.state.tv.db.read() as conn:
        if node is not None:
            try:
                found = load_node(conn, node, ctx, any_version=True)
            except NotFound as exc:
                raise BadRequest(exc.message) from None
            if not allowed(ctx, "baremetal:node:get", node_target(found)):
                raise NotFound("The resource could not be found.")
            query = query.where(allocations.c.node_id == found["id"])
        if marker is not None:
            if not is_uuid(marker):
                raise BadRequest(f"Marker {marker[:64]} could not be found.")
            mark = conn.execute(select(allocations).where(allocations.c.id == str(uuid.UUID(marker)))
                                ).mappings().first()
            if mark is None:
                raise BadRequest(f"Marker {marker[:64]} could not be found.")
            value = mark[key.name]
            after = (lambda a, b: a > b) if sort_dir == "asc" else (lambda a, b: a < b)
            if key is allocations.c.id:
                query = query.where(after(allocations.c.id, mark["id"]))
            elif value is None:
                query = query.where(key.is_(None), after(allocations.c.id, mark["id"]))
            else:
                query = query.where(after(key, value) | ((key == value) & after(allocations.c.id, mark["id"])))
        rows = [dict(r) for r in conn.execute(query.limit(limit)).mappings()]
    for row in rows:
        authorize(ctx, "baremetal:allocation:get", target(row))
    base = base_url(request)
    out = {"allocations": [render(r, minor(ctx), base, wanted) for r in rows]}
    if len(rows) == limit:
        params = f"?limit={limit}&marker={rows[-1]['id']}"
        out["next"] = f"{base}/v1/allocations{params}" + (f"&fields={fields}" if fields else "")
    return out


@router.get("/v1/allocations/{ident}")
def show_allocation(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                    fields: str | None = None):
    _gate(ctx)
    with request.app.state.tv.db.read() as conn:
        row = load(conn, ident, ctx)
    authorize_allocation(ctx, "baremetal:allocation:get", row, ident)
    return render(row, minor(ctx), base_url(request), _fields(ctx, fields))


# -- create ---------------------------------------------------------------------------------------
def _check_body(body, ctx: RequestContext) -> dict:
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute allocation. Value: body. Wrong type. Expected 'dict'")
    unknown = sorted(set(body) - set(ALLOCATION_BODY["properties"]))
    if unknown:
        raise BadRequest(f"Schema error for allocation: Additional properties are not allowed "
                         f"({', '.join(repr(u) for u in unknown)} {'was' if len(unknown) == 1 else 'were'} "
                         "unexpected)")
    values = {k: v for k, v in body.items() if v is not None}
    if "owner" in body and minor(ctx) < 60:
        raise ApiError(406, "Request not acceptable.")
    for name in ("name", "node", "owner", "resource_class", "uuid"):
        if name in values and not isinstance(values[name], str):
            raise BadRequest(f"Schema error for allocation: {values[name]!r} is not of type 'string'")
    if len(values.get("resource_class") or "") > 80 or len(values.get("owner") or "") > 255:
        raise BadRequest("Schema error for allocation: a value is too long")
    if "extra" in values and not isinstance(values["extra"], dict):
        raise BadRequest(f"Schema error for allocation: {values['extra']!r} is not of type 'object'")
    for name in ("traits", "candidate_nodes"):
        if name in values and not isinstance(values[name], list):
            raise BadRequest(f"Schema error for allocation: {values[name]!r} is not of type 'array'")
    for trait in values.get("traits", []):
        check_trait(trait, "allocation")
    for ident in values.get("candidate_nodes", []):
        if not isinstance(ident, str):
            raise BadRequest(f"Schema error for allocation: {ident!r} is not of type 'string'")
    if "uuid" in values and not is_uuid(values["uuid"]):
        raise BadRequest(f"Expected a UUID for uuid: {values['uuid'][:64]}")
    if values.get("name") is not None and not _valid_name(values["name"]):
        raise BadRequest(f"Cannot create allocation with invalid name '{values['name'][:64]}'")
    return values


def _owner(ctx: RequestContext, values: dict) -> str | None:
    """Ironic's owner rules: a project caller's allocation is its own project's
    unless it may create them for others (create_restricted)."""
    authorize(ctx, "baremetal:allocation:create")
    if _is_system(ctx):
        return values.get("owner")
    wanted = values.get("owner")
    if wanted and wanted != ctx.project_id and not allowed(ctx, "baremetal:allocation:create_restricted"):
        raise Forbidden(f"Cannot create allocation with an owner Project ID value {wanted[:64]} not matching the "
                        f"requester Project ID {ctx.project_id}. Policy baremetal:allocation:create_restricted "
                        "is required for this capability.")
    return wanted or ctx.project_id


def _candidates(conn, ctx: RequestContext, idents: list[str]) -> list[str]:
    """Names and UUIDs -> node UUIDs, in the requested order (Ironic's check_node_list)."""
    if not idents:
        return []
    restrict = None if allowed(ctx, "baremetal:allocation:create_restricted") else ctx.project_id
    uuids = {str(uuid.UUID(i)) for i in idents if is_uuid(i)}
    names = {i for i in idents if not is_uuid(i) and _NAME.fullmatch(i)}
    query = select(nodes.c.id, nodes.c.name).where(nodes.c.id.in_(uuids) | nodes.c.name.in_(names))
    if restrict is not None:
        query = query.where((nodes.c.owner == restrict) | (nodes.c.lessee == restrict))
    mapping = {}
    for node_id, name in conn.execute(query):
        mapping[node_id] = node_id
        if name:
            mapping[name] = node_id
    resolved = {i: mapping.get(str(uuid.UUID(i)) if is_uuid(i) else i) for i in idents}
    missing = [i for i, found in resolved.items() if found is None]
    if missing:
        raise BadRequest(f"Nodes cannot be found: {', '.join(m[:64] for m in missing)}")
    return list(dict.fromkeys(resolved[i] for i in idents))


def _duplicate(conn, row: dict) -> Conflict:
    if row["name"] and conn.execute(select(allocations.c.id).where(allocations.c.name == row["name"])).first():
        return Conflict(f"An allocation with name {row['name']} already exists.")
    return Conflict(f"An allocation with UUID {row['id']} already exists.")


def _backfill_errors(conn, row: dict, node: dict) -> list[str]:
    """Ironic's checks before it records a deployed node's allocation."""
    errors = []
    if node["provision_state"] != node_states.ACTIVE:
        errors.append(f'Node must be in the "active" state, but the current state is "{node["provision_state"]}"')
    if row["resource_class"] and node["resource_class"] != row["resource_class"]:
        errors.append(f"Resource class {node['resource_class']} does not match the requested resource class "
                      f"{row['resource_class']}")
    have = traits_of(conn, [node["id"]]).get(node["id"], [])
    if row["traits"] and not set(have) >= set(row["traits"]):
        errors.append(f"List of traits {have} does not match the requested traits {row['traits']}")
    if row["candidate_nodes"] and node["id"] not in row["candidate_nodes"]:
        errors.append(f"Candidate nodes must be empty or contain the target node, but got {row['candidate_nodes']}")
    return errors


def _backfill(request: Request, conn, row: dict, node_id: str) -> None:
    """Record the allocation of an already deployed node, in the caller's transaction."""
    node = conn.execute(select(nodes).where(nodes.c.id == node_id).with_for_update()).mappings().first()
    if node is None:
        raise BadRequest(f"Node {node_id} could not be found.")
    node = dict(node)
    if node["task_id"] is not None:
        raise node_locked(request, node)
    errors = _backfill_errors(conn, row, node)
    if errors:
        raise BadRequest(f"Failed to process allocation {row['id']}: Cannot backfill an allocation for node "
                         f"{node['id']}: {'; '.join(errors)}.")
    if node["instance_uuid"] and node["instance_uuid"] != row["id"]:
        raise Conflict(f"Node {node['id']} is associated with instance {node['instance_uuid']}.")
    if conn.execute(select(nodes.c.id).where(nodes.c.instance_uuid == row["id"], nodes.c.id != node["id"])).first():
        raise Conflict(f"Instance {row['id']} is already associated with a node, it cannot be associated with "
                       f"this other node {node['id']}")
    if conn.execute(select(allocations.c.id).where(allocations.c.node_id == node["id"])).first():
        raise Conflict(f"Node {node['id']} is associated with instance {node['instance_uuid']}.")
    row.update(node_id=node["id"], state=ACTIVE)
    info = {**(node["instance_info"] or {}), "traits": list(row["traits"])}
    conn.execute(update(nodes).where(nodes.c.id == node["id"]).values(
        instance_uuid=row["id"], instance_info=info, updated_at=utcnow()))


@router.post("/v1/allocations", status_code=201, responses=_405, openapi_extra=openapi.body(ALLOCATION_BODY))
def create_allocation(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                      body=Depends(json_body)):
    _gate(ctx, 405)
    values = _check_body(body, ctx)
    owner = _owner(ctx, values)
    db = request.app.state.tv.db
    node = None
    with db.read() as conn:
        if "node" in values:
            if minor(ctx) < 58:
                raise BadRequest("Cannot set node when creating an allocation in this API version")
            try:
                node = load_node(conn, values["node"], ctx, any_version=True)
            except NotFound as exc:
                raise BadRequest(exc.message) from None
            authorize_node(ctx, "baremetal:node:get", node, values["node"])
        if not values.get("resource_class"):
            if node is None:
                raise BadRequest("The resource_class field is mandatory when not backfilling")
            values["resource_class"] = node["resource_class"]
        candidates = _candidates(conn, ctx, values.get("candidate_nodes") or [])
    alloc_id = values.get("uuid") or (node and node["instance_uuid"]) or str(uuid.uuid4())
    row = {"id": str(uuid.UUID(alloc_id)), "name": values.get("name"), "node_id": None, "state": ALLOCATING,
           "owner": owner, "last_error": None, "resource_class": values["resource_class"],
           "traits": sorted(set(values.get("traits") or [])), "candidate_nodes": candidates,
           "extra": values.get("extra") or {}, "task_id": None, "created_at": utcnow(), "updated_at": None}
    task = None
    if node is None:
        task = new_task_row(resource_type="allocation", resource_id=row["id"], action="allocate",
                            flow="bm_allocate", flow_version=request.app.state.tv.flows.get("bm_allocate").version,
                            params={}, request_id=ctx.request_id, user_id=ctx.user_id, project_id=ctx.project_id)
        row["task_id"] = task["id"]
    try:
        with db.write() as conn:
            taken = allocations.c.id == row["id"]
            if row["name"] is not None:
                taken = taken | (allocations.c.name == row["name"])
            if conn.execute(select(allocations.c.id).where(taken)).first():
                raise _duplicate(conn, row)
            if node is not None:
                _backfill(request, conn, row, node["id"])
            conn.execute(insert(allocations).values(**row))
            if task is not None:
                insert_task(conn, task)
    except IntegrityError:
        with db.read() as conn:
            raise _duplicate(conn, row) from None
    base = base_url(request)
    response.headers["Location"] = f"{base}/v1/allocations/{row['id']}"
    if task is not None:
        request.app.state.tv.wake_conductors()
        response.headers[TASK_HEADER] = f"{base}/v1/tasks/{task['id']}"
    return render(row, minor(ctx), base)


# -- update ---------------------------------------------------------------------------------------
@router.patch("/v1/allocations/{ident}", responses=_405, openapi_extra=openapi.body(PATCH_BODY))
def patch_allocation(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                     patch=Depends(json_body)):
    _gate(ctx, 405, 57)
    db = request.app.state.tv.db
    with db.read() as conn:
        row = load(conn, ident, ctx)
    authorize_allocation(ctx, "baremetal:allocation:update", row, ident)
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    document = {"name": row["name"], "extra": dict(row["extra"] or {})}
    for op in patch:
        document = _apply(document, op, ctx, ("name", "extra"), ("extra",))
    if document["name"] is not None and not _valid_name(document["name"]):
        raise BadRequest(f"Cannot update allocation with invalid name '{str(document['name'])[:64]}'")
    if not isinstance(document["extra"], dict):
        raise BadRequest("Invalid input for field/attribute extra. Wrong type. Expected 'dict'")
    now = utcnow()
    try:
        with db.write() as conn:
            done = conn.execute(update(allocations).where(allocations.c.id == row["id"]).values(
                name=document["name"], extra=document["extra"], updated_at=now)).rowcount
    except IntegrityError:
        raise Conflict(f"An allocation with name {document['name']} already exists.") from None
    if not done:
        raise NotFound(f"Allocation {ident[:64]} could not be found.")
    with db.read() as conn:
        return render(load(conn, row["id"], ctx), minor(ctx), base_url(request))


# -- delete ---------------------------------------------------------------------------------------
def _destroy(request: Request, row: dict) -> None:
    """Delete an allocation and free its node (Ironic's destroy_allocation),
    refused while the node is deployed or busy."""
    with request.app.state.tv.db.write() as conn:
        fresh = conn.execute(select(allocations).where(allocations.c.id == row["id"]).with_for_update()
                             ).mappings().first()
        if fresh is None:
            raise NotFound(f"Allocation {row['id']} could not be found.")
        if fresh["node_id"] is not None:
            node = conn.execute(select(nodes).where(nodes.c.id == fresh["node_id"]).with_for_update()
                                ).mappings().first()
            if node is not None:
                _check_deallocation(request, dict(node), fresh)
        conn.execute(delete(allocations).where(allocations.c.id == row["id"]))
        # whichever node this allocation reserved (also one a running task just took)
        conn.execute(update(nodes).where(nodes.c.instance_uuid == row["id"]).values(
            instance_uuid=None, updated_at=utcnow()))


def _check_deallocation(request: Request, node: dict, row: dict) -> None:
    if node["task_id"] is not None:
        raise node_locked(request, node)
    if node["maintenance"]:
        return  # an allocation can always be removed in maintenance
    if node["target_provision_state"] and node["provision_state"] not in UPDATE_ALLOWED:
        raise Conflict(f"Cannot remove allocation {row['id']} for node {node['id']}, because the node is in "
                       f"state {node['provision_state']} where updates are not allowed (and maintenance mode "
                       "is off)")
    if node["provision_state"] == node_states.ACTIVE:
        raise Conflict(f"Cannot remove allocation {row['id']} for node {node['id']}, because the node is active "
                       "(and maintenance mode is off)")


@router.delete("/v1/allocations/{ident}", status_code=204, responses=_405)
def delete_allocation(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _gate(ctx, 405)
    with request.app.state.tv.db.read() as conn:
        row = load(conn, ident, ctx)
    authorize_allocation(ctx, "baremetal:allocation:delete", row, ident)
    _destroy(request, row)
    return Response(status_code=204)


# -- a node's allocation --------------------------------------------------------------------------
def _node_allocation(request: Request, ctx: RequestContext, ident: str, rule: str) -> dict:
    _gate(ctx)
    with request.app.state.tv.db.read() as conn:
        try:
            node = load_node(conn, ident, ctx, any_version=True)
        except NotFound as exc:
            if request.method == "GET":  # Ironic lists the node's allocations: an unknown node is a bad filter
                raise BadRequest(exc.message) from None
            raise
        authorize_node(ctx, "baremetal:node:get", node, ident)
        row = conn.execute(select(allocations).where(allocations.c.node_id == node["id"])).mappings().first()
    if row is None:
        raise NotFound(f"Allocation for node {ident[:64]} was not found")
    row = dict(row)
    authorize(ctx, rule, target(row))
    return row


@router.get("/v1/nodes/{ident}/allocation")
# Ironic routes a path without a version to v1; ironic-tempest-plugin's client asks for this one so
@router.get("/nodes/{ident}/allocation", include_in_schema=False)
def show_node_allocation(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                         fields: str | None = None):
    row = _node_allocation(request, ctx, ident, "baremetal:allocation:get")
    return render(row, minor(ctx), base_url(request), _fields(ctx, fields))


@router.delete("/v1/nodes/{ident}/allocation", status_code=204)
def delete_node_allocation(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    row = _node_allocation(request, ctx, ident, "baremetal:allocation:delete")
    _destroy(request, row)
    return Response(status_code=204)
