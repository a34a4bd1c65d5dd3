"""POST /v1/heartbeat/{node} (1.22+; the node may also come in the body as
``node_ident``): the deploy ramdisk's heartbeat. taskvisor's drivers run
no ramdisk agent, so no node ever holds an agent token: after Ironic's
checks of the request, the answer is Ironic's for a node that is not
waiting for an agent (400, invalid or missing agent token)."""
from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request

from taskvisor.api import openapi
from taskvisor.api.baremetal.nodes import load_node, minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import json_body

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE, VERSION_SINCE, VERIFY_CA_SINCE, STATUS_SINCE = 22, 36, 68, 72
AGENT_STATES = ("start", "end", "error")
BODY = {"type": "object", "required": ["callback_url"], "properties": {
    "node_ident": {"type": "string"}, "callback_url": {"type": "string"}, "agent_version": {"type": "string"},
    "agent_token": {"type": "string"}, "agent_verify_ca": {"type": "string"}, "agent_status": {"enum": AGENT_STATES},
    "agent_status_message": {"type": "string"}}}


def _check(ctx: RequestContext, body: dict) -> None:
    if body.get("agent_version") and minor(ctx) < VERSION_SINCE:
        raise BadRequest('Field "agent_version" not recognised')
    if (body.get("agent_status") or body.get("agent_status_message")) and minor(ctx) < STATUS_SINCE:
        raise BadRequest('Fields "agent_status" and "agent_status_message" not recognised.')
    authorize(ctx, "baremetal:node:ipa_heartbeat")
    if body.get("agent_verify_ca") is not None and minor(ctx) < VERIFY_CA_SINCE:
        raise BadRequest('Field "agent_verify_ca" not recognised in this version')


def _heartbeat(request: Request, ctx: RequestContext, ident: str | None, body) -> None:
    if minor(ctx) < SINCE:
        raise NotFound("The resource could not be found.")
    if not isinstance(body, dict) or not isinstance(body.get("callback_url"), str):
        raise BadRequest("Invalid input for field/attribute callback_url. Wrong type. Expected 'str'")
    _check(ctx, body)
    ident = ident or body.get("node_ident")
    if not isinstance(ident, str) or not ident:
        raise BadRequest("Missing argument: \"node_ident\"")
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx, any_version=True)
    url = body["callback_url"]
    if url != "" and "http" not in urlparse(url).scheme:
        raise BadRequest('An issue with the supplied "callback_url" has been detected.')
    agent_url = (node["driver_internal_info"] or {}).get("agent_url")
    if agent_url is not None and agent_url != url:
        raise BadRequest('Detected change in ramdisk provided "callback_url"')
    if body.get("agent_token") is None:
        raise BadRequest("Agent token is required for heartbeat processing.")
    if body.get("agent_status") is not None and body["agent_status"] not in AGENT_STATES:
        raise BadRequest(f"Agent status is invalid. Valid states are {','.join(AGENT_STATES)}.")
    if body.get("agent_version") is None and body.get("agent_status") is None:
        raise BadRequest("Agent did not transmit a version, and a version is required. Please update the agent "
                         "being used.")
    # no deploy here waits for an agent: nothing issued a token this one could match
    raise BadRequest("Invalid or missing agent token received.")


@router.post("/v1/heartbeat/{ident}", status_code=202, openapi_extra=openapi.body(BODY))
def heartbeat(ident: str, request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    _heartbeat(request, ctx, ident, body)


@router.post("/v1/heartbeat", status_code=202, openapi_extra=openapi.body(BODY))
def heartbeat_body_node(request: Request, ctx: RequestContext = Depends(get_context), body=Depends(json_body)):
    _heartbeat(request, ctx, None, body)
