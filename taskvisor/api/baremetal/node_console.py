"""A node's console: GET /v1/nodes/{id}/states/console (whether it is
enabled, and what to connect to) and PUT (``enabled``: a task on the node,
node_console; 202 as in Ironic, where the conductor starts it
asynchronously). Ironic's pecan routing also answers the GET as
/v1/nodes/states/console/{id}, which ironic-tempest-plugin's client uses."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from taskvisor.api import openapi
from taskvisor.api.baremetal.actions import start_node_task
from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import _bool, base_url, recorded_drivers
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest
from taskvisor.api.validation import json_body

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes


def _check_supported(request: Request, node: dict) -> None:
    """A node whose console interface is none (no-console, or a driver
    without one: noop) has no console: Ironic's UnsupportedDriverExtension."""
    chosen = (node.get("interfaces") or {}).get("console")
    default = ((recorded_drivers(request).get(node["driver"]) or {}).get("interfaces") or {}).get("console")
    if (chosen or default) in (None, "noop", "no-console"):
        raise BadRequest(f"Driver {node['driver']} does not support console (disabled or not implemented).")


def _console(request: Request, ctx: RequestContext, ident: str) -> dict:
    node = node_for(request, ctx, ident, "baremetal:node:get_console")
    _check_supported(request, node)
    if not node["console_enabled"]:
        return {"console_enabled": False, "console_info": None}
    return {"console_enabled": True, "console_info": (node["driver_internal_info"] or {}).get("console_info") or {}}


@router.get("/v1/nodes/{ident}/states/console")
def get_console(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    return _console(request, ctx, ident)


@router.get("/v1/nodes/states/console/{ident}", include_in_schema=False)
def get_console_pecan_path(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    return _console(request, ctx, ident)


@router.put("/v1/nodes/{ident}/states/console", status_code=202, openapi_extra=openapi.body({
    "type": "object", "required": ["enabled"], "properties": {"enabled": {"type": ["boolean", "string"]}}}))
def set_console(ident: str, request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    node = node_for(request, ctx, ident, "baremetal:node:set_console_state")
    if not isinstance(body, dict) or body.get("enabled") is None:
        raise BadRequest("Invalid input for field/attribute enabled. Value: None. Wrong type. Expected 'bool'")
    try:
        enabled = _bool("enabled", body["enabled"])
    except BadRequest:
        raise BadRequest(f"Invalid input for field/attribute enabled. Value: {str(body['enabled'])[:32]}. "
                         "Wrong type. Expected 'bool'") from None
    _check_supported(request, node)
    started = start_node_task(request, ctx, node, action="set_console", flow="node_console", sources=None,
                              values={}, params={"enabled": enabled})
    started.headers["Location"] = f"{base_url(request)}/v1/nodes/{ident}/states/console"
    return started
