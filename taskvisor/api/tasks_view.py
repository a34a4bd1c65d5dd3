"""The task API's view: a task with its ordered steps (architecture.md §4). Shared by
servers and nodes; instance actions and faults are further views over it."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from taskvisor.db.models import task_steps, tasks
from taskvisor.tasks.flow import Flows


def iso(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # stored naive UTC: isoformat is the same text as the strftime below, cheaper
        return value.isoformat(timespec="microseconds") + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ids(resource_id: str | list[str]) -> list[str]:
    return [resource_id] if isinstance(resource_id, str) else resource_id


# Built once with bind parameters: clients poll a task by these, and building
# the statement (and its cache key) per request cost more than running it.
_TASK = select(tasks).where(tasks.c.id == bindparam("task_id"))
_PROJECT_TASK = _TASK.where(tasks.c.project_id == bindparam("project_id"))
_TASK_OF = _TASK.where(tasks.c.resource_id == bindparam("resource_id"))
_TASK_OF_ANY = _TASK.where(tasks.c.resource_id.in_(bindparam("resource_ids", expanding=True)))
_STEPS_OF = select(task_steps).where(task_steps.c.task_id == bindparam("task_id")).order_by(task_steps.c.idx)
_STEPS_OF_ANY = (select(task_steps).where(task_steps.c.task_id.in_(bindparam("task_ids", expanding=True)))
                 .order_by(task_steps.c.task_id, task_steps.c.idx))


def load_tasks(conn: Connection, resource_id: str | list[str]) -> list[dict]:
    """The tasks of a resource (or of several: a node and the servers placed on it), newest first."""
    return [dict(r) for r in conn.execute(select(tasks).where(tasks.c.resource_id.in_(_ids(resource_id)))
                                          .order_by(tasks.c.created_ts.desc())).mappings()]


def load_task(conn: Connection, resource_id: str | list[str], task_id: str) -> dict | None:
    if isinstance(resource_id, str):
        row = conn.execute(_TASK_OF, {"task_id": task_id, "resource_id": resource_id}).mappings().first()
    else:
        row = conn.execute(_TASK_OF_ANY, {"task_id": task_id, "resource_ids": resource_id}).mappings().first()
    return dict(row) if row else None


def load_visible_task(conn: Connection, ctx, task_id: str) -> dict | None:
    """Any task by id (a server's or a node's) that the caller's context may
    see: an admin sees every project's; None when there is none to see."""
    if ctx.is_admin:
        row = conn.execute(_TASK, {"task_id": task_id}).mappings().first()
    else:
        row = conn.execute(_PROJECT_TASK, {"task_id": task_id, "project_id": ctx.project_id}).mappings().first()
    return dict(row) if row else None


def load_steps(conn: Connection, task_ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in task_ids}
    if len(task_ids) == 1:  # a poll of one task
        out[task_ids[0]] = [dict(row) for row in conn.execute(_STEPS_OF, {"task_id": task_ids[0]}).mappings()]
    elif task_ids:
        for row in conn.execute(_STEPS_OF_ANY, {"task_ids": list(task_ids)}).mappings():
            out[row["task_id"]].append(dict(row))
    return out


def planned_steps(flows: Flows, task: dict) -> list[str]:
    try:
        return flows.for_task(task)[0].step_names
    except KeyError:
        return []


def render_task(flows: Flows, task: dict, steps: list[dict], is_admin: bool, base_url: str = "") -> dict:
    by_idx = {s["idx"]: s for s in steps}
    names = planned_steps(flows, task) or [s["name"] for s in steps]
    rendered = []
    for idx, name in enumerate(names):
        row = by_idx.get(idx)
        if row is None:
            rendered.append({"index": idx, "name": name, "status": "pending", "host": None, "attempt": 0,
                             "started_at": None, "finished_at": None, "details": {}, "error": None})
            continue
        item = {"index": idx, "name": row["name"], "status": row["status"], "host": row["host"],
                "attempt": row["attempt"], "started_at": iso(row["started_at"]),
                "finished_at": iso(row["finished_at"]), "details": row["details"] or {}, "error": row["error"]}
        if is_admin:
            item["traceback"] = row["traceback"]
        rendered.append(item)
    error = task["error"]
    if error and is_admin:
        error = {**error, "traceback": task["error_traceback"]}
    out = {
        "id": task["id"], "action": task["action"], "status": task["status"],
        "resource_type": task["resource_type"], "resource_id": task["resource_id"],
        "request_id": task["request_id"], "user_id": task["user_id"], "project_id": task["project_id"],
        "flow": {"name": task["flow"], "version": task["flow_version"]},
        "params": task["params"], "progress": task["progress"], "current_step": task["current_step"],
        "created_at": iso(task["created_at"]), "started_at": iso(task["started_at"]),
        "finished_at": iso(task["finished_at"]), "updated_at": iso(task["updated_at"]),
        "steps": rendered, "error": error,
        # set when the engine itself failed the task (dead letter): why
        "reason": task.get("failure_reason"),
    }
    if is_admin:
        out["owner"] = task["owner"]
        out["takeovers"] = task["takeovers"]
    if base_url:
        out["links"] = [{"rel": "self", "href": base_url}]
    return out
