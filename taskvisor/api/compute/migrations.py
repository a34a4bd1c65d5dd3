"""os-migrations in Nova's shape: the migration records resizes leave
(``migration_type`` and links from 2.23, ``uuid``, paging and
``changes-since`` from 2.59, ``changes-before`` from 2.66, ``user_id`` and
``project_id`` from 2.80). A project manager sees their own project's;
the hosts show only to whom ``index:host`` allows."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import or_, select

from taskvisor.api import openapi
from taskvisor.api.compute.views import iso_usec
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest
from taskvisor.api.policy import allowed, authorize
from taskvisor.api.tasks_list import parse_time
from taskvisor.api.validation import page_limit
from taskvisor.db.models import migrations

router = APIRouter(prefix="/compute/v2.1")
RULE = "os_compute_api:os-migrations:%s"
_FILTERS = ("instance_uuid", "status", "migration_type", "source_compute", "user_id")


def _flavor_id(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) < 10 else None


def _view(row: dict, ctx: RequestContext, show_hosts: bool) -> dict:
    out = {"id": row["id"], "status": row["status"], "instance_uuid": row["instance_uuid"],
           "source_compute": row["source_compute"], "dest_compute": row["dest_compute"],
           "source_node": row["source_node"], "dest_node": row["dest_node"], "dest_host": None,
           "old_instance_type_id": _flavor_id(row["old_flavor_id"]),
           "new_instance_type_id": _flavor_id(row["new_flavor_id"]),
           "created_at": iso_usec(row["created_at"]), "updated_at": iso_usec(row["updated_at"])}
    if not show_hosts:
        out.update(source_compute=None, dest_compute=None, source_node=None, dest_node=None)
    if ctx.at_least("2.23"):
        out["migration_type"] = row["migration_type"]
    if ctx.at_least("2.59"):
        out["uuid"] = row["uuid"]
    if ctx.at_least("2.80"):
        out.update(user_id=row["user_id"], project_id=row["project_id"])
    return out


def _time(params, name: str):
    return parse_time(name, params[name][:64])


@router.get("/os-migrations", openapi_extra=openapi.query(openapi.LIMIT, openapi.MARKER, *(
    (name, openapi.STRING) for name in (*_FILTERS, "host", "project_id", "changes-since", "changes-before"))))
def list_migrations(request: Request, ctx: RequestContext = Depends(get_context)):
    params = request.query_params
    project = params.get("project_id")
    authorize(ctx, RULE % "index", {"project_id": project or ctx.project_id})
    query = select(migrations)
    if not project or project != ctx.project_id:
        authorize(ctx, RULE % "index:all_projects", {})
    if project:
        query = query.where(migrations.c.project_id == project)
    for name in _FILTERS:
        if params.get(name):
            query = query.where(migrations.c[name] == params[name])
    if params.get("host"):
        query = query.where(or_(migrations.c.source_compute == params["host"],
                                migrations.c.dest_compute == params["host"]))
    paged = ctx.at_least("2.59")
    if paged and params.get("changes-since"):
        query = query.where(migrations.c.updated_at >= _time(params, "changes-since"))
    if ctx.at_least("2.66") and params.get("changes-before"):
        before = _time(params, "changes-before")
        if params.get("changes-since") and before < _time(params, "changes-since"):
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
        query = query.where(migrations.c.updated_at <= before)
    query = query.order_by(migrations.c.created_at.desc(), migrations.c.id.desc())
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    out: dict = {}
    if paged:
        if params.get("marker"):
            uuids = [r["uuid"] for r in rows]
            if params["marker"] not in uuids:
                raise BadRequest(f"Marker {params['marker'][:64]} could not be found.")
            rows = rows[uuids.index(params["marker"]) + 1:]
        limit = page_limit(params, request.app.state.tv.conf.api.max_limit)
        if len(rows) > limit:
            base = str(request.base_url).rstrip("/")
            out["migrations_links"] = [{"rel": "next", "href": f"{base}/compute/v2.1/os-migrations?limit={limit}"
                                                              f"&marker={rows[limit - 1]['uuid']}"}]
        rows = rows[:limit]
    show_hosts = allowed(ctx, RULE % "index:host", {})
    out["migrations"] = [_view(r, ctx, show_hosts) for r in rows]
    return {"migrations": out.pop("migrations"), **out}
