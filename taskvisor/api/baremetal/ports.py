"""Ports: a node's network interfaces (MAC address, switch link, PXE flag,
port group, physical network). Ironic's port controller's shapes, version
gates, codes and messages; access follows the port's node (owner, lessee)."""
from __future__ import annotations

import copy
import re
import uuid

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskvisor.api import openapi
from taskvisor.api.baremetal import port_common as pc
from taskvisor.api.baremetal import views
from taskvisor.api.baremetal.nodes import PATCH_BODY, _apply, base_url, is_uuid, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, Forbidden, NotFound
from taskvisor.api.policy import allowed, authorize
from taskvisor.api.validation import json_body
from taskvisor.db.models import portgroups, ports
from taskvisor.db.session import utcnow
from taskvisor.states import node as states

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes

# field -> first minor version showing (and accepting) it
VERSIONED = {"uuid": 1, "address": 1, "node_uuid": 1, "extra": 1, "created_at": 1, "updated_at": 1, "links": 1,
             "internal_info": 18, "local_link_connection": 19, "pxe_enabled": 19, "portgroup_uuid": 24,
             "physical_network": 34, "is_smartnic": 53, "name": 88, "description": 97, "vendor": 100,
             "category": 101, "available_for_dynamic_portgroup": 111}
LIST_FIELDS = ["uuid", "address"]
WRITABLE = ("address", "extra", "is_smartnic", "local_link_connection", "node_uuid", "physical_network",
            "portgroup_uuid", "pxe_enabled", "name", "description", "vendor", "category",
            "available_for_dynamic_portgroup")
OBJECTS = ("extra", "local_link_connection")
UNSORTABLE = ("extra", "internal_info", "local_link_connection")
# Changing these needs the node in enroll, manageable or inspecting, or in maintenance (Ironic's conductor)
CONNECTIVITY = ("portgroup_uuid", "pxe_enabled", "local_link_connection", "physical_network")
CONNECTIVITY_STATES = (states.ENROLL, states.MANAGEABLE, "inspecting", "inspect wait")
LLC_KEYS = {"port_id", "switch_id", "hostname", "switch_info", "network_type", "vtep-logical-switch",
            "vtep-physical-switch"}
VTEP = ("vtep-logical-switch", "vtep-physical-switch")
_DATAPATH_ID = re.compile(r"^(0x)?[0-9a-fA-F]{16}$")  # an OpenFlow switch id
_STRINGS = {"physical_network": 64, "name": 255, "description": 255, "vendor": 32, "category": 80}

PORT_BODY = {"type": "object", "required": ["address"], "additionalProperties": False, "properties": {
    "address": {"type": "string"}, "node_uuid": {"type": "string", "format": "uuid"},
    "node_ident": {"type": "string"}, "uuid": {"type": ["string", "null"], "format": "uuid"},
    "extra": {"type": ["object", "null"]}, "local_link_connection": {"type": ["object", "null"]},
    "pxe_enabled": {"type": ["boolean", "null"]}, "is_smartnic": {"type": ["boolean", "null"]},
    "portgroup_uuid": {"type": ["string", "null"], "format": "uuid"},
    "physical_network": {"type": ["string", "null"], "maxLength": 64},
    "name": {"type": ["string", "null"], "maxLength": 255},
    "description": {"type": ["string", "null"], "maxLength": 255},
    "vendor": {"type": ["string", "null"], "maxLength": 32}, "category": {"type": ["string", "null"], "maxLength": 80},
    "available_for_dynamic_portgroup": {"type": "boolean"}}}


def render(row: dict, m: int, base: str, names: list[str] | None = None) -> dict:
    llc = dict(row["local_link_connection"] or {})
    if not 90 <= m <= 104 and any(k in llc for k in VTEP):
        llc = {}  # Ironic shows OVN VTEP links only to the versions that know them
    out = {"uuid": row["id"], "address": row["address"], "node_uuid": row["node_id"], "extra": row["extra"] or {},
           "internal_info": row["internal_info"] or {}, "local_link_connection": llc,
           "pxe_enabled": row["pxe_enabled"], "portgroup_uuid": row["portgroup_id"],
           "physical_network": row["physical_network"], "is_smartnic": row["is_smartnic"], "name": row["name"],
           "description": row["description"], "vendor": row["vendor"], "category": row["category"],
           "available_for_dynamic_portgroup": row["available_for_dynamic_portgroup"],
           "created_at": views.iso_utc(row["created_at"]), "updated_at": views.iso_utc(row["updated_at"]),
           "links": pc.links(base, "ports", row["id"])}
    out = {k: v for k, v in out.items() if VERSIONED[k] <= m}
    return pc.select_fields(out, names)


def _load(conn, ident: str) -> dict:
    """By UUID or name (Ironic's Port.get)."""
    column = ports.c.id if is_uuid(ident) else ports.c.name
    value = str(uuid.UUID(ident)) if is_uuid(ident) else ident
    row = conn.execute(select(ports).where(column == value)).mappings().first()
    if row is None:
        raise NotFound(f"Port {ident[:64]} could not be found.")
    return dict(row)


def _load_for(conn, ctx: RequestContext, ident: str, rule: str) -> tuple[dict, dict]:
    """The port and its node, Ironic's way: a port whose node the caller may
    not see is not found; one it sees but may not act on is a 403."""
    port = _load(conn, ident)
    node = pc.load_node(conn, port["node_id"])
    if not pc.sees_node(ctx, node):
        raise NotFound(f"Port {ident[:64]} could not be found.")
    authorize(ctx, rule, pc.target(node))
    return port, node


def _check_llc(value, m: int) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - LLC_KEYS or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"Invalid input for field/attribute local_link_connection. Value: {value!r}. Expected "
                         f"an object with string members among {', '.join(sorted(LLC_KEYS))}")
    if "network_type" in value and m < 64 or any(k in value for k in VTEP) and not 90 <= m <= 104:
        raise pc.not_acceptable()
    if value.get("network_type") not in (None, "managed", "unmanaged"):
        raise BadRequest("local_link_connection network_type must be 'managed' or 'unmanaged'")
    if any(k in value for k in VTEP) and not all(k in value for k in VTEP):
        raise BadRequest("local_link_connection needs both vtep-logical-switch and vtep-physical-switch")
    kinds = ({"port_id", "switch_id"}, {"port_id", "hostname"}, {"network_type"}, {"port_id", *VTEP})
    if value and not any(kind <= set(value) for kind in kinds):
        raise BadRequest("local_link_connection needs port_id and switch_id (or port_id and hostname for a "
                         "smart NIC, or network_type unmanaged)")
    if value.get("network_type") == "unmanaged" and set(value) - {"network_type"} - {"port_id", "switch_id",
                                                                                       "switch_info", "hostname"}:
        raise BadRequest("Invalid local_link_connection for an unmanaged network")
    if "switch_id" in value and not (pc.is_valid_mac(value["switch_id"])
                                     or _DATAPATH_ID.match(value["switch_id"])):
        raise BadRequest(f"Expected a MAC address or OpenFlow datapath ID but received {value['switch_id']}.")
    return value


def _check(values: dict, m: int) -> dict:
    """Types and formats of port fields (both create and patched)."""
    out = dict(values)
    out["address"] = pc.mac("address", out.get("address"))
    for name in ("extra",):
        if name in out:
            if out[name] is None:
                out[name] = {}
            elif not isinstance(out[name], dict):
                raise BadRequest(f"Invalid input for field/attribute {name}. Value: {out[name]!r}. Wrong type. "
                                 "Expected 'dict'")
    if "local_link_connection" in out:
        out["local_link_connection"] = _check_llc(out["local_link_connection"], m)
    for name in ("pxe_enabled", "is_smartnic", "available_for_dynamic_portgroup"):
        if name in out:
            out[name] = pc.boolean(name, out[name])
    for name, size in _STRINGS.items():
        value = out.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > size):
            raise BadRequest(f"Invalid input for field/attribute {name}. Expected a string of at most {size} "
                             "characters")
    for name in ("node_uuid", "portgroup_uuid"):
        if name in out:
            out[name] = pc.check_uuid(name, out[name])
    if out.get("physical_network") == "":
        raise BadRequest("A non-empty value is required when setting physical_network")
    if out.get("is_smartnic") and not {"port_id", "hostname"} <= set(out.get("local_link_connection") or {}):
        raise BadRequest("Smart NIC port must have port_id and hostname in local_link_connection")
    return out


def _portgroup(conn, pg_uuid: str | None, node_id: str) -> dict | None:
    if pg_uuid is None:
        return None
    row = conn.execute(select(portgroups).where(portgroups.c.id == pg_uuid)).mappings().first()
    if row is None:
        raise BadRequest(f"Portgroup {pg_uuid} could not be found.")
    if row["node_id"] != node_id:
        raise BadRequest("Port can not be added to a portgroup belonging to a different node.")
    return dict(row)


def _check_membership(conn, port: dict, pg: dict | None) -> None:
    """Ironic's rules for a port in a port group: PXE only if the group takes
    standalone ports, and one physical network for all its ports."""
    if pg is None:
        return
    if port["pxe_enabled"] and not pg["standalone_ports_supported"]:
        raise Conflict(f"Port group {pg['id']} doesn't support standalone ports. This port cannot be a member of "
                       "that portgroup as the port's 'pxe_enabled' field was set to True.")
    others = {r[0] for r in conn.execute(select(ports.c.physical_network).where(
        ports.c.portgroup_id == pg["id"], ports.c.id != port["id"]))}
    if not others and pg["physical_network"] is not None:
        others = {pg["physical_network"]}
    if others and port["physical_network"] not in others:
        raise Conflict(f"Port with physical network {port['physical_network']} cannot become a member of port "
                       f"group {pg['id']} which has ports in physical network {sorted(others, key=str)[0]}.")


def _duplicate(conn, row: dict, exclude: str | None = None) -> Conflict | None:
    return pc.duplicate(conn, ports, "port", row, exclude)


@router.post("/v1/ports", status_code=201, openapi_extra=openapi.body(PORT_BODY))
def create_port(request: Request, response: Response, ctx: RequestContext = Depends(get_context),
                body=Depends(json_body)):
    m = minor(ctx)
    pc.check_body(body, "port", set(WRITABLE) | {"uuid", "node_ident"})
    if body.get("address") is None:
        raise BadRequest("Schema error for port: 'address' is a required property")
    if ("node_uuid" in body) == ("node_ident" in body):
        raise BadRequest("Schema error for port: exactly one of 'node_uuid' and 'node_ident' is required")
    values = _check({k: v for k, v in body.items() if k in WRITABLE}, m)
    port_id = pc.check_uuid("uuid", body.get("uuid")) or str(uuid.uuid4())
    if "node_ident" in body:
        if m < 94:
            raise pc.not_acceptable()
        if not isinstance(body["node_ident"], str):
            raise BadRequest("Invalid input for field/attribute node_ident. Expected a string")
    ident = values.pop("node_uuid") if "node_uuid" in body else body["node_ident"]
    if ident is None:
        raise BadRequest("Schema error for port: None is not of type 'string' (node_uuid)")
    db = request.app.state.tv.db
    with db.write() as conn:
        node = pc.find_node(conn, ident, m)
        visible = pc.sees_node(ctx, node)
        authorize(ctx, "baremetal:port:create", pc.target(node if visible else None))
        if not visible:
            raise BadRequest(f"Node {ident[:64]} could not be found.")
        pc.gate(body, VERSIONED, m)
        now = utcnow()
        row = {"id": port_id, "node_id": node["id"], "portgroup_id": values.pop("portgroup_uuid", None),
               "address": values["address"], "name": None, "local_link_connection": {}, "pxe_enabled": True,
               "physical_network": None, "is_smartnic": False, "description": None, "vendor": None,
               "category": None, "available_for_dynamic_portgroup": True, "extra": {}, "internal_info": {},
               "created_at": now, "updated_at": None}
        row.update({k: v for k, v in values.items() if v is not None or k in ("physical_network", "name")})
        pg = _portgroup(conn, row["portgroup_id"], node["id"])
        _check_membership(conn, row, pg)
        conflict = _duplicate(conn, row)
        if conflict:
            raise conflict
        try:
            conn.execute(insert(ports).values(**row))
        except IntegrityError:  # a concurrent request took the UUID, MAC or name: which one, read afresh
            with db.read() as fresh:
                raise _duplicate(fresh, row) or Conflict(f"A port with UUID {row['id']} already exists.") from None
    base = base_url(request)
    response.headers["Location"] = f"{base}/v1/ports/{port_id}"
    return render(row, m, base)


def _list(request: Request, ctx: RequestContext, path: str, detail_route: bool, *, node: str | None = None,
          node_uuid: str | None = None, address: str | None = None, portgroup: str | None = None,
          fields: str | None = None, detail: str | None = None, limit: int | None = None,
          marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc",
          parent_node: str | None = None, parent_portgroup: str | None = None) -> dict:
    m = minor(ctx)
    names = None if detail_route else pc.wanted_fields(fields, detail, m, VERSIONED, LIST_FIELDS)
    if portgroup is not None and m < pc.SUBCONTROLLER_VERSION:
        raise pc.not_acceptable()
    if node is not None and not is_uuid(node) and m < 5:
        raise pc.not_acceptable()
    if node_uuid is not None:
        node_uuid = pc.check_uuid("node_uuid", node_uuid)
    address = pc.mac("address", address)
    column = pc.check_sort(sort_key, sort_dir, ports, VERSIONED, m, UNSORTABLE)
    limit = pc.check_limit(limit, request.app.state.tv.conf.api.max_limit)
    query = select(ports)
    with request.app.state.tv.db.read() as conn:
        if parent_portgroup is not None:
            from taskvisor.api.baremetal.portgroups import load_visible
            group, _ = load_visible(conn, ctx, parent_portgroup, m)
            query = query.where(ports.c.portgroup_id == group["id"])
        if parent_node is not None:
            owner = pc.parent_node(conn, ctx, parent_node, m)
            query = query.where(ports.c.node_id == owner["id"])
        if not allowed(ctx, "baremetal:port:list_all"):
            authorize(ctx, "baremetal:port:list")
            query = query.where(ports.c.node_id.in_(pc.project_nodes(ctx.project_id)))
        wanted_node = node_uuid or node
        if wanted_node is not None and (portgroup is not None or parent_portgroup is not None):
            raise Forbidden("Operation not permitted.")  # Ironic's answer to both filters
        if wanted_node is not None:
            found = pc.find_node(conn, wanted_node, m)
            if found is None:
                raise NotFound(f"Node {wanted_node[:64]} could not be found.")
            query = query.where(ports.c.node_id == found["id"])
        if portgroup is not None:
            from taskvisor.api.baremetal.portgroups import find
            query = query.where(ports.c.portgroup_id == find(conn, portgroup)["id"])
        if address is not None:
            query = query.where(ports.c.address == address)
        mark = None
        if marker is not None:
            mark = _load(conn, pc.check_uuid("marker", marker))
        rows = [dict(r) for r in conn.execute(pc.ordered_page(query, ports, column, sort_dir, mark, limit)).mappings()]
    base = base_url(request)
    out = {"ports": [render(r, m, base, names) for r in rows]}
    params = {"sort_key": sort_key, "sort_dir": sort_dir,
              "fields": ",".join(names) if fields is not None and names else None, "detail": detail}
    nxt = pc.next_link(base, path, rows, limit, params)
    if nxt:
        out["next"] = nxt
    return out


@router.get("/v1/ports")
def list_ports(request: Request, ctx: RequestContext = Depends(get_context), node: str | None = None,
               node_uuid: str | None = None, address: str | None = None, portgroup: str | None = None,
               fields: str | None = None, detail: str | None = None, limit: int | None = None,
               marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return _list(request, ctx, "ports", False, node=node, node_uuid=node_uuid, address=address,
                 portgroup=portgroup, fields=fields, detail=detail, limit=limit, marker=marker, sort_key=sort_key,
                 sort_dir=sort_dir)


@router.get("/v1/ports/detail")
def list_ports_detail(request: Request, ctx: RequestContext = Depends(get_context), node: str | None = None,
                      node_uuid: str | None = None, address: str | None = None, portgroup: str | None = None,
                      limit: int | None = None, marker: str | None = None, sort_key: str = "id",
                      sort_dir: str = "asc"):
    return _list(request, ctx, "ports/detail", True, node=node, node_uuid=node_uuid, address=address,
                 portgroup=portgroup, limit=limit, marker=marker, sort_key=sort_key, sort_dir=sort_dir)


@router.get("/v1/nodes/{node_ident}/ports")
def list_node_ports(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                    fields: str | None = None, detail: str | None = None, limit: int | None = None,
                    marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    return _list(request, ctx, f"nodes/{node_ident}/ports", False, fields=fields, detail=detail, limit=limit,
                 marker=marker, sort_key=sort_key, sort_dir=sort_dir, parent_node=node_ident)


@router.get("/v1/nodes/{node_ident}/ports/detail")
def list_node_ports_detail(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                           limit: int | None = None, marker: str | None = None, sort_key: str = "id",
                           sort_dir: str = "asc"):
    return _list(request, ctx, f"nodes/{node_ident}/ports/detail", True, limit=limit, marker=marker,
                 sort_key=sort_key, sort_dir=sort_dir, parent_node=node_ident)


@router.get("/v1/portgroups/{portgroup_ident}/ports")
def list_portgroup_ports(portgroup_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                         fields: str | None = None, detail: str | None = None, limit: int | None = None,
                         marker: str | None = None, sort_key: str = "id", sort_dir: str = "asc"):
    if minor(ctx) < pc.SUBCONTROLLER_VERSION:
        raise NotFound("The API is not supported for this version")
    return _list(request, ctx, f"portgroups/{portgroup_ident}/ports", False, fields=fields, detail=detail,
                 limit=limit, marker=marker, sort_key=sort_key, sort_dir=sort_dir, parent_portgroup=portgroup_ident)


@router.get("/v1/portgroups/{portgroup_ident}/ports/detail")
def list_portgroup_ports_detail(portgroup_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                                limit: int | None = None, marker: str | None = None, sort_key: str = "id",
                                sort_dir: str = "asc"):
    if minor(ctx) < pc.SUBCONTROLLER_VERSION:
        raise NotFound("The API is not supported for this version")
    return _list(request, ctx, f"portgroups/{portgroup_ident}/ports/detail", True, limit=limit, marker=marker,
                 sort_key=sort_key, sort_dir=sort_dir, parent_portgroup=portgroup_ident)


@router.get("/v1/ports/{port_id}")
def show_port(port_id: str, request: Request, ctx: RequestContext = Depends(get_context), fields: str | None = None):
    m = minor(ctx)
    pc.check_ident("port_ident", port_id)
    with request.app.state.tv.db.read() as conn:
        port, _ = _load_for(conn, ctx, port_id, "baremetal:port:get")
    names = pc.fields_param(fields, m, VERSIONED)
    return render(port, m, base_url(request), names)


def _patch_paths(patch: list) -> set[str]:
    return {op["path"].split("/")[1] for op in patch
            if isinstance(op, dict) and isinstance(op.get("path"), str) and op["path"].count("/") >= 1}


@router.patch("/v1/ports/{port_id}", openapi_extra=openapi.body(PATCH_BODY))
def patch_port(port_id: str, request: Request, ctx: RequestContext = Depends(get_context), patch=Depends(json_body)):
    m = minor(ctx)
    pc.check_ident("port_ident", port_id)
    if not isinstance(patch, list) or not patch:
        raise BadRequest("Invalid input for field/attribute patch. Value: body. Wrong type. Expected 'list'")
    pc.gate(_patch_paths(patch), VERSIONED, m)
    db = request.app.state.tv.db
    with db.write() as conn:
        port, node = _load_for(conn, ctx, port_id, "baremetal:port:update")
        current = {"address": port["address"], "node_uuid": port["node_id"], "portgroup_uuid": port["portgroup_id"],
                   **{k: copy.deepcopy(port[k]) for k in WRITABLE if k in port}}
        document = dict(current)
        for op in patch:
            if isinstance(op, dict) and op.get("op") == "add" and isinstance(op.get("path"), str) \
                    and op["path"].count("/") == 1 and op["path"][1:] not in document:
                raise BadRequest(f"Adding a new attribute ({op['path']}) to the root of the resource is not allowed")
            document = _apply(document, op, ctx, WRITABLE, OBJECTS)
        if document.get("address") is None:
            raise BadRequest("Schema error for port: 'address' is a required property")
        if document.get("node_uuid") is None:
            raise BadRequest("Schema error for port: 'node_uuid' is a required property")
        document = _check(document, m)
        changes = {k: v for k, v in document.items() if v != current.get(k)}
        if "node_uuid" in changes:
            new_node = pc.load_node(conn, changes["node_uuid"])
            if not pc.sees_node(ctx, new_node):
                raise BadRequest(f"Node {changes['node_uuid']} could not be found.")
            authorize(ctx, "baremetal:port:update", pc.target(new_node))
            node = new_node
        if node["task_id"] is not None:
            raise pc.locked(request, node)
        if "address" in changes and (node["provision_state"] == states.ACTIVE or node["instance_uuid"]) \
                and not node["maintenance"]:
            raise Conflict(f"Cannot update hardware address for port {port['id']} as node {node['id']} is active "
                           "or has instance UUID assigned")
        if set(changes) & set(CONNECTIVITY) and node["provision_state"] not in CONNECTIVITY_STATES \
                and not node["maintenance"]:
            raise Conflict(f"Port {port['id']} can not have any connectivity attributes ({', '.join(CONNECTIVITY)}) "
                           f"updated unless node {node['id']} is in a {', '.join(CONNECTIVITY_STATES)} state or in "
                           f"maintenance mode. The current state is {node['provision_state']}.")
        row = {**port, **{k: v for k, v in document.items() if k not in ("node_uuid", "portgroup_uuid")},
               "node_id": document["node_uuid"], "portgroup_id": document["portgroup_uuid"]}
        pg = _portgroup(conn, row["portgroup_id"], row["node_id"])
        if pg is not None and "physical_network" in changes and "portgroup_uuid" not in changes and m >= 102:
            raise BadRequest("physical_network cannot be changed while the port belongs to a portgroup.")
        if {"portgroup_uuid", "physical_network", "pxe_enabled"} & set(changes):
            _check_membership(conn, row, pg)
        if changes:
            row["updated_at"] = utcnow()
            values = {k: row[k] for k in ports.c.keys() if k not in ("id", "created_at")}
            conflict = _duplicate(conn, row, exclude=port["id"])
            if conflict:
                raise conflict
            try:
                conn.execute(update(ports).where(ports.c.id == port["id"]).values(**values))
            except IntegrityError:  # a concurrent request took the MAC or name
                with db.read() as fresh:
                    raise _duplicate(fresh, row, exclude=port["id"]) or Conflict(
                        f"A port with MAC address {row['address']} already exists.") from None
    return render(row, m, base_url(request))


@router.delete("/v1/ports/{port_id}", status_code=204)
def delete_port(port_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    pc.check_uuid("port_uuid", port_id)
    with request.app.state.tv.db.write() as conn:
        port, node = _load_for(conn, ctx, port_id, "baremetal:port:delete")
        if node is not None and node["task_id"] is not None:
            raise pc.locked(request, node)
        conn.execute(delete(ports).where(ports.c.id == port["id"]))
    return Response(status_code=204)
