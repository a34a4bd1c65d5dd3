"""Console pages. Reads go through the same view and list code as the API,
with the caller's context, so a page shows exactly what the API would."""
from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError
from taskvisor.api.policy import authorize
from taskvisor.api.tasks_list import TaskFilter, filter_from_query, list_tasks, node_related_ids
from taskvisor.api.tasks_view import iso, load_steps, load_visible_task, render_task
from taskvisor.api.console.render import TASK_HEADERS, badge, e, page, table, task_row, timeline
from taskvisor.db.models import nodes, servers, task_steps, tasks
from taskvisor.db.session import utcnow
from taskvisor.states import server as server_states
from taskvisor.tasks.store import ACTIVE

router = APIRouter(include_in_schema=False)
STATIC = {"console.js": "text/javascript", "console.css": "text/css"}


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def _not_found(what: str) -> HTMLResponse:
    return _html(page("Not found", f'<p class="empty">{e(what)} could not be found.</p>'), 404)


def _project(ctx: RequestContext) -> str | None:
    return None if ctx.is_admin else ctx.project_id  # admins see every project in the console


def _rendered(request: Request, conn, ctx, rows: list[dict]) -> list[dict]:
    steps = load_steps(conn, [t["id"] for t in rows])
    return [render_task(request.app.state.tv.flows, t, steps[t["id"]], ctx.is_admin) for t in rows]


def _watch_url(ctx: RequestContext, resource_ids: list[str] | None = None) -> str:
    query = "watch=true" + ("&all_tenants=1" if ctx.is_admin else "")
    if resource_ids:
        query += "&resource_id=" + ",".join(resource_ids)
    return f"/compute/v2.1/tasks?{query}"


# -- running now -----------------------------------------------------------------
def _running(request: Request, conn, ctx: RequestContext) -> str:
    project = _project(ctx)
    scope = [tasks.c.status.in_(ACTIVE)] + ([tasks.c.project_id == project] if project else [])
    per_conductor = conn.execute(select(tasks.c.owner, tasks.c.status, func.count()).where(*scope)
                                 .group_by(tasks.c.owner, tasks.c.status)).all()
    per_compute = conn.execute(
        select(task_steps.c.host, func.count()).join(tasks, tasks.c.id == task_steps.c.task_id)
        .where(*scope, task_steps.c.status.in_(("running", "reverting"))).group_by(task_steps.c.host)).all()
    counts: dict[str, dict[str, int]] = {}
    for owner, status, count in per_conductor:
        counts.setdefault(owner or "(waiting for a conductor)", {})[status] = count
    conductor_rows = [[e(owner), e(c.get("queued", 0)), e(c.get("running", 0)), e(c.get("reverting", 0))]
                      for owner, c in sorted(counts.items())]
    compute_rows = [[e(host), e(count)] for host, count in sorted(per_compute, key=lambda r: str(r[0]))]
    active = _rendered(request, conn, ctx, list_tasks(conn, TaskFilter(project_id=project, statuses=list(ACTIVE), limit=50)))
    failed = list_tasks(conn, TaskFilter(project_id=project, statuses=["failed", "reverted"], limit=5))
    return (f'<div id="running">'
            f'<h2>Tasks by conductor</h2>'
            f'{table(["Conductor", "Queued", "Running", "Reverting"], conductor_rows, "Nothing queued or running.", "counts")}'
            f'<h2>Steps running on each host</h2>'
            f'{table(["Host", "Steps running"], compute_rows, "No step is running.", "counts")}'
            f'<h2>Active tasks</h2>{table(TASK_HEADERS, [task_row(t) for t in active], "No active task.")}'
            f'<h2>Recently failed <a href="/console/tasks?status=failed,reverted">(all)</a></h2>'
            f'{table(TASK_HEADERS, [task_row(t) for t in failed], "No failed task.")}</div>')


@router.get("/")
def running_now(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        body = _running(request, conn, ctx)
    return _html(page("Running now", body, watch=_watch_url(ctx), fragment_base="running", since=iso(utcnow())))


@router.get("/console/fragments/running")
def running_fragment(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        return _html(_running(request, conn, ctx))


# -- task lists -------------------------------------------------------------------
@router.get("/console/tasks")
def task_list(request: Request, ctx: RequestContext = Depends(get_context)):
    try:
        f = filter_from_query(request.query_params, ctx, max_limit=request.app.state.tv.conf.api.max_limit)
    except ApiError as exc:
        return _html(page("Tasks", f'<p class="task-error">{e(exc.message)}</p>'), exc.status)
    if ctx.is_admin and "project_id" not in request.query_params:
        f.project_id = None
    with request.app.state.tv.db.read() as conn:
        rows = list_tasks(conn, f)
    title = f"Tasks: {', '.join(f.statuses)}" if f.statuses else "Tasks"
    return _html(page(title, table(TASK_HEADERS, [task_row(t) for t in rows], "No task matches.")))


@router.get("/console/fragments/tasks/{task_id}")
def task_fragment(task_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        row = load_visible_task(conn, ctx, task_id)
        if row is None:
            return _html("", 404)
        (task,) = _rendered(request, conn, ctx, [row])
    return _html(timeline(task, utcnow()))


# -- servers ----------------------------------------------------------------------
def _visible_servers(ctx: RequestContext):
    query = select(servers).where(servers.c.deleted.is_(False))
    return query if ctx.is_admin else query.where(servers.c.project_id == ctx.project_id)


def _server_state(server: dict) -> str:
    status = server_states.status(server["vm_state"], server["task_state"])
    return (f'<div id="resource-state"><table class="state"><tbody>'
            f'<tr><th>Status</th><td>{badge(status)}</td></tr>'
            f'<tr><th>vm_state / task_state</th><td>{e(server["vm_state"])} / {e(server["task_state"] or "-")}</td></tr>'
            f'<tr><th>Host</th><td>{e(server["host"] or "-")}</td></tr>'
            f'<tr><th>Project</th><td>{e(server["project_id"])}</td></tr>'
            f'<tr><th>ID</th><td><code>{e(server["id"])}</code></td></tr></tbody></table></div>')


@router.get("/console/servers")
def server_list(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(_visible_servers(ctx).order_by(servers.c.created_at.desc())).mappings()]
    cells = [[f'<a href="/console/servers/{e(s["id"])}">{e(s["name"])}</a>',
              badge(server_states.status(s["vm_state"], s["task_state"])), e(s["task_state"] or ""),
              e(s["host"] or ""), e(s["project_id"])] for s in rows]
    return _html(page("Servers", table(["Name", "Status", "Task state", "Host", "Project"], cells, "No servers.")))


def _load_server(conn, ctx, server_id: str) -> dict | None:
    row = conn.execute(_visible_servers(ctx).where(servers.c.id == server_id)).mappings().first()
    return dict(row) if row else None


@router.get("/console/servers/{server_id}")
def server_page(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        server = _load_server(conn, ctx, server_id)
        if server is None:
            return _not_found(f"Server {server_id}")
        now = utcnow()
        rendered = _rendered(request, conn, ctx, list_tasks(conn, TaskFilter(project_id=None, resource_ids=[server_id])))
    timelines = "".join(timeline(t, now) for t in rendered)
    body = f'{_server_state(server)}<h2>Tasks</h2><div id="tasks">{timelines}</div>'
    return _html(page(f"Server {server['name']}", body, watch=_watch_url(ctx, [server_id]),
                      fragment_base="/console/fragments/tasks/", since=iso(now)))


@router.get("/console/servers/{server_id}/state")
def server_state(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        server = _load_server(conn, ctx, server_id)
    return _html(_server_state(server)) if server else _html("", 404)


# -- nodes (bare metal is an admin's view, as in Ironic) -----------------------------
def _node_state(node: dict) -> str:
    return (f'<div id="resource-state"><table class="state"><tbody>'
            f'<tr><th>Provision state</th><td>{badge(node["provision_state"])} '
            f'{e("→ " + node["target_provision_state"] if node["target_provision_state"] else "")}</td></tr>'
            f'<tr><th>Power</th><td>{e(node["power_state"])}</td></tr>'
            f'<tr><th>Maintenance</th><td>{e(node["maintenance"])} {e(node["maintenance_reason"] or "")}</td></tr>'
            f'<tr><th>Instance</th><td>{e(node["instance_uuid"] or "-")}</td></tr>'
            f'<tr><th>Last error</th><td>{e(node["last_error"] or "-")}</td></tr></tbody></table></div>')


def _load_node(conn, ident: str) -> dict | None:
    column = nodes.c.id if len(ident) == 36 else nodes.c.name
    row = conn.execute(select(nodes).where(column == ident)).mappings().first()
    return dict(row) if row else None


@router.get("/console/nodes")
def node_list(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    rows = []
    if ctx.is_admin:
        with request.app.state.tv.db.read() as conn:
            rows = [dict(r) for r in conn.execute(select(nodes).order_by(nodes.c.name)).mappings()]
    cells = [[f'<a href="/console/nodes/{e(n["id"])}">{e(n["name"] or n["id"])}</a>', badge(n["provision_state"]),
              e(n["power_state"]), e(n["resource_class"] or ""), e(n["maintenance"])] for n in rows]
    return _html(page("Nodes", table(["Name", "Provision state", "Power", "Resource class", "Maintenance"],
                                     cells, "No nodes you may see.")))


@router.get("/console/nodes/{ident}")
def node_page(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        node = _load_node(conn, ident) if ctx.is_admin else None
        if node is None:
            return _not_found(f"Node {ident}")
        related = node_related_ids(conn, node["id"])
        now = utcnow()
        rendered = _rendered(request, conn, ctx, list_tasks(conn, TaskFilter(project_id=None, resource_ids=related)))
    timelines = "".join(timeline(t, now) for t in rendered)
    body = f'{_node_state(node)}<h2>Tasks</h2><div id="tasks">{timelines}</div>'
    return _html(page(f"Node {node['name'] or node['id']}", body, watch=_watch_url(ctx, related),
                      fragment_base="/console/fragments/tasks/", since=iso(now)))


@router.get("/console/nodes/{ident}/state")
def node_state(ident: str, request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "console:view")
    with request.app.state.tv.db.read() as conn:
        node = _load_node(conn, ident) if ctx.is_admin else None
    return _html(_node_state(node)) if node else _html("", 404)


@router.get("/console/static/{name}")
def static(name: str):
    if name not in STATIC:
        return Response(status_code=404)
    data = resources.files("taskvisor.api.console").joinpath("static", name).read_bytes()
    return Response(data, media_type=STATIC[name], headers={"Cache-Control": "max-age=300"})
