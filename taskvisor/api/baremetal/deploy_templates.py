"""Deploy templates (1.55): a trait-named list of deploy steps that a deploy
adds when the node's instance traits name the template. Create, list,
detail, show (by UUID or name), JSON-patch, delete; Ironic's shapes,
codes and admin-only defaults."""
from __future__ import annotations

import copy
import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api import openapi
from taskvisor.api.baremetal import stepsets
from taskvisor.api.baremetal.nodes import PATCH_BODY, _apply, base_url
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import json_body
from taskvisor.baremetal import steps as clean_steps
from taskvisor.db.models import deploy_templates
from taskvisor.db.models import node_traits as node_traits_table
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE = 55
RESOURCE = "deploy_templates"
OWN = ("name", "extra")
FIELDS = ("uuid", "created_at", "updated_at", *OWN, "steps", "links")
PATCHABLE = ("extra", "name", "steps", "description")
TEMPLATE_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["steps", "name"],
    "properties": {"description": {"type": ["string", "null"], "maxLength": 255},
                   "extra": {"type": ["object", "null"]}, "name": stepsets.TRAITS_SCHEMA,
                   "steps": {"type": "array", "items": stepsets.DEPLOY_STEP_SCHEMA, "minItems": 1},
                   "uuid": {"type": ["string", "null"]}}}
TEMPLATE_BODY = {**TEMPLATE_SCHEMA, "properties": {**TEMPLATE_SCHEMA["properties"], "name": stepsets.NAME_DOC,
                                                   "uuid": {"type": ["string", "null"], "format": "uuid"}}}


def not_found(ident: str) -> NotFound:
    return NotFound(f"Deploy template {ident[:64]} could not be found.")


def _gate(ctx: RequestContext, request: Request) -> None:
    stepsets.gate(ctx, request, SINCE, "deploy templates")


def _validated(values: dict) -> dict:
    stepsets.schema_check("template", values, TEMPLATE_SCHEMA)
    stepsets.check_unique_steps(values["steps"], "Deploy template")
    return values


def _render(request: Request, row: dict, fields: list[str] | None = None) -> dict:
    return stepsets.render(request, RESOURCE, row, OWN, "priority", fields)


def _conflict(conn, row: dict) -> Conflict:
    if conn.execute(select(deploy_templates.c.id).where(deploy_templates.c.uuid == row["uuid"])).first():
        return Conflict(f"A deploy template with UUID {row['uuid']} already exists.")
    return Conflict(f"A deploy template with name {row['name']} already exists.")


@router.post("/v1/deploy_templates", status_code=201, openapi_extra=openapi.body(TEMPLATE_BODY))
def create_deploy_template(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                           body=Depends(json_body)):
    _gate(ctx, request)
    authorize(ctx, "baremetal:deploy_template:create", {})
    if not isinstance(body, dict):
        raise BadRequest("Schema error for template: the body must be a JSON object")
    values = _validated(dict(body))
    now = utcnow()
    row = {"uuid": stepsets.check_uuid(values.get("uuid")) or str(uuid.uuid4()), "name": values["name"],
           "description": values.get("description"), "steps": stepsets.normal_steps(values["steps"], "priority"),
           "extra": values.get("extra") or {}, "created_at": now, "updated_at": None}
    db = request.app.state.tv.db
    try:
        with db.write() as conn:
            row["id"] = conn.execute(insert(deploy_templates).values(**row)).inserted_primary_key[0]
    except IntegrityError:
        with db.read() as conn:
            raise _conflict(conn, row) from None
    response.headers["Location"] = f"{base_url(request)}/v1/deploy_templates/{row['uuid']}"
    return _render(request, row)


@router.get("/v1/deploy_templates")
def list_deploy_templates(request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None,
                          detail: str | None = None, limit: int | None = None, marker: str | None = None,
                          sort_key: str = "id", sort_dir: str = "asc"):
    _gate(ctx, request)
    authorize(ctx, "baremetal:deploy_template:get", {})
    rows, wanted, paging = stepsets.list_rows(
        request, deploy_templates, known=FIELDS, default=("uuid", "name"), fields=fields, detail=detail,
        limit=limit, marker=marker, sort_key=sort_key, sort_dir=sort_dir, not_found=not_found)
    return stepsets.page(request, RESOURCE, [_render(request, r, wanted) for r in rows], rows, paging)


@router.get("/v1/deploy_templates/{ident}")
def show_deploy_template(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                         fields: str | None = None):
    _gate(ctx, request)
    authorize(ctx, "baremetal:deploy_template:get", {})
    wanted = stepsets.parse_fields(fields, FIELDS)
    with request.app.state.tv.db.read() as conn:
        return _render(request, stepsets.find(conn, deploy_templates, ident, ctx, not_found), wanted)


@router.patch("/v1/deploy_templates/{ident}", openapi_extra=openapi.body(PATCH_BODY))
def patch_deploy_template(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                          patch=Depends(json_body)):
    _gate(ctx, request)
    authorize(ctx, "baremetal:deploy_template:update", {})
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    db = request.app.state.tv.db
    with db.read() as conn:
        row = stepsets.find(conn, deploy_templates, ident, ctx, not_found)
    document = {name: copy.deepcopy(row[name]) for name in PATCHABLE}
    for op in patch:
        document = _apply(document, op, ctx, PATCHABLE, ("extra", "steps"))
    if document["extra"] is None:
        document["extra"] = {}
    if document["description"] is None:
        document.pop("description")
    _validated(document)
    changes = {"name": document["name"], "description": document.get("description"), "extra": document["extra"],
               "steps": stepsets.normal_steps(document["steps"], "priority"), "updated_at": utcnow()}
    try:
        with db.write() as conn:
            if not conn.execute(update(deploy_templates).where(deploy_templates.c.id == row["id"])
                                .values(**changes)).rowcount:
                raise not_found(ident)
    except IntegrityError:
        raise Conflict(f"A deploy template with name {document['name']} already exists.") from None
    return _render(request, {**row, **changes})


@router.delete("/v1/deploy_templates/{ident}", status_code=204)
def delete_deploy_template(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _gate(ctx, request)
    authorize(ctx, "baremetal:deploy_template:delete", {})
    with request.app.state.tv.db.write() as conn:
        row = stepsets.find(conn, deploy_templates, ident, ctx, not_found)
        conn.execute(delete(deploy_templates).where(deploy_templates.c.id == row["id"]))
    return Response(status_code=204)


def deploy_plan(conn, node: dict, known: list[dict]) -> list[dict]:
    """The steps of the deploy templates a deploy of ``node`` runs, in running
    order: those named by its instance traits (``instance_info.traits``,
    which must all be node traits: Ironic's rule). 400 when they do not fit."""
    instance_traits = (node["instance_info"] or {}).get("traits")
    if not instance_traits:
        return []
    if not isinstance(instance_traits, list) or not all(isinstance(t, str) for t in instance_traits):
        raise BadRequest(f"Error parsing traits from Node {node['id']} instance_info field. A list of strings "
                         "is expected.")
    node_traits = set(conn.execute(select(node_traits_table.c.trait).where(
        node_traits_table.c.node_id == node["id"])).scalars())
    missing = sorted(set(instance_traits) - node_traits)
    if missing:
        raise BadRequest(f"Cannot specify instance traits that are not also set on the node. Node {node['id']} "
                         f"is missing traits {', '.join(missing)}")
    templates = [dict(r) for r in conn.execute(select(deploy_templates).where(
        deploy_templates.c.name.in_(instance_traits)).order_by(deploy_templates.c.name)).mappings()]
    steps = [step for template in templates for step in template["steps"]]
    try:
        return clean_steps.validate_deploy_steps(known, steps)
    except clean_steps.InvalidSteps as exc:
        raise BadRequest("Validation of deploy steps from deploy templates matching this node's instance traits "
                         f"failed. Matching deploy templates: {','.join(t['name'] for t in templates)}. "
                         f"Errors: {exc}") from None
