"""The dead-letter view's retry: an admin re-queues a task the engine failed.

``GET /compute/v2.1/tasks?status=failed&reason=runner-crashed`` (the global
task list, api/tasks_list.py) lists them; ``reason`` is why the engine itself failed a task (runner-crashed,
too-many-takeovers, deadline-exceeded, step-deadline-exceeded).
``POST /compute/v2.1/tasks/{id}/action {"retry": null}`` (admin) re-queues
a dead-lettered task from its last checkpoint.
"""
from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy import select

from taskvisor.api.context import RequestContext
from taskvisor.api.errors import Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.tasks_view import load_steps
from taskvisor.api.validation import validate
from taskvisor.db.models import tasks
from taskvisor.states import server as server_states
from taskvisor.tasks.store import NotRetryable, retry_dead_letter

REASONS = ("runner-crashed", "too-many-takeovers", "deadline-exceeded", "step-deadline-exceeded")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


RETRY = {"type": "object", "required": ["retry"], "additionalProperties": False,
         "properties": {"retry": {"type": ["object", "null"], "properties": {}, "additionalProperties": False}}}


def retry_task(task_id: str, request: Request, body, ctx: RequestContext) -> Response:
    """The ``retry`` task action; ``POST …/tasks/{id}/action`` (api/tasks_routes.py) dispatches here."""
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
