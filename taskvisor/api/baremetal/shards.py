"""GET /v1/shards (1.82; 404 before, as Ironic): every shard value nodes
have, with how many nodes are in it, the largest first. Like Ironic,
nodes without a shard count under the name "None"."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select

from taskvisor.api.baremetal.nodes import minor
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError
from taskvisor.api.policy import authorize
from taskvisor.db.models import nodes

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE = 82


def _gate(ctx: RequestContext) -> None:
    if minor(ctx) < SINCE:
        raise ApiError(404, "The API version does not allow shards")


@router.get("/v1/shards")
def list_shards(request: Request, ctx: RequestContext = Depends(get_context)):
    _gate(ctx)
    authorize(ctx, "baremetal:shards:get")
    with request.app.state.tv.db.read() as conn:
        rows = conn.execute(select(nodes.c.shard, func.count(nodes.c.id)).group_by(nodes.c.shard)).all()
    rows = sorted(rows, key=lambda r: (-r[1], str(r[0])))
    return {"shards": [{"name": str(shard), "count": count} for shard, count in rows]}

