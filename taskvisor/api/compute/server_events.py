"""os-server-external-events: other services (Neutron, Cinder, Cyborg)
tell Nova about its servers. taskvisor runs none of them, so an accepted
event changes nothing; the answer says, per event, whether it was accepted
(200), names no server (404) or a server not yet on a host (422); the
request is 200 when all were, 207 when some were, 404 when none was."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from taskvisor.api import openapi
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.validation import json_body, validate
from taskvisor.db.models import servers

router = APIRouter(prefix="/compute/v2.1")
# event name → the microversion that introduced it
EVENTS = {"network-changed": "2.1", "network-vif-plugged": "2.1", "network-vif-unplugged": "2.1",
          "network-vif-deleted": "2.1", "volume-extended": "2.51", "power-update": "2.76",
          "accelerator-request-bound": "2.82", "volume-reimaged": "2.93"}
EVENT = {"type": "object", "required": ["name", "server_uuid"], "additionalProperties": False, "properties": {
    "name": {"type": "string", "enum": sorted(EVENTS)}, "server_uuid": {"type": "string", "format": "uuid"},
    "status": {"type": "string", "enum": ["failed", "completed", "in-progress"]},
    "tag": {"type": "string", "maxLength": 255}}}
CREATE_SCHEMA = {"type": "object", "required": ["events"], "additionalProperties": False,
                 "properties": {"events": {"type": "array", "minItems": 1, "items": EVENT}}}


@router.post("/os-server-external-events", openapi_extra=openapi.body(CREATE_SCHEMA))
def create_events(request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "os_compute_api:os-server-external-events:create", {})
    events = validate(body, CREATE_SCHEMA)["events"]
    for event in events:
        if not ctx.at_least(EVENTS[event["name"]]):
            raise BadRequest(f"Event {event['name']} needs microversion {EVENTS[event['name']]} or later.")
        if event["name"] == "power-update" and event.get("tag") not in ("POWER_ON", "POWER_OFF"):
            raise BadRequest("Invalid input for field/attribute tag: a power-update event's tag must be "
                             "POWER_ON or POWER_OFF.")
    ids = {e["server_uuid"] for e in events}
    with request.app.state.tv.db.read() as conn:
        hosts = {sid: host for sid, host in conn.execute(
            select(servers.c.id, servers.c.host).where(servers.c.id.in_(ids), servers.c.deleted.is_(False)))}
    answered = []
    for event in events:
        out = {**event, "status": event.get("status", "completed")}
        if event["server_uuid"] not in hosts:
            out.update(code=404, status="failed")
        elif not hosts[event["server_uuid"]]:
            out.update(code=422, status="failed")
        else:
            out["code"] = 200
        answered.append(out)
    accepted = sum(1 for e in answered if e["code"] == 200)
    if not accepted and all(e["code"] == 404 for e in answered):
        raise NotFound("No instances found for any event")
    return JSONResponse({"events": answered}, status_code=200 if accepted == len(answered) else 207)
