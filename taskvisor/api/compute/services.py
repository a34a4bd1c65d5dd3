"""os-services in Nova's shape: binary, host, zone, status, state, updated_at."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select, update

from taskvisor import servicegroup
from taskvisor.api import openapi
from taskvisor.api.compute.views import iso_usec
from taskvisor.api.policy import authorize
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.validation import json_body, validate
from taskvisor.db.models import services
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/compute/v2.1")
BINARY_NAMES = {"taskvisor-compute": "nova-compute", "taskvisor-conductor": "nova-conductor"}
UPDATE_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
    "status": {"type": "string", "enum": ["enabled", "disabled"]},
    "disabled_reason": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
    "forced_down": {"type": "boolean"}}}


# From 2.53 a service is named by a UUID. A service is one binary on one host, so
# its UUID is derived from those two (stable across restarts; needs no column).
SERVICE_UUID_NAMESPACE = uuid.UUID("0f1d8e4c-5b0a-4c3e-9d2f-6a7b8c9d0e1f")


def service_uuid(row: dict) -> str:
    return str(uuid.uuid5(SERVICE_UUID_NAMESPACE, f"{row['binary']}@{row['host']}"))


def view(row: dict, ctx: RequestContext, down_time: float) -> dict:
    up = servicegroup.is_up(row, down_time)
    out = {"id": service_uuid(row) if ctx.at_least("2.53") else row["id"], "binary": BINARY_NAMES.get(row["binary"], row["binary"]), "host": row["host"],
           "zone": "internal" if row["binary"] != "taskvisor-compute" else row["zone"],
           "status": "disabled" if row["disabled"] else "enabled",
           # a compute finishing its work after SIGTERM shows as draining (graceful shutdown)
           "state": ("draining" if row["state"] == "draining" else "up") if up else "down",
           "updated_at": iso_usec(row["updated_at"]), "disabled_reason": row["disabled_reason"]}
    if ctx.at_least("2.11"):
        out["forced_down"] = row["forced_down"]
    return out


@router.get("/os-services", openapi_extra=openapi.query(("host", openapi.STRING), ("binary", openapi.STRING)))
def list_services(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-services:list")
    params = request.query_params
    with request.app.state.tv.db.read() as conn:
        rows = servicegroup.list_services(conn)
    if params.get("host"):
        rows = [r for r in rows if r["host"] == params["host"]]
    if params.get("binary"):
        rows = [r for r in rows if BINARY_NAMES.get(r["binary"], r["binary"]) == params["binary"]]
    down_time = request.app.state.tv.conf.DEFAULT.service_down_time
    return {"services": [view(r, ctx, down_time) for r in rows]}


@router.put("/os-services/{service_id}", openapi_extra=openapi.body(UPDATE_SCHEMA))
def update_service(service_id: str, request: Request, body=Depends(json_body),
                   ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-services:update")
    spec = validate(body, UPDATE_SCHEMA)
    if "disabled_reason" in spec and spec.get("status") != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
    if ctx.at_least("2.53"):
        try:
            uuid.UUID(service_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {service_id}") from None
        with request.app.state.tv.db.read() as conn:
            rows = servicegroup.list_services(conn)
        found = [r["id"] for r in rows if service_uuid(r) == service_id.lower()]
        if not found:
            raise NotFound(f"Service {service_id} could not be found.")
        service_id = str(found[0])
    elif not service_id.isdigit():
        raise NotFound(f"Service {service_id} could not be found.")
    values = {"updated_at": utcnow()}
    if "status" in spec:
        values["disabled"] = spec["status"] == "disabled"
        values["disabled_reason"] = spec.get("disabled_reason") if values["disabled"] else None
    if "forced_down" in spec:
        values["forced_down"] = spec["forced_down"]
    with request.app.state.tv.db.write() as conn:
        if conn.execute(update(services).where(services.c.id == int(service_id)).values(**values)).rowcount != 1:
            raise NotFound(f"Service {service_id} could not be found.")
        row = dict(conn.execute(select(services).where(services.c.id == int(service_id))).mappings().one())
    return {"service": view(row, ctx, request.app.state.tv.conf.DEFAULT.service_down_time)}
