"""Every task, filtered (the dead-letter view), and an admin's retry.

``GET /compute/v2.1/tasks?status=failed&reason=runner-crashed`` lists tasks
of any resource (servers and nodes); a non-admin sees their project's.
``reason`` is why the engine itself failed a task (runner-crashed,
too-many-takeovers, deadline-exceeded, step-deadline-exceeded).
``POST /compute/v2.1/tasks/{id}/action {"retry": null}`` (admin) re-queues
a dead-lettered task from its last checkpoint.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from taskvisor.api.context import RequestContext, get_context
from taskvisor.api import openapi
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.tasks_view import load_steps, render_task
from taskvisor.api.validation import json_body, page_limit, validate
from taskvisor.db.models import tasks
from taskvisor.states import server as server_states
from taskvisor.tasks.store import NotRetryable, retry_dead_letter

router = APIRouter(prefix="/compute/v2.1")
STATUSES = ("queued", "running", "reverting", "succeeded", "failed", "reverted", "cancelled")
REASONS = ("runner-crashed", "too-many-takeovers", "deadline-exceeded", "step-deadline-exceeded")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/tasks", openapi_extra=openapi.query(openapi.LIMIT, ("status", {"enum": list(STATUSES)}),
                                                  ("reason", {"enum": list(REASONS)}), ("resource_type", openapi.STRING)))
def list_tasks(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "taskvisor:dead_letters:list")
    q = request.query_params
    query = select(tasks).order_by(tasks.c.created_ts.desc())
    if not ctx.is_admin:
        query = query.where(tasks.c.project_id == ctx.project_id)
    if "status" in q:
        if q["status"] not in STATUSES:
            raise BadRequest(f"Invalid status {q['status']!r}: it must be one of {', '.join(STATUSES)}.")
        query = query.where(tasks.c.status == q["status"])
    if "reason" in q:
        if q["reason"] not in REASONS:
            raise BadRequest(f"Invalid reason {q['reason']!r}: it must be one of {', '.join(REASONS)}.")
        query = query.where(tasks.c.failure_reason == q["reason"])
    if "resource_type" in q:
        query = query.where(tasks.c.resource_type == q["resource_type"])
    limit = page_limit(q, request.app.state.tv.conf.api.max_limit)
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query.limit(limit)).mappings()]
        steps = load_steps(conn, [t["id"] for t in rows])
    flows = request.app.state.tv.flows
    return {"tasks": [render_task(flows, t, steps[t["id"]], ctx.is_admin, f"{_base(request)}/compute/v2.1/tasks/{t['id']}")
                      for t in rows]}


RETRY = {"type": "object", "required": ["retry"], "additionalProperties": False,
         "properties": {"retry": {"type": ["object", "null"], "properties": {}, "additionalProperties": False}}}


@router.post("/tasks/{task_id}/action", status_code=202, openapi_extra=openapi.body(RETRY))
def task_action(task_id: str, request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "taskvisor:dead_letters:retry")
    validate(body, RETRY)
    db = request.app.state.tv.db
    with db.write() as conn:
        task = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
        if task is None:
            raise NotFound(f"Task {task_id} could not be found.")
        task = dict(task)
        if task["status"] != "failed" or not task["failure_reason"]:
            raise Conflict(f"Task {task_id} is {task['status']}, not dead-lettered: only a task the engine "
                           "failed (it has a reason) can be retried.")
        try:
            retry_dead_letter(conn, task, _resume_updates(request.app.state.tv.flows, conn, task))
        except NotRetryable as exc:
            raise Conflict(f"Cannot retry task {task_id}: {exc}.") from None
    request.app.state.tv.wake_conductors()
    return Response(status_code=202, headers={"X-Taskvisor-Task": f"{_base(request)}/compute/v2.1/tasks/{task_id}"})


def _resume_updates(flows, conn, task: dict) -> dict:
    """A retried server shows a task_state again (so no other action starts
    beside it): the one of the step it resumes at, else its action's first."""
    if task["resource_type"] != "server":
        return {}
    done = {s["idx"] for s in load_steps(conn, [task["id"]])[task["id"]] if s["status"] in ("succeeded", "skipped")}
    try:
        steps = flows.get(task["flow"]).for_task(task).steps
    except KeyError:
        steps = []
    pending = [s for i, s in enumerate(steps) if i not in done]
    if pending and pending[0].task_state:
        return {"task_state": pending[0].task_state}
    spec = server_states.ACTIONS.get(task["action"])
    return {"task_state": spec.task_states[0] if spec else task["action"]}
