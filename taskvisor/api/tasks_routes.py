"""The global task API, under Compute and Bare Metal alike:

GET  …/tasks                    list (filters, markers; ?watch=true streams events)
GET  …/tasks/{id}               one task (compute's lives in compute/servers.py)
POST …/tasks/{id}/action        {"cancel": null}, or {"retry": null} (admin: a dead letter)
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import update

from taskvisor.api import openapi
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.task_events import feed_of, parse_event_id
from taskvisor.api.tasks_list import TRUE, filter_from_query, list_tasks, next_link, parse_time
from taskvisor.api.tasks_view import load_steps, load_visible_task, render_task
from taskvisor.api.validation import json_body
from taskvisor.compute.rpcapi import cancel_operation
from taskvisor.db.models import tasks
from taskvisor.tasks.store import TERMINAL

router = APIRouter()
ACTION = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
          "properties": {"cancel": {"type": "null"}, "retry": {"type": ["object", "null"]}}}
LIST_QUERY = openapi.query(openapi.LIMIT, openapi.MARKER, ("status", openapi.STRING), ("action", openapi.STRING),
                           ("resource_id", openapi.STRING), ("resource_type", openapi.STRING),
                           ("host", openapi.STRING), ("reason", openapi.STRING), ("changes-since", openapi.STRING),
                           ("changes-before", openapi.STRING), ("all_tenants", openapi.STRING))
# ?watch=true (an endless event stream) is left out of the document: a fuzzer would hang on it
APIS = {"compute": "/compute/v2.1", "baremetal": "/baremetal/v1"}


def _base(request: Request, api: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{APIS[api]}/tasks"


def _list(request: Request, ctx: RequestContext, api: str):
    params = request.query_params
    f = filter_from_query(params, ctx, "node" if api == "baremetal" else None,
                          max_limit=request.app.state.tv.conf.api.max_limit)
    if (params.get("watch") or "").lower() in TRUE:
        authorize(ctx, "tasks:watch", {"project_id": ctx.project_id})
        since = parse_event_id(request.headers.get("last-event-id"))
        if since is None and params.get("since"):
            since = parse_time("since", params.get("since"))
        stream = feed_of(request.app.state.tv).watch(f, ctx.is_admin, since)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    with request.app.state.tv.db.read() as conn:
        rows = list_tasks(conn, f)
        steps = load_steps(conn, [t["id"] for t in rows])
    base = _base(request, api)
    flows = request.app.state.tv.flows
    out = {"tasks": [render_task(flows, t, steps[t["id"]], ctx.is_admin, f"{base}/{t['id']}") for t in rows]}
    link = next_link(base, params, rows, f.limit)
    if link:
        out["tasks_links"] = [{"rel": "next", "href": link}]
    if api == "baremetal" and link:
        out["next"] = link
    return out


def _visible_task(conn, ctx: RequestContext, task_id: str) -> dict:
    task = load_visible_task(conn, ctx, task_id)
    if task is None:
        raise NotFound(f"Task {task_id} could not be found.")
    return task


def cancellable_reason(flows, task: dict) -> str | None:
    """None when the task can be cancelled now, else why not."""
    if task["status"] in TERMINAL:
        return f"Task {task['id']} has already ended ({task['status']})."
    if task["status"] == "queued":
        return None
    if task["status"] == "reverting":
        return f"Task {task['id']} is already reverting."
    try:
        steps = {s.name: s for s in flows.get(task["flow"]).for_task(task).steps}
    except KeyError:
        steps = {}
    step = steps.get(task["current_step"] or "")
    if step is None or not step.cancellable:
        return (f"Task {task['id']} is running step {task['current_step']}, which cannot be cancelled; "
                "only queued tasks and tasks in a cancellable step can be.")
    return None


def _action(request: Request, ctx: RequestContext, api: str, task_id: str, body) -> Response:
    if isinstance(body, dict) and "retry" in body:
        from taskvisor.api.compute.dead_letters import retry_task
        return retry_task(task_id, request, body, ctx)
    if not isinstance(body, dict) or list(body) != ["cancel"] or body["cancel"] is not None:
        raise BadRequest('A task action is {"cancel": null} or {"retry": null}.')
    db = request.app.state.tv.db
    with db.write() as conn:
        task = _visible_task(conn, ctx, task_id)
        authorize(ctx, "tasks:cancel", {"project_id": task["project_id"]})
        reason = cancellable_reason(request.app.state.tv.flows, task)
        if reason:
            raise Conflict(reason)
        # Guarded on the status read: a conductor that claimed the task in
        # between makes this match nothing, and the caller hears 409.
        asked = conn.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.status == task["status"],
                                                 tasks.c.current_step.is_not_distinct_from(task["current_step"]))
                             .values(cancel_requested=True)).rowcount
        if asked != 1:
            raise Conflict(f"Task {task_id} moved on while it was being cancelled; look at it again.")
    request.app.state.tv.wake_conductors()
    if task["status"] == "running":  # a compute may be waiting for a guest to shut down: stop the wait now
        cancel_operation(request.app.state.tv.transport, task_id)
    return Response(status_code=202, headers={"Location": f"{_base(request, api)}/{task_id}"})


@router.get("/compute/v2.1/tasks", openapi_extra=LIST_QUERY)
def compute_list(request: Request, ctx: RequestContext = Depends(get_context)):
    return _list(request, ctx, "compute")


@router.post("/compute/v2.1/tasks/{task_id}/action", openapi_extra=openapi.body(ACTION))
def compute_cancel(task_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                   body=Depends(json_body)):
    return _action(request, ctx, "compute", task_id, body)


@router.get("/baremetal/v1/tasks", openapi_extra=LIST_QUERY)
def baremetal_list(request: Request, ctx: RequestContext = Depends(get_context)):
    return _list(request, ctx, "baremetal")


@router.get("/baremetal/v1/tasks/{task_id}")
def baremetal_show(task_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        task = _visible_task(conn, ctx, task_id)
        authorize(ctx, "tasks:show", {"project_id": task["project_id"]})
        steps = load_steps(conn, [task_id])[task_id]
    return {"task": render_task(request.app.state.tv.flows, task, steps, ctx.is_admin,
                                f"{_base(request, 'baremetal')}/{task_id}")}


@router.post("/baremetal/v1/tasks/{task_id}/action", openapi_extra=openapi.body(ACTION))
def baremetal_cancel(task_id: str, request: Request, ctx: RequestContext = Depends(get_context),
                     body=Depends(json_body)):
    return _action(request, ctx, "baremetal", task_id, body)
