"""POST /servers/{id}/action: every server action as a task.

Each action validates its body (Nova's shapes, JSON Schema), checks the
server's vm_state against the state machine's data (``states.ACTIONS``),
then starts the action's flow with ``start_server_task`` (compare-and-swap
on the observed vm_state and a free task_state, plus the task row, in one
transaction). ``os-getConsoleOutput`` is the exception: a synchronous read.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from taskvisor.api import openapi
from taskvisor.api.compute.availability_zones import compute_zones
from taskvisor.api.compute.submit import (AlreadyInFlight, TASK_HEADER, check_unlocked, get_server, start_server_task,
                                         target_of, task_url)
from taskvisor.api.compute import quota
from taskvisor.api.compute.views import flavor_snapshot
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.policy import authorize
from taskvisor.api.errors import ApiError, BadRequest, Conflict, NotFound
from taskvisor.api.validation import BOOLEAN, json_body, validate
from taskvisor.baremetal.placement import flow_for
from taskvisor.compute.rpcapi import ComputeClient
from taskvisor.db.models import flavors, images
from taskvisor.rpc.base import RemoteError, RpcTimeout
from taskvisor.states import server as states

router = APIRouter(prefix="/compute/v2.1")

EMPTY = {"type": ["object", "null"], "properties": {}, "additionalProperties": False}
FORCE_FROM = "2.101"  # taskvisor's microversion: "force" skips the clean shutdown


def _inner(properties: dict, required: list[str] | None = None, nullable: bool = True) -> dict:
    schema = {"type": ["object", "null"] if nullable else "object", "properties": properties,
              "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _with_force(schema: dict, ctx: RequestContext) -> dict:
    """The "force" member exists only from microversion 2.101 (below it, it is unexpected)."""
    if not ctx.at_least(FORCE_FROM):
        return schema
    return {**schema, "properties": {**schema["properties"], "force": BOOLEAN}}


def _body(body: dict, key: str, inner: dict) -> dict:
    validate(body, {"type": "object", "required": [key], "properties": {key: inner},
                    "additionalProperties": False})
    return body[key] or {}


def _params(args: dict, **extra) -> dict:
    params = {k: v for k, v in extra.items() if v is not None}
    if args.get("force"):
        params["force"] = True
    return params


def _start(request: Request, ctx: RequestContext, server_id: str, action: str, params: dict | None = None,
           status: int = 202, payload: dict | None = None) -> Response:
    spec = states.ACTIONS[action]
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    if spec.checks_lock:
        check_unlocked(ctx, server)
    if server["vm_state"] not in spec.sources:
        raise Conflict(f"Cannot '{spec.label}' instance {server_id} while it is in vm_state {server['vm_state']}")
    flow = flow_for(server["flavor"], spec.flow)
    if flow is None:
        raise Conflict(f"Cannot '{spec.label}' instance {server_id}: a bare-metal server does not support it")
    if spec.supersedes and server["task_state"] == spec.task_states[0]:  # already on its way
        url = task_url(request, server_id, server["task_id"])
    else:
        try:
            _, url = start_server_task(
                request, ctx, server_id, action=spec.instance_action, flow=flow, task_state=spec.task_states[0],
                params={"source": server["vm_state"], **(params or {})}, vm_states=[server["vm_state"]],
                any_task_state=spec.supersedes, action_label=spec.label, same_intent=spec.supersedes,
                unlocked=spec.checks_lock and not ctx.is_admin)
        except AlreadyInFlight as exc:  # a racing request started it: one task, one URL
            url = task_url(request, server_id, exc.task_id)
    if payload is not None:
        return JSONResponse(payload, status_code=status, headers={TASK_HEADER: url})
    return Response(status_code=status, headers={TASK_HEADER: url})


# -- one handler per action: (request, ctx, server_id, body) -> Response --------------
def os_stop(request, ctx, server_id, body):
    args = _body(body, "os-stop", _with_force(EMPTY, ctx))
    return _start(request, ctx, server_id, "stop", _params(args))


def os_start(request, ctx, server_id, body):
    _body(body, "os-start", EMPTY)
    return _start(request, ctx, server_id, "start")


REBOOT = _inner({"type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
                required=["type"], nullable=False)


def reboot(request, ctx, server_id, body):
    args = _body(body, "reboot", REBOOT)
    return _start(request, ctx, server_id, "reboot_hard" if args["type"].upper() == "HARD" else "reboot")


RESCUE = _inner({"adminPass": {"type": "string", "maxLength": 255},
                 "rescue_image_ref": {"type": "string", "format": "uuid", "minLength": 1}})


def rescue(request, ctx, server_id, body):
    args = _body(body, "rescue", _with_force(RESCUE, ctx))
    image_ref = args.get("rescue_image_ref")
    if image_ref:
        with request.app.state.tv.db.read() as conn:
            image = conn.execute(select(images.c.id, images.c.status).where(images.c.id == image_ref)).first()
        if image is None or image.status != "active":
            raise BadRequest(f"Image {image_ref} could not be found.")
    password = args.get("adminPass") or uuid.uuid4().hex[:12]
    return _start(request, ctx, server_id, "rescue", _params(args, rescue_image_ref=image_ref),
                  status=200, payload={"adminPass": password})


def unrescue(request, ctx, server_id, body):
    _body(body, "unrescue", EMPTY)
    return _start(request, ctx, server_id, "unrescue")


def shelve(request, ctx, server_id, body):
    args = _body(body, "shelve", _with_force(EMPTY, ctx))
    return _start(request, ctx, server_id, "shelve", _params(args))


def shelve_offload(request, ctx, server_id, body):
    args = _body(body, "shelveOffload", _with_force(EMPTY, ctx))
    return _start(request, ctx, server_id, "shelveOffload", _params(args))


UNSHELVE = _inner({"availability_zone": {"type": ["string", "null"], "minLength": 1, "maxLength": 255}})


def unshelve(request, ctx, server_id, body):
    args = _body(body, "unshelve", UNSHELVE)
    zone = args.get("availability_zone")
    if zone is not None:
        with request.app.state.tv.db.read() as conn:
            server = get_server(conn, ctx, server_id)
            zones = compute_zones(conn, request.app.state.tv.conf.DEFAULT.default_availability_zone)
        if server["vm_state"] == states.SHELVED:
            raise Conflict("The availability_zone parameter is only valid when unshelving a shelved "
                           "offloaded server.")
        if zone not in zones:
            raise BadRequest(f"The requested availability zone is not available: {zone}")
    return _start(request, ctx, server_id, "unshelve", _params({}, availability_zone=zone))


RESIZE = _inner({"flavorRef": {"type": ["string", "integer"], "minLength": 1},
                 "OS-DCF:diskConfig": {"type": "string", "enum": ["AUTO", "MANUAL"]}},
                required=["flavorRef"], nullable=False)


def resize(request, ctx, server_id, body):
    args = _body(body, "resize", _with_force(RESIZE, ctx))
    flavor_id = str(args["flavorRef"]).rstrip("/").rsplit("/", 1)[-1]
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
        flavor = conn.execute(select(flavors).where(flavors.c.id == flavor_id)).mappings().first()
    if server["vm_state"] not in states.ACTIONS["resize"].sources:
        raise Conflict(f"Cannot 'resize' instance {server_id} while it is in vm_state {server['vm_state']}")
    if flavor is None:
        raise BadRequest("Unable to locate requested flavor.")
    if flavor["id"] == server["flavor"]["id"]:
        raise BadRequest("When resizing, instances must change flavor!")
    if flavor["disk"] < server["flavor"].get("disk", 0):
        raise BadRequest("Resize error: Unable to resize disk down.")
    with request.app.state.tv.db.read() as conn:  # nova-quotas: an upsize needs cores and ram quota
        quota.check_resize(conn, request.app.state.tv.conf, server["project_id"], server["user_id"],
                           server["flavor"], dict(flavor))
    return _start(request, ctx, server_id, "resize", _params(args, new_flavor=flavor_snapshot(dict(flavor)),
                                                             disk_config=args.get("OS-DCF:diskConfig")))


def confirm_resize(request, ctx, server_id, body):
    _body(body, "confirmResize", EMPTY)
    return _start(request, ctx, server_id, "confirmResize", status=204)


def revert_resize(request, ctx, server_id, body):
    _body(body, "revertResize", EMPTY)
    return _start(request, ctx, server_id, "revertResize")


def _simple(key: str, action: str) -> Callable:
    def handler(request, ctx, server_id, body):
        _body(body, key, EMPTY)
        return _start(request, ctx, server_id, action)
    return handler


def force_delete(request, ctx, server_id, body):
    _body(body, "forceDelete", EMPTY)
    return _start(request, ctx, server_id, "forceDelete", {"force": True})


CONSOLE = _inner({"length": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$", "minimum": -1}},
                 nullable=False)


def console_output(request, ctx, server_id, body):
    args = _body(body, "os-getConsoleOutput", CONSOLE)
    length = args.get("length")
    length = None if length is None or int(length) == -1 else int(length)
    if length is not None and length < 0:
        raise BadRequest(f"Invalid input for field/attribute length. Value: {args['length']}. "
                         "It must be -1 or a non-negative integer.")
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    if not server["host"] or server["vm_state"] in (states.BUILDING, states.SHELVED_OFFLOADED):
        raise Conflict(f"Instance {server_id} is not ready")
    tv = request.app.state.tv
    host = server["host"]
    client = ComputeClient(tv.transport, host, {}, tv.compute_versions.for_host(host),
                           min(30.0, float(tv.conf.DEFAULT.rpc_response_timeout)), read_only=True)
    try:
        # Nova tails the log by splitting it on "\n" (the text after the last newline counts as a
        # line): one more line from the driver's tail gives the same text.
        output = client.call("console_output", server_id=server_id,
                             length=None if length is None else length + 1)["output"]
        output = nova_tail(output, length)
    except RemoteError as exc:
        if exc.type == "GuestNotFound":
            raise NotFound("Guest does not have a console available.") from None
        raise ApiError(500, f"Unable to get console output: {exc.message}") from None
    except RpcTimeout:
        raise Conflict(f"Instance {server_id} is not ready: its compute host did not answer") from None
    return JSONResponse({"output": output})


def nova_tail(log: str, length: int | None) -> str:
    """Nova's tail of a console log: the last ``length`` items of log.split("\n"), rejoined."""
    if length is None:
        return log
    return "\n".join(log.split("\n")[-length:]) if length else ""


HANDLERS: dict[str, Callable] = {
    "os-stop": os_stop, "os-start": os_start, "reboot": reboot, "rescue": rescue, "unrescue": unrescue,
    "shelve": shelve, "shelveOffload": shelve_offload, "unshelve": unshelve, "resize": resize,
    "confirmResize": confirm_resize, "revertResize": revert_resize,
    "pause": _simple("pause", "pause"), "unpause": _simple("unpause", "unpause"),
    "suspend": _simple("suspend", "suspend"), "resume": _simple("resume", "resume"),
    "forceDelete": force_delete, "os-getConsoleOutput": console_output,
}
INNER = {"os-stop": EMPTY, "os-start": EMPTY, "reboot": REBOOT, "rescue": RESCUE, "unrescue": EMPTY,
         "shelve": EMPTY, "shelveOffload": EMPTY, "unshelve": UNSHELVE, "resize": RESIZE,
         "confirmResize": EMPTY, "revertResize": EMPTY, "pause": EMPTY, "unpause": EMPTY, "suspend": EMPTY,
         "resume": EMPTY, "forceDelete": EMPTY, "os-getConsoleOutput": CONSOLE}
# nova-servers: more actions, one module each (they use the helpers above, so they are imported here)
from taskvisor.api.compute import (admin_actions, deferred_delete, image_actions, lock_actions,  # noqa: E402
                                   rebuild_action, security_group_actions)
_MORE = (lock_actions, admin_actions, image_actions, rebuild_action, deferred_delete, security_group_actions)
for _module in _MORE:
    HANDLERS.update(_module.HANDLERS)
    INNER.update(_module.INNER)
# The document's body: one of the actions, each with the schema its handler validates with
ACTION_BODY = {"oneOf": [{"type": "object", "required": [name], "properties": {name: inner},
                          "additionalProperties": False} for name, inner in INNER.items()]}
RULES = {  # Nova's rule for each action
    "os-stop": "os_compute_api:servers:stop", "os-start": "os_compute_api:servers:start",
    "reboot": "os_compute_api:servers:reboot", "rescue": "os_compute_api:os-rescue",
    "unrescue": "os_compute_api:os-unrescue", "shelve": "os_compute_api:os-shelve:shelve",
    "shelveOffload": "os_compute_api:os-shelve:shelve_offload", "unshelve": "os_compute_api:os-shelve:unshelve",
    "resize": "os_compute_api:servers:resize", "confirmResize": "os_compute_api:servers:confirm_resize",
    "revertResize": "os_compute_api:servers:revert_resize", "pause": "os_compute_api:os-pause-server:pause",
    "unpause": "os_compute_api:os-pause-server:unpause", "suspend": "os_compute_api:os-suspend-server:suspend",
    "resume": "os_compute_api:os-suspend-server:resume", "forceDelete": "os_compute_api:os-deferred-delete:force",
    "os-getConsoleOutput": "os_compute_api:os-console-output",
}
for _module in _MORE:
    RULES.update(_module.RULES)


@router.post("/servers/{server_id}/action", status_code=202, openapi_extra=openapi.body(ACTION_BODY),
             responses={200: {"description": "os-getConsoleOutput"}, 204: {"description": "confirmResize"}})
def server_action(server_id: str, request: Request, body=Depends(json_body),
                  ctx: RequestContext = Depends(get_context)):
    if not isinstance(body, dict) or not body:
        raise BadRequest("The request body must be a JSON object naming one action.")
    if len(body) != 1:
        raise BadRequest(f"Only one action per request; got {', '.join(sorted(body))}.")
    (name,) = body
    handler = HANDLERS.get(name)
    if handler is None:
        raise BadRequest(f"There is no such action: {name[:64]}")
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)  # another project's server: 404, never 403
    authorize(ctx, RULES[name], target_of(server))
    return handler(request, ctx, server_id, body)
