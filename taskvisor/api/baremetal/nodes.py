"""Nodes: create, list, detail, show (by UUID or name), JSON-patch, delete.
Shapes, codes and messages follow Ironic's node controller."""
from __future__ import annotations

import copy
import re
import uuid

import jsonpatch
import jsonpointer
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api.baremetal.paging import check_sort_dir, page_limit
from taskvisor.api import fragments, gc_pause, openapi
from taskvisor.api.baremetal import drivers, node_filters, node_interfaces, views
from taskvisor.api.baremetal.node_filters import NodeFilters
from taskvisor.api.baremetal.secrets import REDACTED, node_target, redact, shows_stored_driver_info
from taskvisor.api.baremetal import node_chassis
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, Conflict, NotFound
from taskvisor.api.policy import allowed, authorize, memo_allowed
from taskvisor.api.responses import JsonResponse
from taskvisor.api.validation import json_body
from taskvisor.db.models import allocations, node_traits, nodes
from taskvisor.db.session import utcnow
from taskvisor.states import node as states

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
_NAME = re.compile(r"^[A-Za-z0-9\-._~]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_RESERVED_NAMES = ("detail", "validate")
_STORED = ("driver", "name", "driver_info", "properties", "extra", "instance_info", "instance_uuid",
           "resource_class", "automated_clean", "maintenance", "owner", "lessee", "conductor_group", "shard",
           "description")
_OBJECTS = ("driver_info", "properties", "extra", "instance_info")
PATCHABLE = ("automated_clean", "driver", "driver_info", "extra", "instance_info", "instance_uuid",
             "lessee", "maintenance", "name", "owner", "properties", "resource_class", "conductor_group", "shard",
             "description", "protected", "protected_reason")
# Ironic's rule for changing each field (on top of baremetal:node:update)
FIELD_RULES = {"automated_clean": "baremetal:node:update:automated_clean",
               "driver": "baremetal:node:update:driver_interfaces",
               "driver_info": "baremetal:node:update:driver_info", "extra": "baremetal:node:update_extra",
               "instance_info": "baremetal:node:update_instance_info",
               "instance_uuid": "baremetal:node:update:instance_uuid", "lessee": "baremetal:node:update:lessee",
               "maintenance": "baremetal:node:update:maintenance", "name": "baremetal:node:update:name",
               "owner": "baremetal:node:update:owner", "properties": "baremetal:node:update:properties",
               "resource_class": "baremetal:node:update:resource_class",
               "conductor_group": "baremetal:node:update:conductor_group", "shard": "baremetal:node:update:shard",
               # Ironic has no rule of its own for these
               "description": "baremetal:node:update", "protected": "baremetal:node:update",
               "protected_reason": "baremetal:node:update"}
_GROUP = re.compile(r"^[A-Za-z0-9_\-.]*$")  # Ironic's conductor group names (stored lower case)


def minor(ctx: RequestContext) -> int:
    return ctx.microversion[1]


def base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/baremetal"


def conductor_host(request: Request) -> str:
    return request.app.state.tv.conf.DEFAULT.host


def live_conductors(request: Request) -> list[dict]:
    """The registered conductors (``drivers.conductors``): what a node's
    ``conductor`` field is computed from."""
    tv = request.app.state.tv
    with tv.db.read() as conn:
        return drivers.conductors(conn, tv.conf.DEFAULT.service_down_time)


def recorded_drivers(request: Request) -> dict:
    with request.app.state.tv.db.read() as conn:
        return drivers.recorded(conn)


def is_uuid(text: str) -> bool:
    return bool(_UUID.match(text))


# constant statements: SQLAlchemy reuses their compiled form (every node request and poll loads one)
_NODE_BY_ID = select(nodes).where(nodes.c.id == bindparam("ident"))
_NODE_BY_NAME = select(nodes).where(nodes.c.name == bindparam("ident"))


def load_node(conn, ident: str, ctx: RequestContext, any_version: bool = False) -> dict:
    """By UUID, or by name from 1.5 on (``any_version``: taskvisor's own
    routes, which have no older behaviour to keep, take names always)."""
    by_id = is_uuid(ident)
    if not by_id and minor(ctx) < 5 and not any_version:
        raise BadRequest(f"Expected a UUID but received {ident}.")
    row = conn.execute(_NODE_BY_ID if by_id else _NODE_BY_NAME,
                       {"ident": str(uuid.UUID(ident)) if by_id else ident}).mappings().first()
    if row is None:
        raise NotFound(f"Node {ident[:64]} could not be found.")
    return dict(row)


def with_related(conn, rows) -> list[dict]:
    """Node rows with their ``traits`` (node_traits) and ``allocation_uuid``."""
    rows = [dict(r) for r in rows]
    traits, held = related(conn, [r["id"] for r in rows])
    for row in rows:
        row.update(traits=traits.get(row["id"], []), allocation_uuid=held.get(row["id"]))
    return rows


# built once: a list of 1,000 nodes asks them with 1,000 ids (building the IN
# of literals afresh cost more than running it)
_TRAITS_OF = (select(node_traits.c.node_id, node_traits.c.trait)
              .where(node_traits.c.node_id.in_(bindparam("ids", expanding=True))).order_by(node_traits.c.trait))
_ALLOCATION_OF = select(allocations.c.node_id, allocations.c.id).where(
    allocations.c.node_id.in_(bindparam("ids", expanding=True)))


def related(conn, ids: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """The traits (sorted) and the allocation of each of these nodes that has any."""
    traits: dict[str, list[str]] = {}
    held: dict[str, str] = {}
    if ids:
        for node_id, trait in conn.execute(_TRAITS_OF, {"ids": ids}):
            traits.setdefault(node_id, []).append(trait)
        held = dict(conn.execute(_ALLOCATION_OF, {"ids": ids}).all())
    return traits, held


def authorize_node(ctx: RequestContext, rule: str, node: dict, ident: str | None = None) -> None:
    """Ironic's order: a node the caller may not even see is a 404 (its
    existence is not leaked); one it sees but may not act on is a 403."""
    target = node_target(node)
    if not allowed(ctx, "baremetal:node:get", target):
        raise NotFound(f"Node {(ident or node['id'])[:64]} could not be found.")
    if rule != "baremetal:node:get":  # asked and answered just above
        authorize(ctx, rule, target)


def node_locked(request: Request, node: dict) -> ApiError:
    host = node.get("reservation") or conductor_host(request)
    return ApiError(409, f"Node {node['id']} is locked by host {host}, please retry after the current "
                         "operation is completed.")


def _bool(name: str, value):
    """Ironic accepts booleans and their string forms."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
        return value.lower() in ("true", "1", "yes", "on")
    raise BadRequest(f"Invalid boolean value for {name}: {value!r}")


def check_values(values: dict, ctx: RequestContext, known_drivers: dict) -> dict:
    """Types, names and drivers of node fields a user may set."""
    out = dict(values)
    if "driver" in out and out["driver"] not in known_drivers:
        raise BadRequest(f"No valid host was found. Reason: No conductor service registered which supports "
                         f"driver {out['driver']} for conductor group \"{out.get('conductor_group') or ''}\".")
    if "conductor_group" in out:
        group = out["conductor_group"]
        if group is None:
            group = ""
        if not isinstance(group, str) or len(group) > 255 or not _GROUP.fullmatch(group):
            raise BadRequest(f"Invalid conductor_group {str(group)[:64]!r}: use letters, digits, _, - and . "
                             "(at most 255)")
        out["conductor_group"] = group.lower()
    if out.get("shard") is not None and (not isinstance(out["shard"], str) or not out["shard"]
                                         or len(out["shard"]) > 255):
        raise BadRequest("Invalid input for field/attribute shard. Expected a non-empty string of at most 255 "
                         "characters")
    if "protected" in out:
        out["protected"] = bool(_bool("protected", out["protected"]))
    if out.get("protected_reason") is not None and (not isinstance(out["protected_reason"], str)
                                                    or len(out["protected_reason"]) > 255):
        raise BadRequest("Invalid input for field/attribute protected_reason. Expected a string of at most 255 "
                         "characters")
    if out.get("description") is not None and (not isinstance(out["description"], str)
                                               or len(out["description"]) > 4096):
        raise BadRequest("Invalid input for field/attribute description. Expected a string of at most 4096 "
                         "characters")
    for name in _OBJECTS:
        if name in out:
            if out[name] is None:
                out[name] = {}
            elif not isinstance(out[name], dict):
                raise BadRequest(f"Invalid input for field/attribute {name}. Value: {out[name]!r}. "
                                 "Wrong type. Expected 'dict'")
    for name in ("automated_clean", "maintenance"):
        if name in out:
            out[name] = _bool(name, out[name])
    for name in ("owner", "lessee"):
        if out.get(name) is not None and (not isinstance(out[name], str) or len(out[name]) > 255):
            raise BadRequest(f"Invalid input for field/attribute {name}. Expected a string of at most 255 "
                             "characters")
    if out.get("name") is not None:
        name = out["name"]
        if not isinstance(name, str) or not _NAME.fullmatch(name) or is_uuid(name) or name in _RESERVED_NAMES \
                or len(name) > 255:
            raise BadRequest(f"Cannot create node with invalid name '{str(name)[:64]}'")
    if out.get("instance_uuid") is not None and not (isinstance(out["instance_uuid"], str)
                                                     and is_uuid(out["instance_uuid"])):
        raise BadRequest(f"Expected a UUID for instance_uuid: {out['instance_uuid']}")
    if out.get("resource_class") is not None and (not isinstance(out["resource_class"], str)
                                                  or len(out["resource_class"]) > 80):
        raise BadRequest("resource_class must be a string of at most 80 characters")
    for name in ("name", "driver"):
        if name in out and out[name] is not None and not isinstance(out[name], str):
            raise BadRequest(f"Invalid input for field/attribute {name}. Wrong type. Expected 'str'")
    return out


def check_served(conductors: list[dict], driver: str, group: str) -> None:
    """A node needs a conductor of its group offering its driver (Ironic
    refuses one no conductor could serve: NoValidHost, 400)."""
    if not any(c["conductor_group"] == group and driver in c["drivers"] for c in conductors):
        raise BadRequest(f"No valid host was found. Reason: No conductor service registered which supports "
                         f"driver {driver} for conductor group \"{group}\".")


def _reject_newer(values: dict, ctx: RequestContext) -> None:
    for name, value in values.items():
        if value is not None and views.VERSIONED.get(name, 1) > minor(ctx):
            raise ApiError(406, "Request not acceptable.")


# Ironic checks these in code (check_values); the document says the same.
NODE_BODY = {"type": "object", "required": ["driver"], "additionalProperties": False, "properties": {
    "driver": {"type": "string"}, "name": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._~-]{1,255}$"},
    "uuid": {"type": "string", "format": "uuid"}, "resource_class": {"type": ["string", "null"], "maxLength": 80},
    "instance_uuid": {"type": ["string", "null"], "format": "uuid"}, "maintenance": {"type": "boolean"},
    "automated_clean": {"type": ["boolean", "null"]}, "owner": {"type": ["string", "null"], "maxLength": 255},
    "lessee": {"type": ["string", "null"], "maxLength": 255},
    "conductor_group": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_.-]{0,255}$"},
    "shard": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
    "description": {"type": ["string", "null"], "maxLength": 4096},
    **{name: {"type": ["object", "null"]} for name in ("driver_info", "properties", "extra", "instance_info")}}}
PATCH_BODY = {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["op", "path"], "properties": {
    "op": {"enum": ["add", "replace", "remove"]}, "path": {"type": "string", "pattern": "^/"}, "value": {}}}}
NODE_BODY["properties"]["chassis_uuid"] = node_chassis.BODY


@router.post("/v1/nodes", status_code=201, openapi_extra=openapi.body(NODE_BODY))
def create_node(request: Request, response: Response, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    authorize(ctx, "baremetal:node:create")
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field/attribute node. Value: body. Wrong type. Expected 'dict'")
    if not body.get("driver"):
        raise BadRequest("Invalid input for field/attribute node. 'driver' is a required property")
    interfaces = {k: v for k, v in body.items() if k.endswith("_interface")}
    unknown = sorted(set(body) - set(_STORED) - set(interfaces) - {"uuid", "chassis_uuid"})
    if unknown:
        raise BadRequest(f"Schema error for node: Additional properties are not allowed "
                         f"({', '.join(repr(u) for u in unknown)} {'was' if len(unknown) == 1 else 'were'} "
                         "unexpected)")
    _reject_newer(body, ctx)
    known_drivers = recorded_drivers(request)
    values = check_values({k: v for k, v in body.items() if k in _STORED}, ctx, known_drivers)
    record = known_drivers.get(values["driver"]) or {}
    chosen = {}
    for key, value in interfaces.items():
        kind = key[:-len("_interface")]
        if kind not in node_interfaces.KINDS:
            raise BadRequest(f"Schema error for node: Additional properties are not allowed ('{key}' was unexpected)")
        if value is not None and value != (record.get("interfaces") or {}).get(kind):
            node_interfaces.check_name(kind, value, record.get("enabled_interfaces") or {})
            chosen[kind] = value
    values["interfaces"] = chosen or None
    conductors = live_conductors(request)
    if values.get("conductor_group"):
        check_served(conductors, values["driver"], values["conductor_group"])
    node_id = body.get("uuid") or str(uuid.uuid4())
    if not isinstance(node_id, str) or not is_uuid(node_id):
        raise BadRequest(f"Expected a UUID but received {node_id}.")
    node_id = str(uuid.UUID(node_id))
    now = utcnow()
    row = {"id": node_id, "name": None, "driver_info": {}, "driver_internal_info": {}, "properties": {},
           "instance_info": {}, "extra": {}, "resource_class": None, "instance_uuid": None,
           "maintenance": False, "automated_clean": None, "conductor_group": "", "shard": None, "description": None,
           "interfaces": None, "protected": False, "protected_reason": None, "console_enabled": False,
           **values,
           "provision_state": states.AVAILABLE if minor(ctx) < 11 else states.ENROLL,
           "target_provision_state": None, "power_state": None, "target_power_state": None, "clean_step": {},
           "last_error": None, "fault": None, "maintenance_reason": None, "reservation": None, "task_id": None,
           "provision_updated_at": None, "created_at": now, "updated_at": None}
    row["updated_at"] = now
    db = request.app.state.tv.db
    try:
        with db.write() as conn:
            row["chassis_id"] = node_chassis.chassis_of(conn, body.get("chassis_uuid"))
            conn.execute(insert(nodes), row)
    except IntegrityError:
        with db.read() as conn:
            if conn.execute(select(nodes.c.id).where(nodes.c.id == node_id)).first():
                raise Conflict(f"A node with UUID {node_id} already exists.") from None
        raise Conflict(f"A node with name {row['name']} already exists.") from None
    response.headers["Location"] = f"{base_url(request)}/v1/nodes/{node_id}"
    created = redact(views.render_node(row, minor(ctx), base_url(request), conductors=conductors,
                                       drivers=known_drivers), row, ctx)
    created["updated_at"] = None  # Ironic: a node just created was never updated
    return created


def _list(request: Request, ctx: RequestContext, detail: bool, fields: str | None, limit: int | None,
          marker: str | None, provision_state: str | None, maintenance: str | None, driver: str | None,
          resource_class: str | None, associated: str | None, instance_uuid: str | None,
          sort_dir: str, flt: NodeFilters | None = None) -> dict:
    flt = flt or NodeFilters()
    node_filters.check_versions({"driver": driver, "resource_class": resource_class, **flt.given()}, minor(ctx))
    wanted = views.check_fields(fields, minor(ctx))
    if detail and wanted is not None:
        raise BadRequest("Can not specify ?detail=True and fields in the same request.")
    if wanted is None:
        wanted = views.allowed_fields(minor(ctx)) if detail else list(views.LIST_FIELDS)
    authorize(ctx, "baremetal:node:list")
    columns = views.columns_for(wanted)
    if detail or wanted != list(views.LIST_FIELDS):  # redaction needs owner and lessee
        columns = [*columns, *(c for c in (nodes.c.owner, nodes.c.lessee) if c not in columns)]
    if flt.conductor is not None:
        columns = [*columns, *(c for c in node_filters.CONDUCTOR_COLUMNS if c not in columns)]
    brief = wanted == list(views.LIST_FIELDS)
    db = request.app.state.tv.db
    raw = None if brief else _raw_columns(db.reader.dialect, tuple(c.name for c in columns))
    query = node_filters.apply(select(*(columns if raw is None else raw.exprs)), flt, _bool)
    if not allowed(ctx, "baremetal:node:list_all"):  # a project sees the nodes it owns or leases
        query = query.where((nodes.c.owner == ctx.project_id) | (nodes.c.lessee == ctx.project_id))
    if provision_state is not None:
        if provision_state not in states.STATES:
            raise BadRequest(f'Provision state "{provision_state}" is not valid')
        query = query.where(nodes.c.provision_state == provision_state)
    if maintenance is not None:
        query = query.where(nodes.c.maintenance.is_(_bool("maintenance", maintenance)))
    if associated is not None:
        on = _bool("associated", associated)
        query = query.where(nodes.c.instance_uuid.is_not(None) if on else nodes.c.instance_uuid.is_(None))
    for column, value in ((nodes.c.driver, driver), (nodes.c.resource_class, resource_class),
                          (nodes.c.instance_uuid, instance_uuid)):
        if value is not None:
            query = query.where(column == value)
    check_sort_dir(sort_dir)
    order = (nodes.c.created_at, nodes.c.id)
    query = query.order_by(*(c.desc() if sort_dir == "desc" else c for c in order))
    with db.read() as conn:
        query = node_chassis.filter_nodes(conn, request, query)
        if marker:
            mark = conn.execute(select(nodes.c.created_at, nodes.c.id).where(nodes.c.id == marker)).first()
            if mark is None:
                raise BadRequest(f"Marker {marker} could not be found.")
            after = (nodes.c.created_at, nodes.c.id)
            cond = (after[0] > mark[0]) | ((after[0] == mark[0]) & (after[1] > mark[1])) if sort_dir == "asc" else \
                (after[0] < mark[0]) | ((after[0] == mark[0]) & (after[1] < mark[1]))
            query = query.where(cond)
        limit = page_limit(limit, request.app.state.tv.conf.api.max_limit)
        query = query.limit(limit)
        result = conn.execute(query)
        if raw is not None:  # rendered from the cache or the undecoded rows (_render_nodes)
            rows = [tuple(r) for r in result.all()]
            related_ = related(conn, [r[raw.index["id"]] for r in rows]) \
                if {"traits", "allocation_uuid"} & set(wanted) else None
        else:
            keys = tuple(result.keys())
            rows = [dict(zip(keys, r)) for r in result.all()]
    url, m = base_url(request), minor(ctx)
    conductors = live_conductors(request) if flt.conductor is not None or "conductor" in wanted else []
    if raw is None:
        rows = node_filters.by_conductor(rows, flt, conductors)
        ids = [r["id"] for r in rows]
    else:
        if flt.conductor is not None:
            rows = [r for r in rows if drivers.node_conductor(raw.conductor_inputs(r), conductors) == flt.conductor]
        ids = [r[raw.index["id"]] for r in rows]
    following = None
    if limit and len(rows) == limit:
        path = "nodes/detail" if detail else "nodes"
        params = f"?limit={limit}&marker={ids[-1]}" + (f"&fields={fields}" if fields else "")
        following = f"{url}/v1/{path}{params}"
    if brief:
        out = {"nodes": views.render_brief(rows, m, url)}
        if following:
            out["next"] = following
        return JsonResponse(out)  # rendered directly: FastAPI's encoder costs more than the query
    rendered = _render_nodes(ctx, m, url, wanted, raw, rows, related_, conductors, recorded_drivers(request))
    return fragments.JsonBytes(fragments.join("nodes", rendered, {"next": following} if following else None))


_NODES = fragments.FragmentCache()  # (microversion, base URL, fields, drivers' interfaces, node id) -> its JSON
_DECISIONS = (*REDACTED.values(), "show_password")  # what redact() asks of a node's (owner, lessee)


def _render_nodes(ctx: RequestContext, m: int, url: str, wanted: list[str], raw: fragments.RawColumns,
                  rows: list[tuple], related_: tuple | None, conductors: list[dict],
                  known_drivers: dict) -> list[bytes]:
    """Each node's JSON (views.render_node, then secrets.redact). A
    fragment's version is everything these read: the row as read (every
    column the fields need), its traits and allocation, this caller's
    answers to the redaction rules for the node's (owner, lessee); the
    microversion, base URL, field list, the drivers' default interfaces and
    the live conductors (a node's ``conductor`` is computed from them and
    its row) are in the key."""
    check = memo_allowed(ctx)
    interfaces = b""
    if any(f.endswith("_interface") for f in wanted):
        interfaces = fragments.dumps({name: (record or {}).get("interfaces")
                                      for name, record in sorted(known_drivers.items())})
    live = ()
    if "conductor" in wanted:  # what drivers.node_conductor reads of them
        live = tuple((c["hostname"], c["alive"], c["conductor_group"], tuple(c["drivers"])) for c in conductors)
    scope = (m, url, tuple(wanted), interfaces, live)
    decided: dict = {}  # (owner, lessee) -> the caller's answers
    at_id, at_owner, at_lessee = raw.index["id"], raw.index["owner"], raw.index["lessee"]
    traits, held = related_ if related_ is not None else ({}, {})
    keys, versions = [], []
    for r in rows:
        node_id, owners = r[at_id], (r[at_owner], r[at_lessee])
        answers = decided.get(owners)
        if answers is None:
            target = node_target({"owner": owners[0], "lessee": owners[1]})
            answers = decided[owners] = tuple(check(rule, target) for rule in _DECISIONS)
        keys.append((scope, node_id))
        versions.append((r, tuple(traits.get(node_id, ())), held.get(node_id), answers))
    found = _NODES.get_many(keys, versions)
    fresh = []
    for i, fragment in enumerate(found):
        if fragment is not None:
            continue
        node = raw.decode(rows[i])
        if related_ is not None:  # as with_related puts them
            node.update(traits=traits.get(node["id"], []), allocation_uuid=held.get(node["id"]))
        unmasked = shows_stored_driver_info(node, check)
        found[i] = fragments.dumps(redact(views.render_node(node, m, url, wanted, conductors=conductors,
                                                            drivers=known_drivers, unmasked=unmasked),
                                          node, ctx, check))
        fresh.append((keys[i], versions[i], found[i]))
    _NODES.put_many(fresh)
    return found


def _raw_columns(dialect, names: tuple[str, ...]) -> fragments.RawColumns:
    return fragments.raw_columns(nodes, names, dialect)


# Handlers are plain functions (FastAPI runs them in its thread pool): a
# database call on the event loop would stall every request behind one
# writer's lock on SQLite, or behind a pool checkout on PostgreSQL.
@router.get("/v1/nodes")
def list_nodes(request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None,
               limit: int | None = None, marker: str | None = None, provision_state: str | None = None,
               maintenance: str | None = None, driver: str | None = None, resource_class: str | None = None,
               associated: str | None = None, instance_uuid: str | None = None, detail: str | None = None,
               sort_dir: str = "asc", flt: NodeFilters = Depends(node_filters.from_query)):
    show_detail = _bool("detail", detail) if detail is not None else False
    if show_detail and minor(ctx) < 43:
        raise ApiError(406, "Request not acceptable.")
    with gc_pause.paused():
        return _list(request, ctx, bool(show_detail), fields, limit, marker, provision_state, maintenance, driver,
                     resource_class, associated, instance_uuid, sort_dir, flt)


@router.get("/v1/nodes/detail")
def list_nodes_detail(request: Request, ctx: RequestContext = Depends(get_context), limit: int | None = None,
                      marker: str | None = None, provision_state: str | None = None,
                      maintenance: str | None = None, driver: str | None = None,
                      resource_class: str | None = None, associated: str | None = None,
                      instance_uuid: str | None = None, sort_dir: str = "asc", flt: NodeFilters = Depends(node_filters.from_query)):
    with gc_pause.paused():  # _list's objects are freed when it returns (see gc_pause)
        return _list(request, ctx, True, None, limit, marker, provision_state, maintenance, driver,
                     resource_class, associated, instance_uuid, sort_dir, flt)


@router.get("/v1/nodes/{ident}")
def show_node(ident: str, request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None):
    wanted = views.check_fields(fields, minor(ctx))
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
        if wanted is None or {"traits", "allocation_uuid"} & set(wanted):  # a poll of a few fields needs neither
            node = with_related(conn, [node])[0]
    authorize_node(ctx, "baremetal:node:get", node, ident)
    shown = wanted or views.allowed_fields(minor(ctx))
    conductors = live_conductors(request) if "conductor" in shown else None
    # the drivers' record (every conductor's capabilities, decoded) only shows in the *_interface fields
    known = recorded_drivers(request) if any(f.endswith("_interface") for f in shown) else {}
    # rendered directly, as the lists are: the clients' polls come here
    return JsonResponse(redact(views.render_node(node, minor(ctx), base_url(request), wanted, conductors=conductors,
                                                 drivers=known), node, ctx))


@router.patch("/v1/nodes/{ident}", openapi_extra=openapi.body(PATCH_BODY))
def patch_node(ident: str, request: Request, ctx: RequestContext = Depends(get_context), patch=Depends(json_body)):
    db = request.app.state.tv.db
    with db.read() as conn:
        node = load_node(conn, ident, ctx)
    # Ironic's order: a node the caller may not see is a 404 whatever the body says
    authorize_node(ctx, "baremetal:node:update", node, ident)
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    interface_ops, patch = node_interfaces.split(patch)
    chassis_ops, patch = node_chassis.split(patch)
    document = {name: copy.deepcopy(node[name]) for name in PATCHABLE}
    for op in patch:
        document = _apply(document, op, ctx)
        field = jsonpointer.JsonPointer(op["path"]).parts[0]
        if views.VERSIONED.get(field, 1) > minor(ctx):  # Ironic: a field newer than the request's version
            raise ApiError(406, "Request not acceptable.")
    changes = {k: v for k, v in document.items() if v != node[k]}
    changes = check_values(changes, ctx, recorded_drivers(request) if "driver" in changes else {})
    if changes.get("conductor_group", node["conductor_group"]) == node["conductor_group"]:
        changes.pop("conductor_group", None)  # the same group, in other letter case
    for name in sorted(changes):
        authorize(ctx, FIELD_RULES[name], node_target(node))
    if interface_ops or "driver" in changes:
        if interface_ops:
            authorize(ctx, node_interfaces.RULE, node_target(node))
        record = recorded_drivers(request).get(changes.get("driver", node["driver"])) or {}
        chosen = node_interfaces.for_driver(node["interfaces"], record)
        chosen = node_interfaces.check(interface_ops, record, minor(ctx), chosen) or None
        if chosen != node["interfaces"]:
            changes["interfaces"] = chosen
    if ("driver" in changes or "conductor_group" in changes) and \
            changes.get("conductor_group", node["conductor_group"]):
        check_served(live_conductors(request), changes.get("driver", node["driver"]),
                     changes.get("conductor_group", node["conductor_group"]))
    changes = _protection(node, changes)
    if "name" in changes and changes["name"] is not None and minor(ctx) < 5:
        raise ApiError(406, "Request not acceptable.")
    with db.read() as conn:
        changes.update(node_chassis.changes(conn, ctx, node, chassis_ops, minor(ctx)))
    if changes.get("instance_uuid") is not None and node["instance_uuid"]:
        # Ironic never overwrites an instance (nor the allocation that reserved the node)
        raise Conflict(f"Node {node['id']} is associated with instance {node['instance_uuid']}.")
    if changes:
        try:
            with db.write() as conn:
                done = conn.execute(update(nodes).where(nodes.c.id == node["id"], nodes.c.task_id.is_(None))
                                    .values(updated_at=utcnow(), **changes)).rowcount
                if done and "instance_uuid" in changes and changes["instance_uuid"] is None:
                    _drop_allocation(conn, node)
        except IntegrityError:
            raise Conflict(f"A node with name {changes.get('name')} already exists.") from None
        if not done:
            raise node_locked(request, node)
    with db.read() as conn:
        node = with_related(conn, [load_node(conn, node["id"], ctx)])[0]
    return redact(views.render_node(node, minor(ctx), base_url(request), conductors=live_conductors(request),
                                    drivers=recorded_drivers(request)), node, ctx)


_INSTANCE_UUID_REMOVABLE = (states.ENROLL, states.MANAGEABLE, states.AVAILABLE)


def _drop_allocation(conn, node: dict) -> None:
    """Ironic: removing a node's instance_uuid removes its allocation, only
    in maintenance or a state where the node may be updated."""
    held = conn.execute(select(allocations.c.id).where(allocations.c.node_id == node["id"])).scalar()
    if held is None:
        return
    if not node["maintenance"] and node["provision_state"] not in _INSTANCE_UUID_REMOVABLE:
        raise Conflict(f"Node {node['id']} with an allocation can not have instance_uuid removed unless it is in "
                       f"one of allowed ({', '.join(_INSTANCE_UUID_REMOVABLE)}) states or in maintenance mode. "
                       f"Current state is '{node['provision_state']}'.")
    conn.execute(delete(allocations).where(allocations.c.id == held))


def _protection(node: dict, changes: dict) -> dict:
    """Ironic's rules for protected (1.48): only an active node becomes
    protected (409), a reason needs the flag (400), and unprotecting clears it."""
    protected = changes.get("protected", node["protected"])
    if changes.get("protected") and not node["protected"] and node["provision_state"] != states.ACTIVE:
        raise Conflict(f"Node {node['id']} can only be made protected in provision state 'active', not "
                       f"'{node['provision_state']}'")
    if not protected:
        if changes.get("protected_reason") is not None:
            raise BadRequest("Cannot set protected_reason without protected=True")
        if node["protected_reason"] is not None:
            changes = {**changes, "protected_reason": None}
    return changes


def protected_error(node: dict) -> ApiError:
    return ApiError(403, f"Node {node['id']} is protected and cannot be undeployed, rebuilt or deleted")


def _apply(document: dict, op, ctx: RequestContext, patchable=PATCHABLE, objects=_OBJECTS) -> dict:
    """One RFC 6902 operation (add, replace, remove; ``jsonpatch``) on the
    patchable fields; returns the patched document. As in Ironic, removing
    a whole field resets it ({} for an object, else null)."""
    if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove") \
            or not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
        raise BadRequest(f"Invalid patch operation: {op!r}. Each needs 'op' (add, replace, remove) and a 'path'")
    if op["op"] != "remove" and "value" not in op:
        raise BadRequest(f"Couldn't apply patch '{op}'. Reason: 'value' is required for '{op['op']}'")
    try:
        parts = jsonpointer.JsonPointer(op["path"]).parts
    except jsonpointer.JsonPointerException as exc:  # e.g. "~x", an escape RFC 6901 does not have
        raise BadRequest(f"Couldn't apply patch '{op}'. Reason: {exc}") from None
    field = parts[0]
    if field not in patchable:
        raise BadRequest(f"Cannot patch {op['path']}. Only the following can be updated: "
                         f"{', '.join('/' + p for p in patchable)}")
    if len(parts) > 1 and field not in objects:
        raise BadRequest(f"Couldn't apply patch '{op}'. Reason: {field} has no members")
    try:
        document = jsonpatch.apply_patch(document, [op])
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise BadRequest(f"Couldn't apply patch '{op}'. Reason: {exc}") from None
    for name in patchable:
        document.setdefault(name, {} if name in objects else None)
    return document


@router.delete("/v1/nodes/{ident}", status_code=204)
def delete_node(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    db = request.app.state.tv.db
    with db.write() as conn:
        node = load_node(conn, ident, ctx)
        authorize_node(ctx, "baremetal:node:delete", node, ident)
        if node["task_id"] is not None:
            raise node_locked(request, node)
        if node["protected"]:
            raise protected_error(node)
        if not node["maintenance"] and node["instance_uuid"] is not None:
            raise Conflict(f"Node {node['id']} is associated with instance {node['instance_uuid']}.")
        if not node["maintenance"] and node["provision_state"] not in states.DELETE_ALLOWED:
            raise Conflict(f'Can not delete node "{node["id"]}" while it is in provision state '
                           f'"{node["provision_state"]}". Valid provision states to perform deletion are: '
                           f'"{states.DELETE_ALLOWED}", or set the node into maintenance mode')
        if not conn.execute(delete(nodes).where(nodes.c.id == node["id"], nodes.c.task_id.is_(None))).rowcount:
            raise node_locked(request, node)
        from taskvisor.db.models import portgroups, ports, volume_connectors, volume_targets
        # Ironic deletes these with the node
        for table in (ports, portgroups, volume_connectors, volume_targets):
            conn.execute(delete(table).where(table.c.node_id == node["id"]))
        conn.execute(delete(node_traits).where(node_traits.c.node_id == node["id"]))  # as Ironic: with the node
        conn.execute(delete(allocations).where(allocations.c.node_id == node["id"]))
        from taskvisor.db.models import bios_settings, firmware_information, node_history
        for table in (bios_settings, firmware_information, node_history):  # Ironic's go with the node too
            conn.execute(delete(table).where(table.c.node_id == node["id"]))
    return Response(status_code=204)
