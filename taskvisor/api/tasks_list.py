"""The global task list: one query for /compute/v2.1/tasks and
/baremetal/v1/tasks (and the console), with filters and marker paging.

Order is newest first (created_ts, then id, so the order is total and a
marker resumes exactly after the task it names).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.engine import Connection

from taskvisor.api.context import RequestContext
from taskvisor.api.errors import BadRequest
from taskvisor.api.policy import authorize
from taskvisor.db.models import allocations, servers, task_steps, tasks

STATUSES = ("queued", "running", "reverting", "succeeded", "failed", "reverted", "cancelled")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000  # MAX_LIMIT: [api] max_limit's default, when no config is given
TRUE = ("1", "true", "yes", "on")


@dataclass
class TaskFilter:
    project_id: str | None = None          # None = every project (admin with all_projects)
    resource_ids: list[str] = field(default_factory=list)
    resource_type: str | None = None
    actions: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    host: str | None = None
    reasons: list[str] = field(default_factory=list)  # why the engine failed a task (dead letters)
    changes_since: dt.datetime | None = None
    changes_before: dt.datetime | None = None
    marker: str | None = None
    limit: int = DEFAULT_LIMIT


def parse_time(name: str, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                         "It must be an ISO 8601 date-time.") from None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def filter_from_query(params, ctx: RequestContext, resource_type: str | None = None,
                      max_limit: int = MAX_LIMIT) -> TaskFilter:
    """Query parameters → TaskFilter, with the policy checks they imply.
    ``max_limit`` is ``[api] max_limit``: it caps every page, as for servers and nodes."""
    authorize(ctx, "tasks:list", {"project_id": ctx.project_id})
    every = any((params.get(k) or "").lower() in TRUE for k in ("all_tenants", "all_projects"))
    project = ctx.project_id
    if every or params.get("project_id"):
        authorize(ctx, "tasks:list:all_projects")
        project = params.get("project_id") or None
    statuses = _csv(params.get("status"))
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise BadRequest(f"Invalid status {unknown[0]!r}: it must be one of {', '.join(STATUSES)}.")
    from taskvisor.api.compute.dead_letters import REASONS
    reasons = _csv(params.get("reason"))
    bad_reasons = [r for r in reasons if r not in REASONS]
    if bad_reasons:
        raise BadRequest(f"Invalid reason {bad_reasons[0]!r}: it must be one of {', '.join(REASONS)}.")
    raw_limit = params.get("limit")
    try:
        limit = DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters limit. Value: {raw_limit}. "
                         "It must be an integer.") from None
    if limit < 0:
        raise BadRequest("limit must be 0 or more.")
    kind = params.get("resource_type") or resource_type
    if kind not in (None, "server", "node", "allocation"):
        raise BadRequest(f"Invalid resource_type {kind!r}: it must be server, node or allocation.")
    return TaskFilter(project_id=project, resource_ids=_csv(params.get("resource_id") or params.get("resource")),
                      resource_type=kind, actions=_csv(params.get("action")), statuses=statuses,
                      host=params.get("host"), reasons=reasons, changes_since=parse_time("changes-since", params.get("changes-since")),
                      changes_before=parse_time("changes-before", params.get("changes-before")),
                      marker=params.get("marker"), limit=min(limit, max_limit))


def where_clauses(f: TaskFilter) -> list:
    out = []
    if f.project_id is not None:
        out.append(tasks.c.project_id == f.project_id)
    if f.resource_ids:
        out.append(tasks.c.resource_id.in_(f.resource_ids))
    if f.resource_type:
        out.append(tasks.c.resource_type == f.resource_type)
    if f.actions:
        out.append(tasks.c.action.in_(f.actions))
    if f.statuses:
        out.append(tasks.c.status.in_(f.statuses))
    if f.host:
        ran_there = exists().where(task_steps.c.task_id == tasks.c.id, task_steps.c.host == f.host)
        out.append(or_(tasks.c.owner == f.host, ran_there))
    if f.reasons:
        out.append(tasks.c.failure_reason.in_(f.reasons))
    if f.changes_since is not None:
        out.append(tasks.c.updated_at >= f.changes_since)
    if f.changes_before is not None:
        out.append(tasks.c.updated_at <= f.changes_before)
    return out


class MarkerNotFound(BadRequest):
    def __init__(self, marker: str):
        super().__init__(f"marker [{marker}] not found")


def list_tasks(conn: Connection, f: TaskFilter) -> list[dict]:
    query = select(tasks).where(*where_clauses(f))
    if f.marker:
        mark = conn.execute(select(tasks.c.created_ts, tasks.c.id).where(tasks.c.id == f.marker)).first()
        if mark is None:
            raise MarkerNotFound(f.marker)
        query = query.where(or_(tasks.c.created_ts < mark.created_ts,
                                and_(tasks.c.created_ts == mark.created_ts, tasks.c.id < mark.id)))
    query = query.order_by(tasks.c.created_ts.desc(), tasks.c.id.desc()).limit(f.limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def node_related_ids(conn: Connection, node_id: str) -> list[str]:
    """A node's own id, the servers placed on it (their tasks deployed,
    powered and undeployed it: the server's task runs the node's steps) and
    its allocation (whose task reserved it)."""
    return [node_id, *conn.execute(select(servers.c.id).where(servers.c.node == node_id)).scalars(),
            *conn.execute(select(allocations.c.id).where(allocations.c.node_id == node_id)).scalars()]


def next_link(base: str, params, rows: list[dict], limit: int) -> str | None:
    """Nova's ``…_links`` next href, when a page came back full."""
    if not rows or len(rows) < limit:
        return None
    from urllib.parse import urlencode
    query = {k: v for k, v in params.items() if k != "marker"}
    query["marker"] = rows[-1]["id"]
    return f"{base}?{urlencode(query)}"
