"""PUT /servers/{id}: rename, set the access addresses, the disk config and
(2.19) the description. A record change: one transaction, no task."""
from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select, update

from taskvisor.api import openapi
from taskvisor.api.compute.server_tags import attach
from taskvisor.api.compute.submit import get_server, target_of, visible
from taskvisor.api.compute.views import last_fault, server_detail
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.responses import JsonResponse
from taskvisor.api.validation import NAME, json_body, validate
from taskvisor.db.models import servers
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/compute/v2.1")

DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
_FIELDS = {"name": NAME, "accessIPv4": {"type": "string"}, "accessIPv6": {"type": "string"},
           "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]}}


def _schema(fields: dict) -> dict:
    return {"type": "object", "required": ["server"], "additionalProperties": False,
            "properties": {"server": {"type": "object", "properties": fields, "additionalProperties": False}}}


UPDATE_SCHEMA = _schema(_FIELDS)
UPDATE_SCHEMA_2_19 = _schema({**_FIELDS, "description": DESCRIPTION})


def access_ip(field: str, value: str, version: int) -> str:
    """Nova's accessIPv4/accessIPv6 formats ("" clears the address)."""
    if value == "":
        return value
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        address = None
    if address is None or address.version != version:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value[:64]}. "
                         f"'{value[:64]}' is not a 'ipv{version}'")
    return str(address)  # Nova stores the canonical form (RFC 5952 for IPv6)


def changes_of(spec: dict, system_metadata: dict) -> dict:
    """The server columns a request's fields set (description and disk config live in system_metadata)."""
    values: dict = {}
    if "name" in spec:
        values["name"] = spec["name"]
    if "accessIPv4" in spec:
        values["access_ip_v4"] = access_ip("accessIPv4", spec["accessIPv4"], 4) or None
    if "accessIPv6" in spec:
        values["access_ip_v6"] = access_ip("accessIPv6", spec["accessIPv6"], 6) or None
    extra = {}
    if "description" in spec:
        extra["description"] = spec["description"]
    if "OS-DCF:diskConfig" in spec:
        extra["disk_config"] = spec["OS-DCF:diskConfig"]
    if extra:
        values["system_metadata"] = {**system_metadata, **extra}
    return values


_SHOW_ONLY_PREFIXES = ("OS-EXT-AZ:", "OS-EXT-STS:", "OS-SRV-USG:", "OS-EXT-SRV-ATTR:")
_SHOW_ONLY = ("config_drive", "os-extended-volumes:volumes_attached", "security_groups", "host_status")


def action_view(view: dict, ctx: RequestContext, rebuild: bool = False) -> dict:
    """The server as the update and rebuild answers show it: before 2.75
    without the extended attributes a show has (as Nova; key_name from 2.54
    in a rebuild), with server_groups from 2.71, never the user data."""
    view.pop("OS-EXT-SRV-ATTR:user_data", None)
    if not ctx.at_least("2.75"):
        for key in list(view):
            if key.startswith(_SHOW_ONLY_PREFIXES) or key in _SHOW_ONLY:
                view.pop(key)
        if not (rebuild and ctx.at_least("2.54")):
            view.pop("key_name", None)
        view["addresses"] = {net: [{k: v for k, v in a.items() if not k.startswith("OS-EXT-IPS")} for a in addrs]
                             for net, addrs in (view.get("addresses") or {}).items()}
    if ctx.at_least("2.71"):
        view.setdefault("server_groups", [])
    return view


@router.put("/servers/{server_id}", openapi_extra=openapi.body(UPDATE_SCHEMA_2_19))
def update_server(server_id: str, request: Request, body=Depends(json_body),
                  ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    authorize(ctx, "os_compute_api:servers:update", target_of(server))
    spec = validate(body, UPDATE_SCHEMA_2_19 if ctx.at_least("2.19") else UPDATE_SCHEMA)["server"]
    with request.app.state.tv.db.write() as conn:
        query = visible(select(servers).where(servers.c.id == server_id, servers.c.deleted.is_(False)), ctx)
        row = conn.execute(query.with_for_update()).mappings().first()
        if row is None:
            raise NotFound(f"Instance {server_id} could not be found.")
        values = changes_of(spec, dict(row["system_metadata"] or {}))
        if values:
            conn.execute(update(servers).where(servers.c.id == server_id).values(**values, updated_at=utcnow()))
        server = dict(conn.execute(select(servers).where(servers.c.id == server_id)).mappings().first())
        attach(conn, [server])
        fault = last_fault(conn, server_id, ctx.is_admin) if server["vm_state"] == "error" else None
    return JsonResponse({"server": action_view(server_detail(server, ctx, str(request.base_url).rstrip("/"), fault),
                                               ctx)})
