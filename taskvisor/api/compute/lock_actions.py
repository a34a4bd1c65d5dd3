"""lock and unlock: record changes on the server row (no task). A locked
server refuses most actions to non-admins (the machine's ``checks_lock``,
enforced in the task's compare-and-swap); who locked it ("owner" or
"admin", as Nova) decides who may unlock it without the override rule."""
from __future__ import annotations

from fastapi import Response
from sqlalchemy import update

from taskvisor.api.compute.actions import _body, _inner
from taskvisor.api.compute.submit import get_server, target_of, visible
from taskvisor.api.errors import NotFound
from taskvisor.api.policy import authorize
from taskvisor.db.models import servers
from taskvisor.db.session import utcnow

LOCK = {}  # before 2.73 Nova takes any value
LOCK_2_73 = _inner({"locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}})
UNLOCK = {}


def _locker(ctx, server: dict) -> str:
    return "owner" if ctx.project_id == server["project_id"] else "admin"


def _write(request, ctx, server_id: str, **values) -> None:
    with request.app.state.tv.db.write() as conn:
        query = visible(update(servers).where(servers.c.id == server_id, servers.c.deleted.is_(False)), ctx)
        if conn.execute(query.values(updated_at=utcnow(), **values)).rowcount != 1:
            raise NotFound(f"Instance {server_id} could not be found.")


def lock(request, ctx, server_id, body):
    args = _body(body, "lock", LOCK_2_73 if ctx.at_least("2.73") else LOCK)
    reason = args.get("locked_reason") if ctx.at_least("2.73") and isinstance(args, dict) else None
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    _write(request, ctx, server_id, locked_by=_locker(ctx, server), locked_reason=reason)
    return Response(status_code=202)


def unlock(request, ctx, server_id, body):
    _body(body, "unlock", UNLOCK)
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    if server["locked_by"] and server["locked_by"] != _locker(ctx, server):
        authorize(ctx, "os_compute_api:os-lock-server:unlock:unlock_override", target_of(server))
    _write(request, ctx, server_id, locked_by=None, locked_reason=None)
    return Response(status_code=202)


HANDLERS = {"lock": lock, "unlock": unlock}
INNER = {"lock": LOCK, "unlock": UNLOCK}
RULES = {"lock": "os_compute_api:os-lock-server:lock", "unlock": "os_compute_api:os-lock-server:unlock"}
