"""What a node's conductor answers at once, by RPC (Ironic's synchronous
conductor calls): GET /v1/nodes/{id}/validate, the boot device and the boot
devices the node supports. They read the hardware and change nothing.

Setting the boot device changes the hardware: a task (node_boot_device),
which the request waits for, since Ironic answers 204 once it is set.
"""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from taskvisor.api import openapi
from taskvisor.api.baremetal.actions import start_node_task
from taskvisor.api.task_start import TASK_HEADER
from taskvisor.api.validation import json_body
from taskvisor.db.models import tasks
from taskvisor.tasks.store import TERMINAL

from taskvisor.api.baremetal.nodes import authorize_node, load_node
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.rpc.base import RemoteError, RpcTimeout
from taskvisor.rpc.conductorapi import ConductorClient

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes


def node_for(request: Request, ctx: RequestContext, ident: str, rule: str) -> dict:
    with request.app.state.tv.db.read() as conn:
        node = load_node(conn, ident, ctx)
    authorize_node(ctx, rule, node, ident)
    return node


def ask(request: Request, method: str, node: dict, *args):
    """A synchronous conductor read (ConductorClient.<method>) of ``node``."""
    tv = request.app.state.tv
    client = ConductorClient(tv.transport, float(tv.conf.DEFAULT.rpc_response_timeout))
    try:
        return getattr(client, method)(node["id"], *args)
    except RpcTimeout:
        raise ApiError(503, f"No conductor answered for node {node['id']}; please retry.") from None
    except RemoteError as exc:
        if exc.type == "NodeGone":
            raise NotFound(f"Node {node['id']} could not be found.") from None
        if exc.type == "HardwareError":
            raise BadRequest(exc.message) from None
        raise ApiError(500, f"The conductor failed to answer for node {node['id']}: {exc.message}") from None


@router.get("/v1/nodes/{ident}/validate")
def validate_node(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = node_for(request, ctx, ident, "baremetal:node:validate")
    return ask(request, "node_validate", node)


@router.get("/v1/nodes/{ident}/management/boot_device")
def get_boot_device(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = node_for(request, ctx, ident, "baremetal:node:get_boot_device")
    return ask(request, "node_boot_device", node)


@router.get("/v1/nodes/{ident}/management/boot_device/supported")
def get_supported_boot_devices(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = node_for(request, ctx, ident, "baremetal:node:get_boot_device")
    return {"supported_boot_devices": ask(request, "node_supported_boot_devices", node)}


@router.put("/v1/nodes/{ident}/management/boot_device", status_code=204, openapi_extra=openapi.body({
    "type": "object", "required": ["boot_device"], "properties": {
        "boot_device": {"type": "string"}, "persistent": {"type": ["boolean", "string"]}}}))
def set_boot_device(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                    body=Depends(json_body)):
    if not isinstance(body, dict) or not isinstance(body.get("boot_device"), str):
        raise BadRequest("Invalid input for field/attribute boot_device. Wrong type. Expected 'str'")
    persistent = body.get("persistent", False)
    if isinstance(persistent, str) and persistent.lower() in ("true", "false"):
        persistent = persistent.lower() == "true"
    if not isinstance(persistent, bool):
        raise BadRequest(f"Invalid input for field/attribute persistent. Value: {persistent!r}. "
                         "Wrong type. Expected 'bool'")
    node = node_for(request, ctx, ident, "baremetal:node:set_boot_device")
    started = start_node_task(request, ctx, node, action="set_boot_device", flow="node_boot_device", sources=None,
                              values={}, params={"boot_device": body["boot_device"], "persistent": persistent})
    return answer_when_done(request, started, f"Setting the boot device of node {node['id']} failed.")


def answer_when_done(request: Request, started: Response, failure: str) -> Response:
    """Wait for the task ``started`` names: 204 once it succeeded, its error
    (400 or 500) if it failed, the 202 if it still runs after the wait."""
    task_url = started.headers[TASK_HEADER]
    status, error = _wait(request, task_url.rsplit("/", 1)[1])
    if status == "succeeded":
        return Response(status_code=204, headers={TASK_HEADER: task_url})
    if status is None:  # still running when the caller's wait ended: it goes on
        return started
    message = (error or {}).get("message") or failure
    raise ApiError(400 if (error or {}).get("code") == 400 else 500, message)


def _wait(request: Request, task_id: str) -> tuple[str | None, dict | None]:
    """The task's end (status, error), or (None, None) after rpc_response_timeout."""
    tv = request.app.state.tv
    deadline = time.monotonic() + float(tv.conf.DEFAULT.rpc_response_timeout)
    while time.monotonic() < deadline:
        with tv.db.read() as conn:
            row = conn.execute(select(tasks.c.status, tasks.c.error).where(tasks.c.id == task_id)).first()
        if row is not None and row.status in TERMINAL:
            return row.status, row.error
        time.sleep(0.02)
    return None, None
