"""Server metadata: /servers/{id}/metadata and /metadata/{key}. Quick record
changes (one transaction on the server row's ``metadata``), refused as Nova
refuses them: a locked server (non-admin), a server that is not resting in
active/paused/suspended/stopped, more than the metadata_items limit."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select, update

from taskvisor.api import openapi
from taskvisor.api.compute.submit import check_unlocked, get_server, target_of, visible
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.responses import JsonResponse
from taskvisor.api.validation import json_body, validate
from taskvisor.db.models import servers
from taskvisor.db.session import utcnow
from taskvisor.states import server as states

router = APIRouter(prefix="/compute/v2.1")

MAX_ITEMS = 128  # Nova's default metadata_items quota
# Nova's parameter_types.metadata: keys of letters, digits and "-_:. ", values up to 255 characters
METADATA = {"type": "object", "additionalProperties": False,
            "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}}}
ALL_SCHEMA = {"type": "object", "required": ["metadata"], "additionalProperties": False,
              "properties": {"metadata": METADATA}}
ONE_SCHEMA = {"type": "object", "required": ["meta"], "additionalProperties": False,
              "properties": {"meta": {**METADATA, "minProperties": 1, "maxProperties": 1}}}
CHANGEABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
P = "/servers/{server_id}/metadata"


class OverLimit(ApiError):
    def __init__(self):
        super().__init__(403, f"Quota exceeded for metadata_items: at most {MAX_ITEMS} metadata items.")


def check_count(metadata: dict) -> None:
    if len(metadata) > MAX_ITEMS:
        raise OverLimit()


def _read(request: Request, ctx: RequestContext, server_id: str, rule: str) -> dict:
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    authorize(ctx, rule, target_of(server))
    return server["metadata"] or {}


def _change(request: Request, ctx: RequestContext, server_id: str, rule: str, label: str, change) -> dict:
    """Apply ``change(old metadata) -> new metadata`` to a resting server, in
    one transaction (the row is locked for it on PostgreSQL)."""
    with request.app.state.tv.db.write() as conn:
        query = visible(select(servers).where(servers.c.id == server_id, servers.c.deleted.is_(False)), ctx)
        row = conn.execute(query.with_for_update()).mappings().first()
        if row is None:
            raise NotFound(f"Instance {server_id} could not be found.")
        authorize(ctx, rule, target_of(row))
        check_unlocked(ctx, row)
        if row["task_state"] is not None:
            raise Conflict(f"Cannot '{label}' instance {server_id} while it is in task_state {row['task_state']}")
        if row["vm_state"] not in CHANGEABLE:
            raise Conflict(f"Cannot '{label}' instance {server_id} while it is in vm_state {row['vm_state']}")
        metadata = change(dict(row["metadata"] or {}))
        check_count(metadata)
        conn.execute(update(servers).where(servers.c.id == server_id).values(metadata=metadata, updated_at=utcnow()))
    return metadata


@router.get(P)
def list_metadata(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    return JsonResponse({"metadata": _read(request, ctx, server_id, "os_compute_api:server-metadata:index")})


@router.post(P, openapi_extra=openapi.body(ALL_SCHEMA))
def merge_metadata(server_id: str, request: Request, body=Depends(json_body),
                   ctx: RequestContext = Depends(get_context)):
    _read(request, ctx, server_id, "os_compute_api:server-metadata:create")  # 404/403 before 400
    new = validate(body, ALL_SCHEMA)["metadata"]
    merged = _change(request, ctx, server_id, "os_compute_api:server-metadata:create", "update metadata",
                     lambda old: {**old, **new})
    return JsonResponse({"metadata": merged})


@router.put(P, openapi_extra=openapi.body(ALL_SCHEMA))
def replace_metadata(server_id: str, request: Request, body=Depends(json_body),
                     ctx: RequestContext = Depends(get_context)):
    _read(request, ctx, server_id, "os_compute_api:server-metadata:update_all")
    new = validate(body, ALL_SCHEMA)["metadata"]
    return JsonResponse({"metadata": _change(request, ctx, server_id, "os_compute_api:server-metadata:update_all",
                                             "update metadata", lambda old: dict(new))})


@router.get(P + "/{key}")
def show_metadata_item(server_id: str, key: str, request: Request, ctx: RequestContext = Depends(get_context)):
    metadata = _read(request, ctx, server_id, "os_compute_api:server-metadata:show")
    if key not in metadata:
        raise NotFound("Metadata item was not found")
    return JsonResponse({"meta": {key: metadata[key]}})


@router.put(P + "/{key}", openapi_extra=openapi.body(ONE_SCHEMA))
def set_metadata_item(server_id: str, key: str, request: Request, body=Depends(json_body),
                      ctx: RequestContext = Depends(get_context)):
    _read(request, ctx, server_id, "os_compute_api:server-metadata:update")
    meta = validate(body, ONE_SCHEMA)["meta"]
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    _change(request, ctx, server_id, "os_compute_api:server-metadata:update", "update metadata",
            lambda old: {**old, **meta})
    return JsonResponse({"meta": meta})


@router.delete(P + "/{key}", status_code=204)
def delete_metadata_item(server_id: str, key: str, request: Request, ctx: RequestContext = Depends(get_context)):
    if key not in _read(request, ctx, server_id, "os_compute_api:server-metadata:delete"):
        raise NotFound("Metadata item was not found")

    def drop(old: dict) -> dict:
        if key not in old:
            raise NotFound("Metadata item was not found")
        old.pop(key)
        return old
    _change(request, ctx, server_id, "os_compute_api:server-metadata:delete", "delete metadata", drop)
    return Response(status_code=204)
