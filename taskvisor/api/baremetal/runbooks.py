"""Runbooks (1.92): a named, ordered list of clean steps that a node
approved for it may run (``PUT …/states/provision`` with ``runbook``).
Create, list, detail, show (by UUID or name), JSON-patch, delete, with
Ironic's owner scoping: a project's runbooks are its own (and the public
ones); another project's private runbook is a 404 here.

Up to 1.111 a runbook's name is a trait, and a node with that trait may run
it. From 1.112 (Ironic's runbook traits) the name is any logical name, a
runbook has a description and a list of traits (``/runbooks/{id}/traits``),
and a node with any of those traits may run it.
"""
from __future__ import annotations

import copy
import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api import openapi
from taskvisor.api.baremetal import stepsets
from taskvisor.api.baremetal.nodes import PATCH_BODY, _apply, base_url, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, Forbidden, NotFound
from taskvisor.api.policy import allowed, authorize
from taskvisor.api.validation import json_body
from taskvisor.db.models import node_traits, runbooks
from taskvisor.db.session import utcnow
from taskvisor.policies.base import NO_PROJECT

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE = 92
TRAITS_SINCE = 112
RESOURCE = "runbooks"
OWN = ("name", "extra", "public", "owner", "disable_ramdisk")
OWN_112 = (*OWN, "description", "traits")
PATCHABLE = ("disable_ramdisk", "extra", "name", "owner", "public", "steps")
NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[A-Za-z0-9\-._~]+$"}
RUNBOOK_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["steps", "name"],
    "properties": {"uuid": {"type": ["string", "null"]}, "name": stepsets.TRAITS_SCHEMA,
                   "steps": {"type": "array", "items": stepsets.RUNBOOK_STEP_SCHEMA, "minItems": 1},
                   "disable_ramdisk": {"type": ["boolean", "null"]}, "extra": {"type": ["object", "null"]},
                   "public": {"type": ["boolean", "null"]}, "owner": {"type": ["string", "null"], "maxLength": 255}}}
# 1.112 on, and every patch (Ironic's mutation schema): any logical name, and a description
RUNBOOK_SCHEMA_112 = {**RUNBOOK_SCHEMA, "properties": {**RUNBOOK_SCHEMA["properties"], "name": NAME_SCHEMA,
                                                       "description": {"type": ["string", "null"], "maxLength": 255}}}
RUNBOOK_BODY = {**RUNBOOK_SCHEMA_112, "properties": {**RUNBOOK_SCHEMA_112["properties"], "name": stepsets.NAME_DOC,
                                                     "uuid": {"type": ["string", "null"], "format": "uuid"}}}
TRAITS_BODY = {"type": "object", "additionalProperties": False,
               "properties": {"traits": {"type": "array", "items": stepsets.TRAITS_SCHEMA}}}
TRAITS_DOC = {"type": "object", "additionalProperties": False,
              "properties": {"traits": {"type": "array", "items": stepsets.NAME_DOC}}}


def with_traits(ctx: RequestContext) -> bool:
    return minor(ctx) >= TRAITS_SINCE


def _own(ctx: RequestContext) -> tuple[str, ...]:
    return OWN_112 if with_traits(ctx) else OWN


def _fields(ctx: RequestContext) -> tuple[str, ...]:
    return ("uuid", "created_at", "updated_at", *_own(ctx), "steps", "links")


def not_found(ident: str) -> NotFound:
    return NotFound(f"Runbook {ident[:64]} could not be found.")


def _gate(ctx: RequestContext, request: Request) -> None:
    stepsets.gate(ctx, request, SINCE, "runbooks")


def target(row: dict) -> dict:
    return {"runbook.owner": row["owner"] or NO_PROJECT}


def visible(ctx: RequestContext, row: dict) -> bool:
    return bool(row["public"]) or allowed(ctx, "baremetal:runbook:get", target(row))


def load(conn, ident: str, ctx: RequestContext) -> dict:
    """A runbook the caller may see (its own, a public one, or any for the
    system); another project's private runbook does not exist for it."""
    row = stepsets.find(conn, runbooks, ident, ctx, not_found)
    if not visible(ctx, row):
        raise not_found(ident)
    return row


def _validated(values: dict, schema: dict) -> dict:
    stepsets.schema_check("runbook", values, schema)
    stepsets.check_unique_steps(values["steps"], "Runbook")
    return values


def _render(request: Request, ctx: RequestContext, row: dict, fields: list[str] | None = None) -> dict:
    return stepsets.render(request, RESOURCE, row, _own(ctx), "order", fields)


def _system(ctx: RequestContext) -> bool:
    return ctx.system_scope == "all"


@router.post("/v1/runbooks", status_code=201, openapi_extra=openapi.body(RUNBOOK_BODY))
def create_runbook(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                   body=Depends(json_body)):
    _gate(ctx, request)
    authorize(ctx, "baremetal:runbook:create", {})
    if not isinstance(body, dict):
        raise BadRequest("Schema error for runbook: the body must be a JSON object")
    values = _validated(dict(body), RUNBOOK_SCHEMA_112 if with_traits(ctx) else RUNBOOK_SCHEMA)
    owner, public = values.get("owner"), bool(values.get("public"))
    if not _system(ctx):
        # Ironic: a project-scoped caller's runbook is its project's. The
        # cloud admin (taskvisor has no separate system scope) may still name
        # another owner, or make a public runbook (which has no owner).
        if owner and owner != ctx.project_id and not ctx.is_admin:
            raise BadRequest("Cannot create a runbook as a project scoped admin with an owner other than your "
                             "own project.")
        if public and ctx.project_id and not ctx.is_admin:
            raise BadRequest("Cannot create a public runbook as a project scoped admin.")
        owner = None if public else (owner if ctx.is_admin and owner else ctx.project_id)
    if public and owner:
        raise BadRequest("There cannot be an owner for a public runbook")
    now = utcnow()
    row = {"uuid": stepsets.check_uuid(values.get("uuid")) or str(uuid.uuid4()), "name": values["name"],
           "steps": stepsets.normal_steps(values["steps"], "order"),
           "disable_ramdisk": bool(values.get("disable_ramdisk")),
           "public": public, "owner": owner, "extra": values.get("extra") or {},
           "description": values.get("description"), "traits": [], "created_at": now, "updated_at": None}
    db = request.app.state.tv.db
    try:
        with db.write() as conn:
            row["id"] = conn.execute(insert(runbooks).values(**row)).inserted_primary_key[0]
    except IntegrityError:
        with db.read() as conn:
            if conn.execute(select(runbooks.c.id).where(runbooks.c.uuid == row["uuid"])).first():
                raise Conflict(f"A runbook with UUID {row['uuid']} already exists.") from None
        raise Conflict(f"A runbook with name {row['name']} already exists.") from None
    response.headers["Location"] = f"{base_url(request)}/v1/runbooks/{row['uuid']}"
    return _render(request, ctx, row)


@router.get("/v1/runbooks")
def list_runbooks(request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None,
                  detail: str | None = None, limit: int | None = None, marker: str | None = None,
                  sort_key: str = "id", sort_dir: str = "asc"):
    _gate(ctx, request)
    where = None
    if not allowed(ctx, "baremetal:runbook:list_all", {}):
        # a project sees its own runbooks and the public ones (Ironic's check_list_policy)
        if not ctx.project_id:
            raise Forbidden()
        authorize(ctx, "baremetal:runbook:list", {})
        where = (runbooks.c.owner == ctx.project_id) | runbooks.c.public.is_(True)
    rows, wanted, paging = stepsets.list_rows(
        request, runbooks, known=_fields(ctx), default=("uuid", "name"), fields=fields, detail=detail,
        limit=limit, marker=marker, sort_key=sort_key, sort_dir=sort_dir, where=where, not_found=not_found)
    return stepsets.page(request, RESOURCE, [_render(request, ctx, r, wanted) for r in rows], rows, paging)


@router.get("/v1/runbooks/{ident}")
def show_runbook(ident: str, request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None):
    _gate(ctx, request)
    wanted = stepsets.parse_fields(fields, _fields(ctx))
    with request.app.state.tv.db.read() as conn:
        return _render(request, ctx, load(conn, ident, ctx), wanted)


def _patch_rules(patch: list) -> list[str]:
    """Ironic's: /owner and /public have their own rules; any other path needs update."""
    rules, generic = [], False
    for op in patch:
        path = op.get("path") if isinstance(op, dict) else None
        path = path if isinstance(path, str) else ""
        if path.startswith("/owner"):
            rules.append("baremetal:runbook:update:owner")
        elif path.startswith("/public"):
            rules.append("baremetal:runbook:update:public")
        else:
            generic = True
    if generic or not rules:
        rules.append("baremetal:runbook:update")
    return list(dict.fromkeys(rules))


def _values_at(patch: list, path: str) -> list:
    return [op.get("value") for op in patch if isinstance(op, dict) and op.get("path") == path
            and op.get("op") in ("add", "replace")]


@router.patch("/v1/runbooks/{ident}", openapi_extra=openapi.body(PATCH_BODY))
def patch_runbook(ident: str, request: Request, ctx: RequestContext = Depends(get_context), patch=Depends(json_body)):
    _gate(ctx, request)
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    db = request.app.state.tv.db
    with db.read() as conn:
        row = load(conn, ident, ctx)
    for rule in _patch_rules(patch):
        authorize(ctx, rule, target(row))
    patchable = (*PATCHABLE, "description") if with_traits(ctx) else PATCHABLE
    document = {name: copy.deepcopy(row[name]) for name in patchable}
    owner, public = _values_at(patch, "/owner"), _values_at(patch, "/public")
    if any(owner) and ((row["public"] and not public) or (public and public[0] not in (False, "False", "false"))):
        raise BadRequest("There cannot be an owner for a public runbook")
    if public:
        document["owner"] = None
    for op in patch:
        document = _apply(document, op, ctx, patchable, ("extra", "steps"))
    for name, empty in (("extra", {}), ("public", False), ("disable_ramdisk", False)):
        if document[name] is None:
            document[name] = empty
    for name in ("public", "disable_ramdisk"):
        # the baremetal CLI's `runbook set --public` sends "True": read the string forms as booleans
        if isinstance(document[name], str) and document[name].lower() in ("true", "false"):
            document[name] = document[name].lower() == "true"
    _validated(document, RUNBOOK_SCHEMA_112)
    if document["public"] and document["owner"]:
        raise BadRequest("There cannot be an owner for a public runbook")
    changes = {**{k: document[k] for k in ("name", "extra", "public", "owner", "disable_ramdisk")},
               **({"description": document["description"]} if "description" in document else {}),
               "steps": stepsets.normal_steps(document["steps"], "order"), "updated_at": utcnow()}
    try:
        with db.write() as conn:
            if not conn.execute(update(runbooks).where(runbooks.c.id == row["id"]).values(**changes)).rowcount:
                raise not_found(ident)
    except IntegrityError:
        raise Conflict(f"A runbook with name {document['name']} already exists.") from None
    return _render(request, ctx, {**row, **changes})


@router.delete("/v1/runbooks/{ident}", status_code=204)
def delete_runbook(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _gate(ctx, request)
    with request.app.state.tv.db.write() as conn:
        row = load(conn, ident, ctx)
        authorize(ctx, "baremetal:runbook:delete", target(row))
        conn.execute(delete(runbooks).where(runbooks.c.id == row["id"]))
    return Response(status_code=204)


def steps_for_node(conn, ctx: RequestContext, ident, node: dict, verb: str, user_steps) -> tuple[dict, list[dict]]:
    """The runbook a provision request names, and its steps as the clean
    steps to run: usable by the caller (baremetal:runbook:use), approved for
    the node (its name is one of the node's traits), and only for clean."""
    if not isinstance(ident, str) or not ident:
        raise BadRequest(f"Invalid input for field/attribute runbook. Value: {str(ident)[:64]}. Wrong type. "
                         "Expected 'str'")
    row = load(conn, ident, ctx)
    authorize(ctx, "baremetal:runbook:use", target(row))
    traits = set(conn.execute(select(node_traits.c.trait).where(node_traits.c.node_id == node["id"])).scalars())
    if with_traits(ctx):
        if not row["traits"]:
            raise BadRequest(f"Runbook {row['uuid']} has no traits configured. Please ask an administrator to add "
                             "traits to the runbook.")
        if not set(row["traits"]) & traits:
            raise BadRequest(f"This runbook has not been approved for use on this node {node['id']}. The node "
                             f"does not have any of the runbook's traits {sorted(row['traits'])}. Please ask an "
                             "administrator to add a matching trait to your node.")
    elif row["name"] not in traits:
        raise BadRequest(f"This runbook has not been approved for use on this node {node['id']}. Please ask an "
                         "administrator to add it to your node traits.")
    if verb != "clean":
        raise BadRequest("\"runbooks\" is only valid when setting target provision state to any of "
                         "['clean', 'service']")
    if user_steps:
        raise BadRequest('Please provide either "clean_steps" or a runbook, but not both.')
    return row, stepsets.normal_steps(row["steps"], "order")


# /v1/runbooks/{ident}/traits (1.112): which node traits approve a runbook

def _traits_gate(ctx: RequestContext, request: Request) -> None:
    _gate(ctx, request)
    if not with_traits(ctx):
        raise NotFound("The API version does not allow runbook traits")


def _set_traits(request: Request, ctx: RequestContext, ident: str, change) -> None:
    """Read, change and write a runbook's traits in one transaction."""
    with request.app.state.tv.db.write() as conn:
        row = load(conn, ident, ctx)
        authorize(ctx, "baremetal:runbook:update", target(row))
        traits = list(dict.fromkeys(change(list(row["traits"] or []))))
        conn.execute(update(runbooks).where(runbooks.c.id == row["id"]).values(traits=traits, updated_at=utcnow()))


@router.get("/v1/runbooks/{ident}/traits")
def list_runbook_traits(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _traits_gate(ctx, request)
    with request.app.state.tv.db.read() as conn:
        return {"traits": list(load(conn, ident, ctx)["traits"] or [])}


@router.put("/v1/runbooks/{ident}/traits", status_code=204, openapi_extra=openapi.body(TRAITS_DOC))
def set_runbook_traits(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                       body=Depends(json_body)):
    _traits_gate(ctx, request)
    if not isinstance(body, dict) or "traits" not in body:
        raise BadRequest("A single runbook trait may be added via PUT /v1/runbooks/<runbook identifier>/traits/"
                         "<trait> with no body, or all runbook traits may be replaced via PUT /v1/runbooks/"
                         "<runbook identifier>/traits with the list of traits specified in the request body.")
    stepsets.schema_check("body", body, TRAITS_BODY)
    _set_traits(request, ctx, ident, lambda _old: body["traits"])
    return Response(status_code=204)


@router.put("/v1/runbooks/{ident}/traits/{trait}", status_code=204,
            openapi_extra=openapi.body({"type": "object", "maxProperties": 0}, required=False))
def add_runbook_trait(ident: str, trait: str, request: Request, ctx: RequestContext = Depends(get_context),
                      body=Depends(json_body)):
    _traits_gate(ctx, request)
    stepsets.schema_check("trait", trait, stepsets.TRAITS_SCHEMA)
    if body:
        raise BadRequest("No body should be provided when adding a trait")
    _set_traits(request, ctx, ident, lambda old: [*old, trait])
    return Response(status_code=204, headers={"Location": f"{base_url(request)}/v1/runbooks/{ident}/traits/{trait}"})


@router.delete("/v1/runbooks/{ident}/traits", status_code=204)
def delete_runbook_traits(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _traits_gate(ctx, request)
    _set_traits(request, ctx, ident, lambda _old: [])
    return Response(status_code=204)


@router.delete("/v1/runbooks/{ident}/traits/{trait}", status_code=204)
def delete_runbook_trait(ident: str, trait: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _traits_gate(ctx, request)  # removing a trait the runbook does not have is a no-op (Ironic)
    _set_traits(request, ctx, ident, lambda old: [t for t in old if t != trait])
    return Response(status_code=204)
