"""Starting a task from the API, for any resource: one transaction runs the
resource's compare-and-swap (its state is one the action is allowed from,
no other task owns it) and queues the task row; then conductors are woken.
Two conflicting requests racing on one resource: exactly one wins."""
from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from fastapi import Request
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Update

from taskvisor.api.context import RequestContext
from taskvisor.tasks.store import insert_task, new_task_row

TASK_HEADER = "X-Taskvisor-Task"


def start_task(request: Request, ctx: RequestContext, *, resource_type: str, resource_id: str, action: str,
               flow: str, params: dict | None, cas: Callable[[str], Update | tuple[Update, dict]],
               on_conflict: Callable[[Connection], NoReturn]) -> dict:
    """``cas(task_id)`` is the guarded UPDATE that hands the resource to the
    new task; when it matches no row, ``on_conflict(conn)`` raises the error
    the caller's API answers with; it may return the statement with its
    parameters, ``(statement, parameters)``, when the statement is built
    once with bind parameters. Returns the queued task row."""
    db = request.app.state.tv.db
    task = new_task_row(resource_type=resource_type, resource_id=resource_id, action=action, flow=flow,
                        flow_version=request.app.state.tv.flows.get(flow).version, params=params or {}, request_id=ctx.request_id,
                        user_id=ctx.user_id, project_id=ctx.project_id)
    with db.write() as conn:
        guarded = cas(task["id"])
        if conn.execute(*guarded if isinstance(guarded, tuple) else (guarded,)).rowcount != 1:
            on_conflict(conn)
            raise AssertionError("on_conflict must raise")
        insert_task(conn, task)
    request.app.state.tv.wake_conductors()
    return task
