"""GET /v1/nodes/{id}/firmware (1.86+): the node's firmware components
(firmware_information), with their vendor, model and serial number from
1.114. Below 1.86 the resource does not exist (404)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from taskvisor.api.baremetal.node_management import node_for
from taskvisor.api.baremetal.nodes import minor
from taskvisor.api.baremetal.views import iso_utc
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.db.models import firmware_information

router = APIRouter(prefix="/baremetal")  # the full prefix, so flat_routes.flatten() can lift these routes
SINCE, IDENTITY_SINCE = 86, 114
FIELDS = ("component", "initial_version", "current_version", "last_version_flashed")
IDENTITY = ("vendor", "model", "serial_number")


def _fields(ctx: RequestContext, fields: str | None) -> tuple[str, ...]:
    allowed = FIELDS + IDENTITY if minor(ctx) >= IDENTITY_SINCE else FIELDS
    if fields is None:
        return allowed
    names = tuple(f.strip() for f in fields.split(",") if f.strip())
    early = sorted(set(names) & set(IDENTITY) - set(allowed))
    if early:
        raise BadRequest(f"Fields {', '.join(early)} are not allowed in this API version. They require at least "
                         f"API version 1.{IDENTITY_SINCE}.")
    for name in names:
        if name not in allowed + ("created_at", "updated_at"):
            raise BadRequest(f"Field {name[:64]} is not a valid field.")
    return names


@router.get("/v1/nodes/{ident}/firmware")
def list_firmware(ident: str, request: Request, ctx: RequestContext = Depends(get_context),
                  fields: str | None = None):
    if minor(ctx) < SINCE:
        raise NotFound("The API version does not allow node firmware")
    node = node_for(request, ctx, ident, "baremetal:node:firmware:get")
    wanted = _fields(ctx, fields)
    with request.app.state.tv.db.read() as conn:
        rows = conn.execute(select(firmware_information).where(firmware_information.c.node_id == node["id"])
                            .order_by(firmware_information.c.component)).mappings().all()
    return {"firmware": [{"created_at": iso_utc(r["created_at"]), "updated_at": iso_utc(r["updated_at"]),
                          **{name: r[name] for name in wanted if name not in ("created_at", "updated_at")}}
                         for r in rows]}
