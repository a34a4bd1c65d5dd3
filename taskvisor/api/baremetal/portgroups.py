"""Port groups (bonds) of a node's ports, from API 1.23: Ironic's portgroup
controller's shapes, version gates, codes and messages; access follows the
group's node (owner, lessee)."""
from __future__ import annotations

import copy
import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api import openapi
from taskvisor.api.baremetal import port_common as pc
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal.nodes import PATCH_BODY, _apply, base_url, is_uuid, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import allowed, authorize
from taskvisor.api.validation import json_body
from taskvisor.db.models import portgroups, ports
from taskvisor.db.session import utcnow
from taskvisor.states import node as states

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes

MIN_VERSION = 23
JSON_SUFFIX_UNTIL = 90  # up to 1.90 Ironic strips a ".json" suffix from the identifier
DEFAULT_MODE = "active-backup"  # Ironic's [DEFAULT] default_portgroup_mode
VERSIONED = {"uuid": 23, "address": 23, "name": 23, "node_uuid": 23, "extra": 23, "internal_info": 23,
             "standalone_ports_supported": 23, "created_at": 23, "updated_at": 23, "links": 23, "ports": 23,
             "mode": 26, "properties": 26, "physical_network": 102, "category": 103, "dynamic_portgroup": 111}
LIST_FIELDS = ["uuid", "address", "name"]
WRITABLE = ("address", "extra", "mode", "name", "node_uuid", "properties", "standalone_ports_supported",
            "physical_network", "category")
OBJECTS = ("extra", "properties")
UNSORTABLE = ("extra", "internal_info", "properties")
NODE_MOVE_STATES = (states.ENROLL, states.MANAGEABLE, "inspecting", "inspect wait")

PORTGROUP_BODY = {"type": "object", "required": ["node_uuid"], "additionalProperties": False, "properties": {
    "node_uuid": {"type": "string", "format": "uuid"}, "uuid": {"type": ["string", "null"], "format": "uuid"},
    "address": {"type": ["string", "null"]}, "name": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
    "mode": {"type": ["string", "null"], "maxLength": 255}, "extra": {"type": ["object", "null"]},
    "properties": {"type": ["object", "null"]}, "standalone_ports_supported": {"type": ["boolean", "null"]},
    "physical_network": {"type": ["string", "null"], "maxLength": 64},
    "category": {"type": ["string", "null"], "maxLength": 80}}}


def _too_old() -> NotFound:
    return NotFound("The API is not supported for this version")


def render(row: dict, m: int, base: str, names: list[str] | None = None) -> dict:
    out = {"uuid": row["id"], "address": row["address"], "name": row["name"], "node_uuid": row["node_id"],
           "extra": row["extra"] or {}, "internal_info": row["internal_info"] or {},
           "standalone_ports_supported": row["standalone_ports_supported"], "mode": row["mode"],
           "properties": row["properties"] or {}, "physical_network": row["physical_network"],
           "category": row["category"], "dynamic_portgroup": row["dynamic_portgroup"],
           "created_at": views.iso_utc(row["created_at"]), "updated_at": views.iso_utc(row["updated_at"]),
           "links": pc.links(base, "portgroups", row["id"]),
           "ports": [{"href": f"{base}/v1/portgroups/{row['id']}/ports", "rel": "self"},
                     {"href": f"{base}/portgroups/{row['id']}/ports", "rel": "bookmark"}]}
    out = {k: v for k, v in out.items() if VERSIONED[k] <= m}
    return pc.select_fields(out, names)


def find(conn, ident: str) -> dict:
    """By UUID or name (Ironic's get_rpc_portgroup)."""
    pc.check_ident("portgroup_ident", ident)
    column = portgroups.c.id if is_uuid(ident) else portgroups.c.name
    value = str(uuid.UUID(ident)) if is_uuid(ident) else ident
    row = conn.execute(select(portgroups).where(column == value)).mappings().first()
    if row is None:
        raise NotFound(f"Portgroup {ident[:64]} could not be found.")
    return dict(row)


def load_visible(conn, ctx: RequestContext, ident: str, m: int) -> tuple[dict, dict | None]:
    """The group and its node; a group whose node the caller may not see is not found."""
    if m <= JSON_SUFFIX_UNTIL and ident.endswith(".json"):
        ident = ident[:-len(".json")]
    group = find(conn, ident)
    node = pc.load_node(conn, group["node_id"])
    if not pc.sees_node(ctx, node):
        raise NotFound(f"Portgroup {ident[:64]} could not be found.")
    return group, node


def _load_for(conn, ctx: RequestContext, ident: str, rule: str, m: int) -> tuple[dict, dict]:
    group, node = load_visible(conn, ctx, ident, m)
    authorize(ctx, rule, pc.target(node))
    return group, node


def _check(values: dict, m: int) -> dict:
    out = dict(values)
    if "address" in out:
        out["address"] = pc.mac("address", out["address"])
    for name in OBJECTS:
        if name in out:
            if out[name] is None:
                out[name] = {}
            elif not isinstance(out[name], dict):
                raise BadRequest(f"Invalid input for field/attribute {name}. Value: {out[name]!r}. Wrong type. "
                                 "Expected 'dict'")
    if "standalone_ports_supported" in out:
        out["standalone_ports_supported"] = pc.boolean("standalone_ports_supported", out["standalone_ports_supported"])
    for name, size in (("mode", 255), ("physical_network", 64), ("category", 80)):
        value = out.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > size):
            raise BadRequest(f"Invalid input for field/attribute {name}. Expected a string of at most {size} "
                             "characters")
    if "node_uuid" in out:
        out["node_uuid"] = pc.check_uuid("node_uuid", out["node_uuid"])
    return out


def _check_name(name, message: str) -> None:
    if name is not None and (not pc.is_logical_name(name) or is_uuid(name)):
        raise BadRequest(message)


def _duplicate(conn, row: dict, exclude: str | None = None) -> Conflict | None:
    return pc.duplicate(conn, portgroups, "portgroup", row, exclude)


@router.post("/v1/portgroups", status_code=201, openapi_extra=openapi.body(PORTGROUP_BODY))
def create_portgroup(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                     body=Depends(json_body)):
    m = minor(ctx)
    if m < MIN_VERSION:
        raise _too_old()
    pc.check_body(body, "portgroup", set(WRITABLE) | {"uuid"})
    if body.get("node_uuid") is None:
        raise BadRequest("Schema error for portgroup: 'node_uuid' is a required property")
    values = _check({k: v for k, v in body.items() if k in WRITABLE}, m)
    group_id = pc.check_uuid("uuid", body.get("uuid")) or str(uuid.uuid4())
    with request.app.state.tv.db.write() as conn:
        node = pc.load_node(conn, values["node_uuid"])
        visible = pc.sees_node(ctx, node)
        authorize(ctx, "baremetal:portgroup:create", pc.target(node if visible else None))
        if not visible:
            raise BadRequest(f"Node {values['node_uuid']} could not be found.")
        if m < 26 and (values.get("mode") or values.get("properties")):
            raise pc.not_acceptable()
        pc.gate([k for k in values if k not in ("mode", "properties")], VERSIONED, m)
        _check_name(values.get("name"), f"Cannot create portgroup with invalid name '{values.get('name')}'")
        now = utcnow()
        row = {"id": group_id, "node_id": node["id"], "name": values.get("name"), "address": values.get("address"),
               "mode": values.get("mode") or DEFAULT_MODE, "properties": values.get("properties") or {},
               "standalone_ports_supported": values.get("standalone_ports_supported", True) is not False,
               "physical_network": values.get("physical_network"), "category": values.get("category"),
               "dynamic_portgroup": False, "extra": values.get("extra") or {}, "internal_info": {},
               "created_at": now, "updated_at": None}
        conflict = _duplicate(conn, row)
        if conflict:
            raise conflict
        try:
            conn.execute(insert(portgroups).values(**row))
        except IntegrityError:  # a concurrent request took the UUID, name or MAC: which one, read afresh
            with request.app.state.tv.db.read() as fresh:
                raise _duplicate(fresh, row) or Conflict(
                    f"A portgroup with UUID {row['id']} already exists.") from None
    base = base_url(request)
    response.headers["Location"] = f"{base}/v1/portgroups/{group_id}"
    return render(row, m, base)


def _list(request: Request, ctx: RequestContext, path: str, detail_route: bool, *, node: str | None = None,
          address: str | None = None, fields: str | None = None, detail: str | None = None,
          limit: int | None = None, marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc",
          parent_node: str | None = None) -> dict:
    m = minor(ctx)
    if m < MIN_VERSION or parent_node is not None and m < pc.SUBCONTROLLER_VERSION:
        raise _too_old()
    names = None if detail_route else pc.wanted_fields(fields, detail, m, VERSIONED, LIST_FIELDS)
    address = pc.mac("address", address)
    column = pc.check_sort(sort_key, sort_dir, portgroups, VERSIONED, m, UNSORTABLE)
    limit = pc.check_limit(limit, request.app.state.tv.conf.api.max_limit)
    if (parent_node or node) and address:
        raise BadRequest("Filtering by node, address, or shard simultaneously is not supported.")
    query = select(portgroups)
    with request.app.state.tv.db.read() as conn:
        if parent_node is not None:
            owner = pc.parent_node(conn, ctx, parent_node, m)
            query = query.where(portgroups.c.node_id == owner["id"])
        if not allowed(ctx, "baremetal:portgroup:list_all"):
            authorize(ctx, "baremetal:portgroup:list")
            query = query.where(portgroups.c.node_id.in_(pc.project_nodes(ctx.project_id)))
        if node is not None and parent_node is None:
            pc.check_ident("node", node)
            found = pc.find_node(conn, node, m)
            if found is None:
                raise NotFound(f"Node {node[:64]} could not be found.")
            query = query.where(portgroups.c.node_id == found["id"])
        if address is not None:
            query = query.where(portgroups.c.address == address)
        mark = None
        if marker is not None:
            mark = find(conn, pc.check_uuid("marker", marker))
        rows = [dict(r) for r in conn.execute(pc.ordered_page(query, portgroups, column, sort_dir, mark,
                                                              limit)).mappings()]
    base = base_url(request)
    out = {"portgroups": [render(r, m, base, names) for r in rows]}
    params = {"sort_key": sort_key, "sort_dir": sort_dir,
              "fields": ",".join(names) if fields is not None and names else None, "detail": detail}
    nxt = pc.next_link(base, path, rows, limit, params)
    if nxt:
        out["next"] = nxt
    return out


@router.get("/v1/portgroups")
def list_portgroups(request: Request, ctx: RequestContext = Depends(get_context), node: str | None = None,
                    address: str | None = None, fields: str | None = None, detail: str | None = None,
                    limit: int | None = None, marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return _list(request, ctx, "portgroups", False, node=node, address=address, fields=fields, detail=detail,
                 limit=limit, marker=marker, sort_key=sort_key, sort_dir=sort_dir)


@router.get("/v1/portgroups/detail")
def list_portgroups_detail(request: Request, ctx: RequestContext = Depends(get_context), node: str | None = None,
                           address: str | None = None, limit: int | None = None, marker: str | None = None,
                           sort_key: str = "id", sort_dir: str = "asc"):
    return _list(request, ctx, "portgroups/detail", True, node=node, address=address, limit=limit, marker=marker,
                 sort_key=sort_key, sort_dir=sort_dir)


@router.get("/v1/nodes/{node_ident}/portgroups")
def list_node_portgroups(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                         fields: str | None = None, detail: str | None = None, limit: int | None = None,
                         marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return _list(request, ctx, f"nodes/{node_ident}/portgroups", False, fields=fields, detail=detail, limit=limit,
                 marker=marker, sort_key=sort_key, sort_dir=sort_dir, parent_node=node_ident)


@router.get("/v1/nodes/{node_ident}/portgroups/detail")
def list_node_portgroups_detail(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                                limit: int | None = None, marker: str | None = None, sort_key: str = "id",
                                sort_dir: str = "asc"):
    return _list(request, ctx, f"nodes/{node_ident}/portgroups/detail", True, limit=limit, marker=marker,
                 sort_key=sort_key, sort_dir=sort_dir, parent_node=node_ident)


@router.get("/v1/portgroups/{portgroup_ident}")
def show_portgroup(portgroup_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                   fields: str | None = None):
    m = minor(ctx)
    if m < MIN_VERSION:
        raise _too_old()
    with request.app.state.tv.db.read() as conn:
        group, _ = _load_for(conn, ctx, portgroup_ident, "baremetal:portgroup:get", m)
    names = pc.fields_param(fields, m, VERSIONED)
    return render(group, m, base_url(request), names)


@router.patch("/v1/portgroups/{portgroup_ident}", openapi_extra=openapi.body(PATCH_BODY))
def patch_portgroup(portgroup_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                    patch=Depends(json_body)):
    m = minor(ctx)
    if m < MIN_VERSION:
        raise _too_old()
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    with request.app.state.tv.db.write() as conn:
        group, node = _load_for(conn, ctx, portgroup_ident, "baremetal:portgroup:update", m)
        paths = {op["path"].split("/")[1] for op in patch if isinstance(op, dict)
                 and isinstance(op.get("path"), str) and op["path"].count("/") >= 1}
        pc.gate(paths, VERSIONED, m)
        current = {"node_uuid": group["node_id"], **{k: copy.deepcopy(group[k]) for k in WRITABLE if k in group}}
        document = dict(current)
        for op in patch:
            if isinstance(op, dict) and op.get("op") == "add" and isinstance(op.get("path"), str) \
                    and op["path"].count("/") == 1 and op["path"][1:] not in document:
                raise BadRequest(f"Adding a new attribute ({op['path']}) to the root of the resource is not allowed")
            document = _apply(document, op, ctx, WRITABLE, OBJECTS)
        if document.get("mode") is None:
            raise BadRequest("'mode' is a mandatory attribute and can not be removed")
        if document.get("node_uuid") is None:
            raise BadRequest("Schema error for portgroup: 'node_uuid' is a required property")
        document = _check(document, m)
        _check_name(document.get("name"), f"Portgroup {portgroup_ident}: Cannot change name to invalid name "
                                          f"'{document.get('name')}'")
        changes = {k: v for k, v in document.items() if v != current.get(k)}
        if "node_uuid" in changes:
            new_node = pc.load_node(conn, changes["node_uuid"])
            if not pc.sees_node(ctx, new_node):
                raise BadRequest(f"Node {changes['node_uuid']} could not be found.")
            authorize(ctx, "baremetal:portgroup:update", pc.target(new_node))
            if node["provision_state"] not in NODE_MOVE_STATES and not node["maintenance"]:
                raise Conflict(f"Portgroup {group['id']} can not be associated to node {new_node['id']} unless the "
                               f"node is in a {', '.join(NODE_MOVE_STATES)} state or in maintenance mode. Current "
                               f"state is '{node['provision_state']}'.")
            if conn.execute(select(ports.c.id).where(ports.c.portgroup_id == group["id"])).first():
                raise BadRequest(f"Cannot complete the requested action because portgroup {group['id']} contains "
                                 "ports.")
            node = new_node
        if node["task_id"] is not None:
            raise pc.locked(request, node)
        row = {**group, **{k: v for k, v in document.items() if k != "node_uuid"}, "node_id": document["node_uuid"]}
        if changes:
            if changes.get("standalone_ports_supported") is False and conn.execute(select(ports.c.id).where(
                    ports.c.portgroup_id == group["id"], ports.c.pxe_enabled.is_(True))).first():
                raise Conflict(f"Cannot set standalone_ports_supported to False for portgroup {group['id']}: it "
                               "has ports with pxe_enabled set to True")
            conflict = _duplicate(conn, row, exclude=group["id"])
            if conflict:
                raise conflict
            row["updated_at"] = utcnow()
            values = {k: row[k] for k in portgroups.c.keys() if k not in ("id", "created_at")}
            try:
                conn.execute(update(portgroups).where(portgroups.c.id == group["id"]).values(**values))
            except IntegrityError:  # a concurrent request took the name or MAC
                with request.app.state.tv.db.read() as fresh:
                    raise _duplicate(fresh, row, exclude=group["id"]) or Conflict(
                        f"A portgroup with MAC address {row['address']} already exists.") from None
            if "physical_network" in changes:  # Ironic moves the member ports along (1.102)
                conn.execute(update(ports).where(ports.c.portgroup_id == group["id"]).values(
                    physical_network=row["physical_network"], updated_at=row["updated_at"]))
    return render(row, m, base_url(request))


@router.delete("/v1/portgroups/{portgroup_ident}", status_code=204)
def delete_portgroup(portgroup_ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    m = minor(ctx)
    if m < MIN_VERSION:
        raise _too_old()
    with request.app.state.tv.db.write() as conn:
        group, node = _load_for(conn, ctx, portgroup_ident, "baremetal:portgroup:delete", m)
        if node is not None and node["task_id"] is not None:
            raise pc.locked(request, node)
        if conn.execute(select(ports.c.id).where(ports.c.portgroup_id == group["id"])).first():
            raise BadRequest(f"Cannot complete the requested action because portgroup {group['id']} contains ports.")
        conn.execute(delete(portgroups).where(portgroups.c.id == group["id"]))
    return Response(status_code=204)
