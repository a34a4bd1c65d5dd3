"""What deploy templates and runbooks share (Ironic's api utils for both):
named lists of steps, a trait for a name, the microversion gate, lookup by
UUID or name, and list paging with ``fields``/``detail``/``sort_*``.

A row is rendered as Ironic's ``object_to_dict`` does: uuid, created_at,
updated_at, the resource's own fields, its steps and two links.
"""
from __future__ import annotations

import copy
import re
import uuid
from datetime import datetime

import jsonschema
import os_traits
from fastapi import Request
from oslo_utils import strutils
from sqlalchemy import DateTime, Table, func, select

from taskvisor.api.baremetal.paging import check_sort_dir
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal.nodes import base_url, is_uuid, minor
from taskvisor.api.context import RequestContext
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.baremetal.steps import INTERFACE_PRIORITY

# A trait: CUSTOM_* or one of os-traits' standard names (Ironic's TRAITS_SCHEMA).
TRAITS_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255,
                 "anyOf": [{"pattern": "^CUSTOM_[A-Z0-9_]+$"}, {"enum": os_traits.get_traits()}]}
# What /openapi.json says of a name: the enum of ~400 standard traits stays out of the document.
NAME_DOC = {"type": "string", "minLength": 1, "maxLength": 255}
# a step's priority or order: what Ironic's integer column holds (5.57e+31 is "an integer" to JSON Schema)
_PRIORITY = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 2 ** 31 - 1},
                       {"type": "string", "pattern": "^[0-9]{1,9}$"}]}
DEPLOY_STEP_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["interface", "step", "args", "priority"],
    "properties": {"interface": {"type": "string", "enum": list(INTERFACE_PRIORITY)},
                   "step": {"type": "string", "minLength": 1}, "args": {"type": "object"}, "priority": _PRIORITY}}
RUNBOOK_STEP_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["interface", "step", "order"],
    "properties": {"interface": {"type": "string", "enum": list(INTERFACE_PRIORITY)},
                   "step": {"type": "string", "minLength": 1}, "args": {"type": "object"}, "order": _PRIORITY}}
_LOGICAL_NAME = re.compile(r"^[A-Za-z0-9\-._~]{1,255}$")
JSON_SUFFIX_MAX_MINOR = 90  # up to 1.90 "<ident>.json" names <ident> (Ironic's HAS_JSON_SUFFIX)
SORT_REFUSED = ("extra", "steps", "traits")


def gate(ctx: RequestContext, request: Request, since: int, what: str) -> None:
    """Before ``since`` the resource does not exist: GET is a 404, any other
    method a 405 (Ironic's controller ``_route``)."""
    if minor(ctx) < since:
        message = f"The API version does not allow {what}"
        raise NotFound(message) if request.method == "GET" else ApiError(405, message)


def schema_check(name: str, value, schema: dict) -> None:
    """Ironic's ``args.schema``: a JSON Schema violation is a 400."""
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise BadRequest(f"Schema error for {name}: {exc.message}") from None


def check_unique_steps(steps: list[dict], kind: str) -> None:
    seen, dups = set(), set()
    for step in steps:
        key = (step["interface"], step["step"])
        (dups if key in seen else seen).add(key)
    if dups:
        listed = "; ".join(f"interface: {i}, step: {s}" for i, s in sorted(dups))
        raise BadRequest(f"{kind} invalid: Duplicate deploy steps. A template cannot have multiple deploy steps "
                         f"with the same interface and step. Duplicates: {listed}.")


def check_uuid(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not is_uuid(value):
        raise BadRequest(f"Expected a UUID for uuid: {str(value)[:64]}")
    return str(uuid.UUID(value))


def normal_steps(steps: list[dict], key: str) -> list[dict]:
    """Steps as stored and shown: interface, step, args ({} when absent), and
    ``key`` (priority or order) as an integer."""
    return [{"interface": s["interface"], "step": s["step"], "args": copy.deepcopy(s.get("args") or {}),
             key: int(s[key])} for s in steps]


def find(conn, table: Table, ident: str, ctx: RequestContext, not_found) -> dict:
    """By UUID or logical name; up to 1.90 a ``.json`` suffix is ignored."""
    if minor(ctx) <= JSON_SUFFIX_MAX_MINOR and ident.endswith(".json"):
        ident = ident[:-len(".json")]
    if is_uuid(ident):
        where = table.c.uuid == str(uuid.UUID(ident))
    elif _LOGICAL_NAME.match(ident):
        where = table.c.name == ident
    else:
        raise BadRequest(f"Expected a logical name or UUID but received {ident[:64]}.")
    row = conn.execute(select(table).where(where)).mappings().first()
    if row is None:
        raise not_found(ident)
    return dict(row)


def links(request: Request, resource: str, ident: str) -> list[dict]:
    base = base_url(request)
    return [{"href": f"{base}/v1/{resource}/{ident}", "rel": "self"},
            {"href": f"{base}/{resource}/{ident}", "rel": "bookmark"}]


def render(request: Request, resource: str, row: dict, own: tuple[str, ...], step_key: str,
           fields: list[str] | None = None) -> dict:
    out = {"uuid": row["uuid"], "created_at": views.iso_utc(row["created_at"]),
           "updated_at": views.iso_utc(row["updated_at"]), **{name: row[name] for name in own},
           "steps": normal_steps(row["steps"], step_key), "links": links(request, resource, row["uuid"])}
    for step in out["steps"]:
        if step["args"]:
            step["args"] = strutils.mask_dict_password(step["args"], "******")
    if fields is not None:
        out = {k: v for k, v in out.items() if k in fields or k == "links"}
    return out


def parse_fields(fields: str | None, known: tuple[str, ...]) -> list[str] | None:
    if fields is None:
        return None
    names = [f.strip() for f in fields.split(",") if f.strip()]
    bad = [n for n in names if n not in known]
    if bad:
        raise BadRequest(f'Field(s) "{", ".join(bad)}" are not valid')
    return names


def parse_bool(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
        return value.lower() in ("true", "1", "yes", "on")
    raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value[:64]}. Unrecognized value "
                     f"'{value[:64]}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', "
                     "'t', 'true', 'y', 'yes'")


_EPOCH = datetime(1970, 1, 1)


def _sort_expr(table: Table, key: str):
    column = table.c[key]
    if not column.nullable:
        return column
    # nulls sort first, and compare, as the oldest / empty value (one order on SQLite and PostgreSQL)
    return func.coalesce(column, _EPOCH if isinstance(column.type, DateTime) else "")


def list_rows(request: Request, table: Table, *, known: tuple[str, ...], default: tuple[str, ...],
              fields: str | None, detail: str | None, limit: int | None, marker: str | None, sort_key: str,
              sort_dir: str, where=None, not_found) -> tuple[list[dict], list[str] | None, dict]:
    """Rows of one page, the fields to show, and the query arguments the
    ``next`` link repeats."""
    wanted = parse_fields(fields, known)
    show_detail = parse_bool("detail", detail)
    if wanted is not None and show_detail:
        raise BadRequest("Can not specify ?detail=True and fields in the same request.")
    if wanted is None and not show_detail:
        wanted = list(default)
    if limit is not None and limit <= 0:
        raise BadRequest("Limit must be positive")
    max_limit = request.app.state.tv.conf.api.max_limit
    limit = min(limit or max_limit, max_limit)
    check_sort_dir(sort_dir)
    if sort_key in SORT_REFUSED or sort_key not in table.c:
        raise BadRequest(f"The sort_key value {sort_key[:64]} is an invalid field for sorting")
    key = _sort_expr(table, sort_key)
    order = [key, table.c.id] if sort_key != "id" else [table.c.id]
    query = select(table)
    if where is not None:
        query = query.where(where)
    with request.app.state.tv.db.read() as conn:
        if marker is not None:
            mark = conn.execute(select(key.label("k"), table.c.id).where(table.c.uuid == marker)).first() \
                if is_uuid(marker) else None
            if mark is None:
                raise not_found(marker)
            if sort_key == "id":
                after = table.c.id > mark.id if sort_dir == "asc" else table.c.id < mark.id
            elif sort_dir == "asc":
                after = (key > mark.k) | ((key == mark.k) & (table.c.id > mark.id))
            else:
                after = (key < mark.k) | ((key == mark.k) & (table.c.id < mark.id))
            query = query.where(after)
        query = query.order_by(*(c.desc() if sort_dir == "desc" else c for c in order)).limit(limit)
        rows = [dict(r) for r in conn.execute(query).mappings()]
    args = {"sort_key": sort_key, "sort_dir": sort_dir}
    if show_detail is not None:
        args["detail"] = show_detail
    if fields is not None:
        args["fields"] = ",".join(wanted)
    return rows, wanted, {"limit": limit, "args": args}


def page(request: Request, resource: str, items: list[dict], rows: list[dict], paging: dict) -> dict:
    out = {resource: items}
    if rows and len(rows) == paging["limit"]:
        query = "".join(f"{k}={v}&" for k, v in paging["args"].items())
        out["next"] = f"{base_url(request)}/v1/{resource}?{query}limit={paging['limit']}&marker={rows[-1]['uuid']}"
    return out
