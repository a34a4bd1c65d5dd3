"""Inspection rules (Ironic 1.96+): conditions on inspection data and the
actions to take, kept and validated as Ironic does (its schema, phases,
priorities 0-9999, and each operator's and action's arguments). A
sensitive rule shows neither conditions nor actions, and stays sensitive."""
from __future__ import annotations

import copy
import uuid

import jsonschema
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update

from taskvisor.api import openapi
from taskvisor.api.baremetal import paging
from taskvisor.api.baremetal import port_common as pc
from taskvisor.api.baremetal import stepsets
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal.nodes import PATCH_BODY, _apply, base_url, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import json_body
from taskvisor.db.models import inspection_rules
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes

RULES_VERSION = 96
NOT_ALLOWED = "The API version does not allow inspection rules"
DEFAULT_FIELDS = ["uuid", "priority", "phase", "description"]
FIELDS = ("uuid", "description", "priority", "sensitive", "phase", "conditions", "actions", "created_at",
          "updated_at", "links")
PATCHABLE = ("description", "priority", "sensitive", "phase", "conditions", "actions")
PHASES = ("main",)
# Each operator's and action's arguments (Ironic's plugin signatures):
# (required, optional); a list of args fills them in this order.
_VALUES = (("values",), ("force_strings",))
OPERATORS = {"eq": _VALUES, "lt": _VALUES, "gt": _VALUES, "is-empty": (("value",), ()),
             "in-net": (("address", "subnet"), ()), "matches": (("value", "regex"), ()),
             "contains": (("value", "regex"), ()), "one-of": (("value",), ("values",)),
             "is-none": (("value",), ()), "is-true": (("value",), ()), "is-false": (("value",), ())}
ACTIONS = {"fail": (("msg",), ()), "log": (("msg",), ("level",)), "set-attribute": (("path", "value"), ()),
           "extend-attribute": (("path", "value"), ("unique",)), "del-attribute": (("path",), ()),
           "set-capability": (("name", "value"), ()), "unset-capability": (("name",), ()),
           "add-trait": (("name",), ()), "remove-trait": (("name",), ()),
           "set-plugin-data": (("path", "value", "plugin_data"), ()),
           "extend-plugin-data": (("path", "value", "plugin_data"), ("unique",)),
           "unset-plugin-data": (("path", "plugin_data"), ()),
           "set-port-attribute": (("port_id", "path", "value"), ()),
           "extend-port-attribute": (("port_id", "path", "value"), ("unique",)),
           "del-port-attribute": (("port_id", "path"), ()),
           "api-call": (("url",), ("headers", "proxies", "timeout", "retries", "backoff_factor"))}
_ARGS = {"type": ["array", "object"]}
SCHEMA = {"type": "object", "required": ["actions"], "additionalProperties": False, "properties": {
    "actions": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["op", "args"], "additionalProperties": True,
        "properties": {"op": {"enum": list(ACTIONS)}, "args": _ARGS, "loop": _ARGS}}},
    "conditions": {"type": "array", "minItems": 0, "items": {
        "type": "object", "required": ["op", "args"], "additionalProperties": True,
        "properties": {"op": {"enum": list(OPERATORS) + [f"!{op}" for op in OPERATORS]}, "args": _ARGS,
                       "multiple": {"enum": ["any", "all", "first", "last"]}, "loop": _ARGS}}},
    "description": {"type": ["string", "null"], "maxLength": 255},
    "phase": {"type": ["string", "null"], "maxLength": 16},
    "priority": {"type": "integer", "minimum": 0},
    "sensitive": {"type": ["boolean", "null"]},
    "uuid": {"type": ["string", "null"]}}}


def _gate(ctx: RequestContext, status: int = 404) -> None:
    if minor(ctx) < RULES_VERSION:
        raise ApiError(status, NOT_ALLOWED)


def _plugin_errors(kind: str, op: str, signature: tuple, args) -> list[str]:
    """Ironic's Base.validate: the arguments against the plugin's signature."""
    required, optional = signature
    # Ironic supplies plugin_data itself (a list gets it appended, a dict set)
    required = tuple(a for a in required if a != "plugin_data")
    if isinstance(args, list):
        if len(args) < len(required):
            return [f"Not enough arguments provided. Missing: {', '.join(required[len(args):])}"]
        args = dict(zip(required + optional, args))
    missing = [a for a in required if a not in args]
    unexpected = [a for a in args if a not in required + optional + ("plugin_data",)]
    problems = []
    if missing:
        problems.append(f"missing required argument(s): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected argument(s): {', '.join(unexpected)}")
    if problems:
        return [f"Invalid parameters for {kind} operator {op}: {'; '.join(problems)}"]
    return []


def validate(rule: dict) -> None:
    """Ironic's validate_rule, in its words (all problems at once)."""
    try:
        jsonschema.validate(rule, SCHEMA)
    except jsonschema.ValidationError as exc:
        raise BadRequest(f"Validation failed for inspection rule: {exc.message}") from None
    errors = []
    phase = rule.get("phase") or "main"
    if phase not in PHASES:
        errors.append(f"Invalid phase: {phase}. Valid phases are: {', '.join(PHASES)}")
    if rule.get("priority", 0) > 9999:
        errors.append("Priority must be between 0 and 9999 for user-defined rules.")
    for condition in rule.get("conditions") or []:
        op = condition["op"].lstrip("!")
        errors += _plugin_errors("condition", op, OPERATORS[op], condition["args"])
    for action in rule["actions"]:
        errors += _plugin_errors("action", action["op"], ACTIONS[action["op"]], action["args"])
    if len(errors) == 1:
        raise BadRequest(errors[0])
    if errors:
        raise BadRequest(f"Multiple validation errors occurred: {'; '.join(errors)}")


def _steps(items: list, conditions: bool) -> list[dict]:
    """What Ironic shows of a condition or action: op and args, and its loop
    (a condition's with ``multiple``, default any) when it has one."""
    out = []
    for item in items or []:
        shown = {"op": item["op"], "args": item["args"]}
        if item.get("loop"):
            shown["loop"] = item["loop"]
            if conditions:
                shown["multiple"] = item.get("multiple", "any")
        out.append(shown)
    return out


def render(row: dict, base: str, names: list[str] | None = None) -> dict:
    sensitive = bool(row["sensitive"])
    out = {"uuid": row["id"], "description": row["description"], "priority": row["priority"],
           "sensitive": sensitive, "phase": row["phase"],
           "conditions": None if sensitive else _steps(row["conditions"], True),
           "actions": None if sensitive else _steps(row["actions"], False),
           "created_at": views.iso_utc(row["created_at"]), "updated_at": views.iso_utc(row["updated_at"]),
           "links": pc.links(base, "inspection_rules", row["id"])}
    return pc.select_fields(out, names)


def _load(conn, ident: str) -> dict:
    row = conn.execute(select(inspection_rules).where(inspection_rules.c.id == ident)).mappings().first()
    if row is None:
        raise NotFound(f"Rule {ident} could not be found.")
    return dict(row)


@router.post("/v1/inspection_rules", status_code=201, openapi_extra=openapi.body(SCHEMA))
def create_rule(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                body=Depends(json_body)):
    _gate(ctx, 405)
    authorize(ctx, "baremetal:inspection_rule:create")
    if not isinstance(body, dict):
        raise BadRequest("Validation failed for inspection rule: the body is not an object")
    validate(body)
    rule_id = pc.check_uuid("uuid", body.get("uuid")) or str(uuid.uuid4())
    row = {"id": rule_id, "priority": body.get("priority", 0), "description": body.get("description"),
           "scope": None, "sensitive": bool(body.get("sensitive")), "phase": body.get("phase") or "main",
           "conditions": body.get("conditions") or [], "actions": body["actions"], "created_at": utcnow(),
           "updated_at": None}
    db = request.app.state.tv.db
    with db.write() as conn:
        if conn.execute(select(inspection_rules.c.id).where(inspection_rules.c.id == rule_id)).first():
            raise Conflict(f"A rule with UUID {rule_id} already exists.")
        conn.execute(insert(inspection_rules).values(**row))
    base = base_url(request)
    response.headers["Location"] = f"{base}/v1/inspection_rules/{rule_id}"
    return render(row, base)


@router.get("/v1/inspection_rules")
def list_rules(request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None,
               detail: str | None = None, limit: int | None = None, marker: str | None = None,
               sort_key: str = "id", sort_dir: str = "asc", phase: str | None = None):
    _gate(ctx)
    authorize(ctx, "baremetal:inspection_rule:get")
    names = stepsets.parse_fields(fields, FIELDS)
    full = pc.boolean("detail", detail) if detail is not None else False
    if names and full:
        raise BadRequest("Can not specify ?detail=True and fields in the same request.")
    if names is None and not full:
        names = list(DEFAULT_FIELDS)
    size = paging.page_limit(limit, request.app.state.tv.conf.api.max_limit)
    column = pc.check_sort(sort_key, sort_dir, inspection_rules, {f: 1 for f in FIELDS + ("id",)}, minor(ctx),
                           ("actions", "conditions"))
    query = select(inspection_rules)
    if phase is not None:
        query = query.where(inspection_rules.c.phase == phase)
    with request.app.state.tv.db.read() as conn:
        mark = _load(conn, pc.check_uuid("marker", marker)) if marker is not None else None
        rows = [dict(r) for r in conn.execute(pc.ordered_page(query, inspection_rules, column, sort_dir, mark, size))
                .mappings()]
    base = base_url(request)
    out = {"inspection_rules": [render(r, base, names) for r in rows]}
    params = {"sort_key": sort_key, "sort_dir": sort_dir, "detail": detail, "phase": phase,
              "fields": ",".join(names) if fields is not None and names else None}
    nxt = pc.next_link(base, "inspection_rules", rows, size, params)
    if nxt:
        out["next"] = nxt
    return out


@router.get("/v1/inspection_rules/{rule_id}")
def show_rule(rule_id: str, request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None):
    _gate(ctx)
    rule_id = pc.check_uuid("inspection_rule_uuid", rule_id)
    authorize(ctx, "baremetal:inspection_rule:get")
    with request.app.state.tv.db.read() as conn:
        row = _load(conn, rule_id)
    return render(row, base_url(request), stepsets.parse_fields(fields, FIELDS))


@router.patch("/v1/inspection_rules/{rule_id}", openapi_extra=openapi.body(PATCH_BODY))
def patch_rule(rule_id: str, request: Request, ctx: RequestContext = Depends(get_context), patch=Depends(json_body)):
    _gate(ctx, 405)
    rule_id = pc.check_uuid("inspection_rule_uuid", rule_id)
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    authorize(ctx, "baremetal:inspection_rule:update")
    with request.app.state.tv.db.write() as conn:
        row = _load(conn, rule_id)
        for op in patch:
            if isinstance(op, dict) and op.get("path") == "/sensitive" and op.get("op") in ("add", "replace") \
                    and not op.get("value") and op.get("value") is not None and row["sensitive"]:
                raise BadRequest(f"Couldn't apply patch '{patch}'. Reason: Inspection rules cannot have the "
                                 "sensitive flag unset.")
        document = {k: copy.deepcopy(row[k]) for k in PATCHABLE}
        for op in patch:
            document = _apply(document, op, ctx, PATCHABLE, ())
        document = {k: v for k, v in document.items() if v is not None or k in ("description", "phase")}
        validate(document)
        values = {"priority": document.get("priority", 0), "description": document.get("description"),
                  "sensitive": bool(document.get("sensitive")) or bool(row["sensitive"]),
                  "phase": document.get("phase") or "main", "conditions": document.get("conditions") or [],
                  "actions": document["actions"]}
        changes = {k: v for k, v in values.items() if v != row[k]}
        if changes:
            changes["updated_at"] = utcnow()
            conn.execute(update(inspection_rules).where(inspection_rules.c.id == rule_id).values(**changes))
        row.update(changes)
    return render(row, base_url(request))


@router.delete("/v1/inspection_rules/{rule_id}", status_code=204)
def delete_rule(rule_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _gate(ctx, 405)
    rule_id = pc.check_uuid("inspection_rule_uuid", rule_id)
    authorize(ctx, "baremetal:inspection_rule:delete")
    with request.app.state.tv.db.write() as conn:
        if not conn.execute(delete(inspection_rules).where(inspection_rules.c.id == rule_id)).rowcount:
            raise NotFound(f"Rule {rule_id} could not be found.")
    return Response(status_code=204)
