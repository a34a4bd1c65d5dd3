"""A node's indicators (LEDs of its components), as its conductor reads
them from the management interface: GET /v1/nodes/{id}/management/indicators
lists them; /indicators/{name}@{component} shows one's state (GET) or sets
it (PUT ``state``: a task, node_indicator, which the request waits for:
Ironic answers 204 once it is set)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from taskvisor.api import openapi
from taskvisor.api.baremetal.actions import start_node_task
from taskvisor.api.baremetal.node_management import answer_when_done, ask, node_for
from taskvisor.api.baremetal.nodes import base_url
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest
from taskvisor.api.validation import json_body

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
STATES = ("OFF", "ON", "BLINKING", "UNKNOWN")  # Ironic's indicator_states


def _split(indicator: str) -> tuple[str, str]:
    """"led@system" → ("system", "led")."""
    name, at, component = indicator.partition("@")
    if not at:
        raise BadRequest(f'Malformed indicator name "{indicator[:64]}"')
    return component, name


@router.get("/v1/nodes/{ident}/management/indicators")
def list_indicators(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = node_for(request, ctx, ident, "baremetal:node:get_indicator_state")
    url = f"{base_url(request)}/v1/nodes/{ident}/management/indicators"
    return {"indicators": [
        {"name": f"{name}@{component}", "component": component, "readonly": info.get("readonly", True),
         "states": info.get("states", []),
         "links": [{"href": f"{url}/{name}@{component}", "rel": "self"},
                   {"href": f"{url.replace('/v1/', '/', 1)}/{name}@{component}", "rel": "bookmark"}]}
        for component, names in ask(request, "node_indicators", node).items() for name, info in names.items()]}


@router.get("/v1/nodes/{ident}/management/indicators/{indicator}")
def get_indicator(ident: str, indicator: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = node_for(request, ctx, ident, "baremetal:node:get_indicator_state")
    component, name = _split(indicator)
    return {"state": ask(request, "node_indicator_state", node, component, name)}


@router.put("/v1/nodes/{ident}/management/indicators/{indicator}", status_code=204,
            openapi_extra=openapi.body({"type": "object", "required": ["state"],
                                        "properties": {"state": {"enum": list(STATES)}}}))
def set_indicator(ident: str, indicator: str, request: Request, ctx: RequestContext = Depends(get_context),
                  body=Depends(json_body)):
    node = node_for(request, ctx, ident, "baremetal:node:set_indicator_state")
    state = body.get("state") if isinstance(body, dict) else None
    if not isinstance(state, str):
        raise BadRequest("Invalid input for field/attribute state. Wrong type. Expected 'str'")
    component, name = _split(indicator)
    started = start_node_task(request, ctx, node, action="set_indicator", flow="node_indicator", sources=None,
                              values={}, params={"component": component, "indicator": name, "state": state})
    return answer_when_done(request, started, f"Setting indicator {indicator} of node {node['id']} failed.")
