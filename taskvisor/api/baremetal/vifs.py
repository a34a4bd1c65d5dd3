"""A node's VIFs (Ironic 1.28+): what its network interface does with them,
without Neutron. ``noop`` (fake-hardware's default) keeps nothing: attach
and detach succeed and the list is empty. ``flat`` records the VIF on a
free port group or port (``internal_info.tenant_vif_port_id``), chosen as
Ironic does, and answers Ironic's 409 for a VIF already attached and 400
when no port is free or the VIF is not attached."""
from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select, update

from taskvisor.api import openapi
from taskvisor.api.baremetal import port_common as pc
from taskvisor.api.baremetal import volume as vol
from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.validation import json_body
from taskvisor.db.models import portgroups, ports

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes

VIFS_VERSION = 28
ATTACH_PORT_VERSION = 67  # vif_info may name the port_uuid or portgroup_uuid to use
KEY = "tenant_vif_port_id"
_NAME = re.compile(r"^[A-Z0-9\-._~]+$", re.I)  # Ironic's logical name
BODY = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}},
        "additionalProperties": True}


def _node(request: Request, ctx: RequestContext, ident: str, rule: str) -> dict:
    if minor(ctx) < VIFS_VERSION:
        raise NotFound("The resource could not be found.")
    pc.check_ident("node", ident)
    return node_for(request, ctx, ident, rule)


def _network(node: dict) -> str:
    return (node.get("interfaces") or {}).get("network") or "noop"


def _check_vif_id(value) -> str:
    if not isinstance(value, str) or not (pc.is_uuid(value) or _NAME.match(value)):
        raise BadRequest(f"Expected UUID or name for vif: {value}")
    return value


def _members(conn, node_id: str) -> tuple[list[dict], list[dict]]:
    order = (ports.c.created_at, ports.c.id)
    found = [dict(r) for r in conn.execute(select(ports).where(ports.c.node_id == node_id).order_by(*order))
             .mappings()]
    groups = [dict(r) for r in conn.execute(select(portgroups).where(portgroups.c.node_id == node_id)
                                            .order_by(portgroups.c.created_at, portgroups.c.id)).mappings()]
    return found, groups


@router.get("/v1/nodes/{node_ident}/vifs")
def list_vifs(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = _node(request, ctx, node_ident, "baremetal:node:vif:list")
    if _network(node) == "noop":
        return {"vifs": []}
    with request.app.state.tv.db.read() as conn:
        found, groups = _members(conn, node["id"])
    return {"vifs": [{"id": p["internal_info"][KEY]} for p in found + groups if (p["internal_info"] or {}).get(KEY)]}


def _already(obj: dict, kind: str, vif: str) -> bool:
    """Whether ``obj`` holds a VIF; 409 if it holds this one (Ironic's _vif_attached)."""
    held = (obj["internal_info"] or {}).get(KEY)
    if held == vif:
        raise Conflict(f"Unable to attach VIF because VIF {vif} is already attached to Ironic {kind} {obj['id']}")
    return held is not None


def _free(found: list[dict], groups: list[dict], vif: str, info: dict) -> list[tuple[str, dict]]:
    """Ironic's free port-like objects: ports outside groups, and groups with
    free ports and no VIF on any of their ports (else those ports)."""
    port_uuid, group_uuid = info.get("port_uuid"), None if "port_uuid" in info else info.get("portgroup_uuid")
    free: list[tuple[str, dict]] = []
    by_group: dict[str, list[dict]] = {}
    unusable: set = set()
    for port in found:
        if port_uuid and port_uuid != port["id"]:
            continue
        if _already(port, "Port", vif):
            unusable.add(port["portgroup_id"])
            continue
        if port["portgroup_id"] is None and not group_uuid:
            free.append(("Port", port))
        else:
            by_group.setdefault(port["portgroup_id"], []).append(port)
    if not port_uuid:
        for group in groups:
            if (group_uuid and group_uuid != group["id"]) or _already(group, "Portgroup", vif):
                continue
            if group["id"] in unusable:
                if not group_uuid:
                    free.extend(("Port", p) for p in by_group.get(group["id"], []))
            elif by_group.get(group["id"]):
                free.append(("Portgroup", group))
    return free


def _choose(free: list[tuple[str, dict]]) -> tuple[str, dict]:
    """With no physical networks to match (no Neutron): port groups first, then PXE-enabled ports."""
    return sorted(free, key=lambda f: (f[0] == "Portgroup", f[0] == "Portgroup" or bool(f[1]["pxe_enabled"])),
                  reverse=True)[0]


@router.post("/v1/nodes/{node_ident}/vifs", status_code=204, openapi_extra=openapi.body(BODY))
def attach_vif(node_ident: str, request: Request, ctx: RequestContext = Depends(get_context),
               body=Depends(json_body)):
    node = _node(request, ctx, node_ident, "baremetal:node:vif:attach")
    if not isinstance(body, dict) or "id" not in body:
        raise BadRequest("Schema error for vif: 'id' is a required property")
    vif = _check_vif_id(body["id"])
    if minor(ctx) >= ATTACH_PORT_VERSION and "port_uuid" in body and "portgroup_uuid" in body:
        raise BadRequest("Cannot specify both port_uuid and portgroup_uuid")

    def attach(conn, locked):
        if _network(locked) == "noop":
            return
        found, groups = _members(conn, locked["id"])
        free = _free(found, groups, vif, body)
        if not free:
            raise BadRequest(f"Unable to attach VIF {vif}, not enough free physical ports.")
        kind, chosen = _choose(free)
        table = portgroups if kind == "Portgroup" else ports
        conn.execute(update(table).where(table.c.id == chosen["id"])
                     .values(internal_info={**(chosen["internal_info"] or {}), KEY: vif}))

    vol.with_node_lock(request, node["id"], attach)
    return Response(status_code=204)


@router.delete("/v1/nodes/{node_ident}/vifs/{vif_id}", status_code=204)
def detach_vif(node_ident: str, vif_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = _node(request, ctx, node_ident, "baremetal:node:vif:detach")
    vif = _check_vif_id(vif_id)

    def detach(conn, locked):
        if _network(locked) == "noop":
            return
        found, groups = _members(conn, locked["id"])
        for table, obj in [(portgroups, g) for g in groups] + [(ports, p) for p in found]:
            if (obj["internal_info"] or {}).get(KEY) == vif:
                info = {k: v for k, v in (obj["internal_info"] or {}).items() if k != KEY}
                extra = {k: v for k, v in (obj["extra"] or {}).items() if k != "vif_port_id"}
                conn.execute(update(table).where(table.c.id == obj["id"]).values(internal_info=info, extra=extra))
                return
        raise BadRequest(f"Unable to detach VIF {vif} from node {locked['id']} because it is not attached to it.")

    vol.with_node_lock(request, node["id"], detach)
    return Response(status_code=204)
