"""Nova's os-instance-actions as a view over tasks: one action per task,
one event per step (``compute_<step>``), Success/Error results."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from taskvisor.api import openapi
from taskvisor.api.compute.submit import visible
from taskvisor.api.compute.views import host_id, iso_usec
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.policy import allowed, authorize
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.tasks_list import parse_time
from taskvisor.api.tasks_view import load_steps, load_tasks
from taskvisor.db.models import servers, tasks

router = APIRouter(prefix="/compute/v2.1")
RESULTS = {"succeeded": "Success", "skipped": "Success", "reverted": "Success", "failed": "Error"}


def _server(conn, ctx: RequestContext, server_id: str) -> dict:
    """Deleted servers keep their actions (to their project and to admins)."""
    row = conn.execute(visible(select(servers).where(servers.c.id == server_id), ctx)).mappings().first()
    if row is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return dict(row)


def action_view(task: dict, ctx: RequestContext) -> dict:
    out = {"action": task["action"], "instance_uuid": task["resource_id"], "request_id": task["request_id"],
           "user_id": task["user_id"], "project_id": task["project_id"],
           "start_time": iso_usec(task["created_at"]),
           "message": "Error" if task["status"] in ("failed", "reverted") else None}
    if ctx.at_least("2.58"):
        out["updated_at"] = iso_usec(task["updated_at"])
    return out


def event_view(step: dict, task: dict, project_id: str, ctx: RequestContext) -> dict:
    """A step is an event. The step that failed the task is an Error even when
    its own revert ran afterwards (the task's error names it)."""
    failed_here = (task.get("error") or {}).get("step") == step["name"] and task["status"] in ("failed", "reverted")
    result = "Error" if failed_here else RESULTS.get(step["status"])
    error = (task["error"] or {}).get("message") if failed_here else step["error"]
    out = {"event": f"compute_{step['name']}", "start_time": iso_usec(step["started_at"]),
           "finish_time": iso_usec(step["finished_at"]), "result": result}
    details = allowed(ctx, "os_compute_api:os-instance-actions:events:details", {"project_id": project_id})
    if details:
        out["traceback"] = (task["error_traceback"] if failed_here else None) or step["traceback"]
    if ctx.at_least("2.62"):
        out["hostId"] = host_id(project_id, step["host"])
        if details:
            out["host"] = step["host"]
    if ctx.at_least("2.84"):
        out["details"] = error if result == "Error" else (
            "reverted after the action failed" if step["status"] == "reverted" else step_summary(step, ctx.is_admin))
    return out


def step_summary(step: dict, is_admin: bool) -> str | None:
    """A step's details as one line (``shutdown=clean, seconds=0.8``), as
    Nova's event ``details`` is a string; None when the step noted nothing.
    Host names are for admins, as Nova's event ``host`` is."""
    items = [f"{key}={value}" for key, value in (step.get("details") or {}).items()
             if (isinstance(value, (str, int, float, bool)) or value is None) and (is_admin or key != "host")]
    return ", ".join(items)[:255] or None


@router.get("/servers/{server_id}/os-instance-actions", openapi_extra=openapi.query(
    openapi.LIMIT, openapi.MARKER, ("changes-since", openapi.STRING), ("changes-before", openapi.STRING)))
def list_actions(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    params = request.query_params
    with request.app.state.tv.db.read() as conn:
        server = _server(conn, ctx, server_id)
        authorize(ctx, "os_compute_api:os-instance-actions:list", server)
        rows = [t for t in load_tasks(conn, server_id) if t["resource_type"] == "server"]
    if ctx.at_least("2.58"):
        since = parse_time("changes-since", params.get("changes-since"))
        before = parse_time("changes-before", params.get("changes-before")) if ctx.at_least("2.66") else None
        rows = [t for t in rows if (since is None or t["updated_at"] >= since)
                and (before is None or t["updated_at"] <= before)]
        if params.get("marker"):
            ids = [t["request_id"] for t in rows]
            if params["marker"] not in ids:
                raise BadRequest(f"Marker {params['marker'][:64]} could not be found.")
            rows = rows[ids.index(params["marker"]) + 1:]
        if params.get("limit") is not None:
            if not params["limit"].isdigit() or len(params["limit"]) > 18:
                raise BadRequest(f"Invalid input for query parameters limit. Value: {params['limit']}. "
                                 "It must be a non-negative integer.")
            rows = rows[:int(params["limit"])]
    return {"instanceActions": [action_view(t, ctx) for t in rows]}


@router.get("/servers/{server_id}/os-instance-actions/{request_id}")
def show_action(server_id: str, request_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        server = _server(conn, ctx, server_id)
        authorize(ctx, "os_compute_api:os-instance-actions:show", server)
        task = conn.execute(select(tasks).where(tasks.c.resource_id == server_id, tasks.c.request_id == request_id)
                            .order_by(tasks.c.created_ts.desc()).limit(1)).mappings().first()
        if task is None:
            raise NotFound(f"Action for request_id {request_id} on instance {server_id} not found")
        steps = load_steps(conn, [task["id"]])[task["id"]]
    out = action_view(dict(task), ctx)
    out["events"] = [event_view(s, dict(task), server["project_id"], ctx) for s in steps]
    return {"instanceAction": out}
