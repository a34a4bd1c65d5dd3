"""PUT /v1/nodes/{id}/states/boot_mode (``target``: uefi or bios) and
/states/secure_boot (``target``: true or false), 1.76+: each a task on the
node (node_boot_mode), 202 as in Ironic. Below 1.76 both are 404, and a
node in a transitional provision state refuses them (409)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from taskvisor.api import openapi
from taskvisor.api.baremetal.actions import start_node_task
from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import _bool, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.validation import json_body
from taskvisor.states import node as states

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE = 76
BOOT_MODES = ("uefi", "bios")
_TRANSITIONAL = (states.DEPLOYING, states.DEPLOYWAIT, states.CLEANING, states.CLEANWAIT, states.VERIFYING,
                 states.DELETING, states.INSPECTING)


def _node(request: Request, ctx: RequestContext, ident: str, rule: str) -> dict:
    node = node_for(request, ctx, ident, rule)
    if minor(ctx) < SINCE:
        raise NotFound(f"This endpoint is supported starting with the API version 1.{SINCE}")
    return node


def _start(request: Request, ctx: RequestContext, node: dict, params: dict):
    if node["provision_state"] in _TRANSITIONAL:
        raise Conflict(f"Node is in {node['provision_state']} state. Since node is transitioning, the boot mode "
                       "will not be set as this may interfere with ongoing changes and result in erroneous "
                       "modification. Try again later.")
    return start_node_task(request, ctx, node, action="set_boot_mode", flow="node_boot_mode", sources=None,
                           exclude=_TRANSITIONAL, values={}, params=params)


@router.put("/v1/nodes/{ident}/states/boot_mode", status_code=202, openapi_extra=openapi.body({
    "type": "object", "required": ["target"], "properties": {"target": {"enum": list(BOOT_MODES)}}}))
def set_boot_mode(ident: str, request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    node = _node(request, ctx, ident, "baremetal:node:set_boot_mode")
    target = body.get("target") if isinstance(body, dict) else None
    if target not in BOOT_MODES:
        raise BadRequest(f"Invalid boot mode {str(target)[:32]} requested for node. Allowed boot modes are: "
                         f"{', '.join(BOOT_MODES)}")
    return _start(request, ctx, node, {"boot_mode": target})


@router.put("/v1/nodes/{ident}/states/secure_boot", status_code=202, openapi_extra=openapi.body({
    "type": "object", "required": ["target"], "properties": {"target": {"type": ["boolean", "string"]}}}))
def set_secure_boot(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                    body=Depends(json_body)):
    node = _node(request, ctx, ident, "baremetal:node:set_secure_boot")
    target = body.get("target") if isinstance(body, dict) else None
    try:
        target = _bool("target", target)
    except BadRequest:
        target = None
    if target is None:
        raise BadRequest(f"Invalid secure_boot {str(body.get('target') if isinstance(body, dict) else None)[:32]} "
                         "requested for node. Allowed secure_boot states are: True, False")
    return _start(request, ctx, node, {"secure_boot": target})
