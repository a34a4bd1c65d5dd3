"""Ironic's volume resource (1.32+): the /v1/volume and /v1/nodes/{node}/volume
link documents, and what volume connectors and targets share: the version
gate, access through the record's node (as ports), their lists, and the
conductor's rule that a node's volume records change only while it is
powered off (deletion also in enroll, manageable and adopt failed)."""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from taskvisor.api.baremetal import paging
from taskvisor.api.baremetal import port_common as pc
from taskvisor.api.baremetal.nodes import base_url, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.policy import allowed, authorize
from taskvisor.db.models import nodes
from taskvisor.states import node as states

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes

VOLUME_VERSION = 32
POWER_OFF = "power off"
# Ironic's DELETE_ALLOWED_STATES: there a volume record may go whatever the power state
DELETE_ANY_POWER = (states.ENROLL, states.MANAGEABLE, "adopt failed")


def gate(ctx: RequestContext) -> int:
    m = minor(ctx)
    if m < VOLUME_VERSION:
        raise NotFound("The API is not supported for this version")
    return m


def _links(base: str, path: str) -> list[dict]:
    return [{"href": f"{base}/v1/{path}", "rel": "self"}, {"href": f"{base}/{path}", "rel": "bookmark"}]


def _document(base: str, prefix: str) -> dict:
    return {"links": _links(base, f"{prefix}/"), "connectors": _links(base, f"{prefix}/connectors"),
            "targets": _links(base, f"{prefix}/targets")}


@router.get("/v1/volume")
def volume_root(request: Request, ctx: RequestContext = Depends(get_context)):
    gate(ctx)
    authorize(ctx, "baremetal:volume:get", pc.target(None))
    return _document(base_url(request), "volume")


@router.get("/v1/nodes/{node_ident}/volume")
def node_volume_root(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    gate(ctx)
    authorize(ctx, "baremetal:volume:get", pc.target(None))  # Ironic checks the rule alone, not the node
    return _document(base_url(request), f"nodes/{node_ident}/volume")


def load_for(conn, ctx: RequestContext, table, ident: str, rule: str, missing: str) -> tuple[dict, dict | None]:
    """The record and its node, Ironic's way: a record whose node the caller
    may not see is not found; one it sees but may not act on is a 403."""
    row = conn.execute(select(table).where(table.c.id == ident)).mappings().first()
    if row is None:
        raise NotFound(missing)
    node = pc.load_node(conn, row["node_id"])
    target = pc.target(node)
    if not allowed(ctx, "baremetal:node:get", target):
        raise NotFound(missing)
    authorize(ctx, rule, target)
    return dict(row), node


def node_for_create(conn, ctx: RequestContext, node_uuid: str) -> dict:
    """The node a new record names: the rule is checked against it (a 403
    whether or not the caller sees it), then a missing one is a 400."""
    node = pc.load_node(conn, node_uuid)
    authorize(ctx, "baremetal:volume:create", pc.target(node))
    if node is None:
        raise BadRequest(f"Invalid input for field/attribute node_uuid. Value: '{node_uuid}'. ")
    return node


def linked_node(conn, ctx: RequestContext, current: dict | None, new_uuid: str, rule: str) -> dict:
    """A patch moving a record to another node: one the caller may not see,
    or of another owner, is refused with the same words (Ironic's
    authorize_node_link), and the rule must allow the change there too."""
    refused = BadRequest(f"Unable to apply the requested node_uuid '{new_uuid}'. Requested value was invalid.")
    node = pc.load_node(conn, new_uuid)
    if not pc.sees_node(ctx, node) or (current or {}).get("owner") != node["owner"]:
        raise refused
    authorize(ctx, rule, pc.target(node))
    return node


def invalid_state(action: str, node: dict) -> BadRequest:
    return BadRequest(f'The requested action "{action}" can not be performed on node "{node["id"]}" while it is '
                      f'in state "{node["power_state"]}".')


def with_node_lock(request: Request, node_id: str, work):
    """Run ``work(conn, node)`` in one transaction while no task holds the
    node (its row locked against a task taking it meanwhile). As Ironic's
    conductor does, a held node is asked for a few times before the 409."""
    tv = request.app.state.tv
    conf = tv.conf.conductor
    tries = max(1, int(conf.node_locked_retry_attempts))
    for attempt in range(1, tries + 1):
        with tv.db.write() as conn:
            row = conn.execute(select(nodes).where(nodes.c.id == node_id).with_for_update()).mappings().first()
            if row is None:
                raise NotFound(f"Node {node_id} could not be found.")
            node = dict(row)
            if node["task_id"] is None:
                return work(conn, node)
        if attempt == tries:
            raise pc.locked(request, node)
        time.sleep(float(conf.node_locked_retry_interval))
    raise AssertionError("unreachable")


def check_powered_off(node: dict, action: str, deleting: bool = False) -> None:
    if deleting and node["provision_state"] in DELETE_ANY_POWER:
        return
    if node["power_state"] != POWER_OFF:
        raise invalid_state(action, node)


def wanted(fields: str | None, detail: str | None, known, defaults: list[str]) -> list[str] | None:
    """Ironic's volume lists: the defaults, ``fields``, or all (None) for ?detail=true."""
    names = None
    if fields is not None:
        names = []
        for item in fields.split(","):
            item = item.strip()
            if item and item not in names:
                names.append(item)
        invalid = [n for n in names if n not in known]
        if invalid:
            raise BadRequest(f'Field(s) "{", ".join(invalid)}" are not valid')
    full = pc.boolean("detail", detail) if detail is not None else False
    if names and full:
        raise BadRequest("Can't fetch a subset of fields with 'detail' set")
    if names is None and not full:
        return list(defaults)
    return names


def list_rows(request: Request, ctx: RequestContext, table, *, node: str | None, parent: str | None,
              limit: int | None, marker: str | None, sort_key: str, sort_dir: str, sortable: dict,
              unsortable: tuple, missing: str) -> list[dict]:
    """The page of ``table`` the caller may see: Ironic's order of checks
    (the parent node and list rule, then paging, then the node filter)."""
    m = minor(ctx)
    with request.app.state.tv.db.read() as conn:
        owner = pc.parent_node(conn, ctx, parent, m) if parent is not None else None
        query = select(table)
        if not allowed(ctx, "baremetal:volume:list_all", pc.target(owner)):
            if not ctx.project_id:
                authorize(ctx, "baremetal:volume:list_all", pc.target(owner))
            authorize(ctx, "baremetal:volume:list", pc.target(owner))
            query = query.where(table.c.node_id.in_(pc.project_nodes(ctx.project_id)))
        size = paging.page_limit(limit, request.app.state.tv.conf.api.max_limit)
        column = pc.check_sort(sort_key, sort_dir, table, sortable, m, unsortable)
        mark = None
        if marker is not None:
            mark = conn.execute(select(table).where(table.c.id == pc.check_uuid("marker", marker))
                                ).mappings().first()
            if mark is None:
                raise NotFound(missing.format(marker))
        if owner is None and node is not None:
            owner = pc.find_node(conn, node, m)
            if owner is None:
                raise NotFound(f"Node {node[:64]} could not be found.")
        if owner is not None:
            query = query.where(table.c.node_id == owner["id"])
        rows = [dict(r) for r in conn.execute(pc.ordered_page(query, table, column, sort_dir, mark, size)).mappings()]
    return rows, size


def collection(request: Request, name: str, path: str, items: list[dict], rows: list[dict], size: int,
               params: dict) -> dict:
    out = {name: items}
    nxt = pc.next_link(base_url(request), path, rows, size, params)
    if nxt:
        out["next"] = nxt
    return out


_JSON_TYPES = {"string": str, "object": dict, "integer": int}


def check_schema(kind: str, values: dict, schema: dict[str, tuple[str, bool]], required: tuple) -> None:
    """Ironic's jsonschema of a connector or target (types; required,
    non-null members), in its words."""
    for name in required:
        if name not in values:
            raise BadRequest(f"Schema error for {kind}: '{name}' is a required property")
    for name, (kind_name, nullable) in schema.items():
        if name not in values:
            continue
        value = values[name]
        if value is None and nullable:
            continue
        expected = _JSON_TYPES[kind_name]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise BadRequest(f"Schema error for {kind}: {value!r} is not of type '{kind_name}'")
