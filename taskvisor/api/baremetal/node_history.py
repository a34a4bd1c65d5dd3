"""A node's history (1.78+): the error events its tasks left
(node_history, written by flows/node_records.py). GET
/v1/nodes/{id}/history (``detail``, ``marker``, ``limit``, ``sort_dir``)
and /history/{event}. ``project`` shows from 1.113; state,
target_provision_state and duration_seconds from 1.115. Below 1.78 the
resource does not exist (404)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import _bool, base_url, minor
from taskvisor.api.baremetal.paging import check_sort_dir, page_limit
from taskvisor.api.baremetal.views import iso_utc
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.db.models import node_history

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE, PROJECT_SINCE, FIELDS_SINCE = 78, 113, 115
_BRIEF_EVENT = 255  # Ironic truncates the event text of a list that is not detailed


def _node(request: Request, ctx: RequestContext, ident: str) -> dict:
    if minor(ctx) < SINCE:
        raise NotFound("The resource could not be found.")
    return node_for(request, ctx, ident, "baremetal:node:history:get")


def _render(request: Request, ctx: RequestContext, node_id: str, row: dict, detail: bool) -> dict:
    out = {"uuid": row["id"], "created_at": iso_utc(row["created_at"]), "severity": row["severity"],
           "event": row["event"]}
    if detail:
        out.update(event_type=row["event_type"], conductor=row["conductor"], user=row["user_id"])
        if minor(ctx) >= PROJECT_SINCE:
            out["project"] = row["project_id"]
        if minor(ctx) >= FIELDS_SINCE:
            out.update(state=row["state"], target_provision_state=row["target_provision_state"],
                       duration_seconds=row["duration_seconds"])
    elif len(out["event"]) > _BRIEF_EVENT:
        out["event"] = out["event"][:_BRIEF_EVENT - 4] + "..."
    out["links"] = [{"href": f"{base_url(request)}/v1/nodes/{node_id}/history/{row['id']}", "rel": "self"}]
    return out


@router.get("/v1/nodes/{ident}/history")
def list_history(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                 detail: str | None = None, marker: str | None = None, limit: int | None = None,
                 sort_dir: str = "asc"):
    node = _node(request, ctx, ident)
    show_detail = bool(_bool("detail", detail)) if detail is not None else False
    check_sort_dir(sort_dir)
    limit = page_limit(limit, request.app.state.tv.conf.api.max_limit)
    order = (node_history.c.created_at, node_history.c.id)
    query = select(node_history).where(node_history.c.node_id == node["id"])
    with request.app.state.tv.db.read() as conn:
        if marker:
            mark = conn.execute(select(*order).where(node_history.c.id == marker)).first()
            if mark is None:
                raise BadRequest(f"Marker {marker[:64]} could not be found.")
            later = (order[0] > mark[0]) | ((order[0] == mark[0]) & (order[1] > mark[1]))
            earlier = (order[0] < mark[0]) | ((order[0] == mark[0]) & (order[1] < mark[1]))
            query = query.where(later if sort_dir == "asc" else earlier)
        query = query.order_by(*(c.desc() if sort_dir == "desc" else c for c in order)).limit(limit)
        rows = conn.execute(query).mappings().all()
    out = {"history": [_render(request, ctx, node["id"], dict(r), show_detail) for r in rows]}
    if len(rows) == limit:
        out["next"] = (f"{base_url(request)}/v1/nodes/{ident}/history?limit={limit}&marker={rows[-1]['id']}"
                       + (f"&detail={detail}" if detail is not None else ""))
    return out


@router.get("/v1/nodes/{ident}/history/{event}")
def show_history_event(ident: str, event: str, request: Request, ctx: RequestContext = Depends(get_context)):
    node = _node(request, ctx, ident)
    with request.app.state.tv.db.read() as conn:
        row = conn.execute(select(node_history).where(node_history.c.node_id == node["id"],
                                                      node_history.c.id == event)).mappings().first()
    if row is None:
        raise NotFound(f"Node history record {event[:64]} could not be found.")
    return _render(request, ctx, node["id"], dict(row), True)
