"""Admin actions: os-resetState (instant: the server's new state and the
finished task are written in one transaction, so the admin sees the state
at once, and a task another conductor runs loses the server to it, as to a
delete), injectNetworkInfo and migrate (tasks like any other)."""
from __future__ import annotations

from fastapi import Response
from sqlalchemy import insert, select, update

from taskvisor.api.compute.actions import EMPTY, _body, _inner, _start
from taskvisor.api.compute.submit import TASK_HEADER, get_server, target_of, task_url, visible
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.db.models import servers, services, task_steps
from taskvisor.db.session import utcnow
from taskvisor.states import server as states
from taskvisor.tasks.store import insert_task, new_task_row

RESET = _inner({"state": {"type": "string", "enum": ["active", "error"]}}, required=["state"], nullable=False)


def reset_state(request, ctx, server_id, body):
    state = _body(body, "os-resetState", RESET)["state"]
    spec = states.ACTIONS["resetState"]
    flow = request.app.state.tv.flows.get(spec.flow)
    task = new_task_row(resource_type="server", resource_id=server_id, action=spec.instance_action, flow=flow.name,
                        flow_version=flow.version, params={"state": state}, request_id=ctx.request_id,
                        user_id=ctx.user_id, project_id=ctx.project_id)
    now = utcnow()
    task.update(status="succeeded", progress=100, started_at=now, finished_at=now, updated_at=now,
                store={"instant": True})
    with request.app.state.tv.db.write() as conn:
        cas = visible(update(servers).where(servers.c.id == server_id, servers.c.deleted.is_(False)), ctx)
        if conn.execute(cas.values(vm_state=state, task_state=None, task_id=task["id"], updated_at=now)).rowcount != 1:
            raise NotFound(f"Instance {server_id} could not be found.")
        insert_task(conn, task)
        conn.execute(insert(task_steps), {"task_id": task["id"], "idx": 0, "name": flow.step_names[0],
                                          "status": "succeeded", "host": None, "attempt": 1,
                                          "details": {"vm_state": state}, "started_at": now, "finished_at": now})
    return Response(status_code=202, headers={TASK_HEADER: task_url(request, server_id, task["id"])})


def inject_network_info(request, ctx, server_id, body):
    _body(body, "injectNetworkInfo", EMPTY)
    return _start(request, ctx, server_id, "injectNetworkInfo")


MIGRATE = _inner({"host": {"type": ["string", "null"], "minLength": 1, "maxLength": 255}})


def migrate(request, ctx, server_id, body):
    args = _body(body, "migrate", MIGRATE if ctx.at_least("2.56") else EMPTY)
    host = args.get("host")
    if host is not None:
        with request.app.state.tv.db.read() as conn:
            server = get_server(conn, ctx, server_id)
            known = conn.execute(select(services.c.host).where(services.c.binary == "taskvisor-compute",
                                                               services.c.host == host)).first()
        authorize(ctx, "os_compute_api:os-migrate-server:migrate:host", target_of(server))
        if known is None:
            raise BadRequest(f"Compute host {host} could not be found.")
        if host == server["host"]:
            raise BadRequest(f"Unable to migrate instance ({server_id}) to current host ({host}).")
    return _start(request, ctx, server_id, "migrate", {"host": host} if host else {})


HANDLERS = {"os-resetState": reset_state, "injectNetworkInfo": inject_network_info, "migrate": migrate}
INNER = {"os-resetState": RESET, "injectNetworkInfo": EMPTY, "migrate": MIGRATE}
RULES = {"os-resetState": "os_compute_api:os-admin-actions:reset_state",
         "injectNetworkInfo": "os_compute_api:os-admin-actions:inject_network_info",
         "migrate": "os_compute_api:os-migrate-server:migrate"}
