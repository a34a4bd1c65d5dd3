"""Starting a server task: one transaction checks the server's state
(compare-and-swap), claims its task_state, and queues the task row. Two
conflicting requests racing on one server: exactly one wins, the other 409s."""
from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from fastapi import Request
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Update

from taskvisor.api.context import RequestContext
from taskvisor.api.errors import Conflict, NotFound
from taskvisor.db import direct
from taskvisor.db.models import servers
from taskvisor.db.session import utcnow
from taskvisor.api.task_start import TASK_HEADER, start_task  # noqa: F401  (TASK_HEADER is imported from here)


class AlreadyInFlight(Exception):
    """The same action is already under way: answer with its task."""

    def __init__(self, task_id: str):
        super().__init__(task_id)
        self.task_id = task_id


class Locked(Conflict):
    """Nova's InstanceIsLocked: a non-admin may not change a locked server."""

    def __init__(self, server_id: str):
        super().__init__(f"Instance {server_id} is locked")


def check_unlocked(ctx: RequestContext, server: dict) -> None:
    if server.get("locked_by") and not ctx.is_admin:
        raise Locked(server["id"])


def visible(query, ctx: RequestContext, table=servers):
    return query if ctx.is_admin else query.where(table.c.project_id == ctx.project_id)


def target_of(row) -> dict:
    """The policy target of a server (or a task): its project and user."""
    return {"project_id": row["project_id"], "user_id": row["user_id"]}


# Built once: nearly every server route reads its server so (SQLAlchemy caches by statement)
_SERVER = select(servers).where(servers.c.id == bindparam("server_id"), servers.c.deleted.is_(False))
_PROJECT_SERVER = _SERVER.where(servers.c.project_id == bindparam("project_id"))


def get_server(conn: Connection, ctx: RequestContext, server_id: str) -> dict:
    if ctx.is_admin:
        row = direct.mapping(conn, _SERVER, {"server_id": server_id})
    else:
        row = direct.mapping(conn, _PROJECT_SERVER, {"server_id": server_id, "project_id": ctx.project_id})
    if row is None:
        raise NotFound(f"Instance {server_id} could not be found.")
    return row


def task_url(request: Request, server_id: str, task_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/compute/v2.1/servers/{server_id}/tasks/{task_id}"


_NO_INTENT = object()


@functools.lru_cache(maxsize=256)
def _cas(admin: bool, vm_states: tuple[str, ...] | None, any_task_state: bool, unlocked: bool, intent) -> Update:
    """The guarded UPDATE of ``start_server_task``, built once per shape
    (building it per request cost about a fifth of a DELETE's CPU). The SET
    clause comes from the parameters' keys (the new task_state, task_id,
    updated_at and the caller's updates); the server and project are bound
    as ``cas_server_id`` and ``cas_project_id``."""
    cas = update(servers).where(servers.c.id == bindparam("cas_server_id"), servers.c.deleted.is_(False))
    if not admin:
        cas = cas.where(servers.c.project_id == bindparam("cas_project_id"))
    if vm_states is not None:
        cas = cas.where(servers.c.vm_state.in_(list(vm_states)))
    if not any_task_state:
        cas = cas.where(servers.c.task_state.is_(None))
    if unlocked:
        cas = cas.where(servers.c.locked_by.is_(None))
    if intent is not _NO_INTENT:  # same_intent: not a server already in this task_state
        cas = cas.where(or_(servers.c.task_state.is_(None), servers.c.task_state != intent))
    return cas


def start_server_task(request: Request, ctx: RequestContext, server_id: str, *, action: str, flow: str,
                      task_state: str | None, params: dict | None = None,
                      vm_states: Iterable[str] | None = None, any_task_state: bool = False,
                      updates: dict[str, Any] | None = None, action_label: str | None = None,
                      same_intent: bool = False, unlocked: bool = False) -> tuple[dict, str]:
    """Returns (task row, task url). ``vm_states`` None = any vm_state;
    ``any_task_state`` lets the action supersede a running task (delete).
    ``same_intent``: a server already in ``task_state`` (e.g. deleting) is
    not taken over again; the caller gets ``AlreadyInFlight`` with the task
    that owns it. The check is in the compare-and-swap itself, so racing
    requests make one task on PostgreSQL too (the losers' UPDATE re-reads the
    committed row and no longer matches). ``unlocked``: the server must not
    be locked (Nova's lock guard; admins pass False)."""
    cas = _cas(ctx.is_admin, None if vm_states is None else tuple(vm_states), any_task_state, unlocked,
               task_state if same_intent else _NO_INTENT)
    where = {"cas_server_id": server_id} if ctx.is_admin else {"cas_server_id": server_id,
                                                                "cas_project_id": ctx.project_id}

    def conflict(conn: Connection):
        server = get_server(conn, ctx, server_id)
        if same_intent and server["task_state"] == task_state:
            raise AlreadyInFlight(server["task_id"])
        if unlocked and server["locked_by"]:
            raise Locked(server_id)
        label = action_label or action
        if server["task_state"] is not None and not any_task_state:
            raise Conflict(f"Cannot '{label}' instance {server_id} while it is in task_state "
                           f"{server['task_state']}")
        raise Conflict(f"Cannot '{label}' instance {server_id} while it is in vm_state {server['vm_state']}")

    task = start_task(request, ctx, resource_type="server", resource_id=server_id, action=action, flow=flow,
                      params=params, on_conflict=conflict,
                      cas=lambda task_id: (cas, {**where, "task_state": task_state, "task_id": task_id,
                                                 "updated_at": utcnow(), **(updates or {})}))
    return task, task_url(request, server_id, task["id"])
