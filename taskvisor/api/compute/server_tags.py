"""Server tags (microversion 2.26): list, replace all, add one, check one,
delete one, delete all. Quick record changes: plain transactions on
``server_tags``, allowed while the server rests in a state Nova allows."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import bindparam, delete, exists, func, insert, select
from sqlalchemy.engine import Connection

from taskvisor.api import openapi
from taskvisor.api.compute.submit import get_server, target_of
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.responses import JsonResponse
from taskvisor.api.validation import json_body, validate
from taskvisor.db.models import server_tags, servers
from taskvisor.states import server as states

router = APIRouter(prefix="/compute/v2.1")

MAX_TAGS = 50  # Nova's per-server limit
TAG = {"type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": 60}
TAGS_SCHEMA = {"type": "array", "items": TAG, "maxItems": MAX_TAGS}
REPLACE_SCHEMA = {"type": "object", "required": ["tags"], "additionalProperties": False,
                  "properties": {"tags": {"type": "array", "items": TAG, "maxItems": MAX_TAGS}}}
# Nova changes tags only on a server resting in one of these
CHANGEABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
P = "/servers/{server_id}/tags"


# built once: a list of 1,000 servers asks it with 1,000 ids (building the IN
# of literals afresh cost more than running it)
_TAGS_OF = (select(server_tags.c.server_id, server_tags.c.tag)
            .where(server_tags.c.server_id.in_(bindparam("ids", expanding=True))).order_by(server_tags.c.tag))


def tags_of(conn: Connection, server_ids: list[str]) -> dict[str, list[str]]:
    """Each server's tags, in the order they sort (one query for a page)."""
    out: dict[str, list[str]] = {sid: [] for sid in server_ids}
    if server_ids:
        for server_id, tag in conn.execute(_TAGS_OF, {"ids": server_ids}):
            out[server_id].append(tag)
    return out


def _has(tags: list[str]):
    return exists().where(server_tags.c.server_id == servers.c.id, server_tags.c.tag.in_(tags))


def list_filters(params, ctx: RequestContext) -> list:
    """Nova's tag filters on server lists (2.26): ``tags`` (all of them),
    ``tags-any``, ``not-tags`` (not all of them), ``not-tags-any`` (none of
    them); each a comma-separated list. SQL conditions, so pages stay in SQL."""
    if not ctx.at_least("2.26"):
        return []
    wanted = {name: [t for t in params[name].split(",") if t] for name in ("tags", "tags-any", "not-tags",
                                                                          "not-tags-any") if params.get(name)}
    out = [_has([tag]) for tag in wanted.get("tags", [])]
    if wanted.get("tags-any"):
        out.append(_has(wanted["tags-any"]))
    if wanted.get("not-tags"):
        out.append(~select(server_tags.c.server_id).where(
            server_tags.c.server_id == servers.c.id, server_tags.c.tag.in_(wanted["not-tags"]))
            .group_by(server_tags.c.server_id).having(func.count() == len(set(wanted["not-tags"]))).exists())
    if wanted.get("not-tags-any"):
        out.append(~_has(wanted["not-tags-any"]))
    return out


def attach(conn: Connection, rows: list[dict]) -> list[dict]:
    """Put each server row's tags on it, for the views."""
    found = tags_of(conn, [r["id"] for r in rows])
    for row in rows:
        row["tags"] = found[row["id"]]
    return rows


def since(ctx: RequestContext, version: str) -> None:
    """A route that starts at a microversion is not there below it (Nova: 404)."""
    if not ctx.at_least(version):
        raise NotFound("The resource could not be found.")


def _server(conn, ctx: RequestContext, server_id: str, rule: str, change: str | None = None) -> dict:
    since(ctx, "2.26")
    server = get_server(conn, ctx, server_id)
    authorize(ctx, rule, target_of(server))
    if change and server["vm_state"] not in CHANGEABLE:
        raise Conflict(f"Cannot '{change}' instance {server_id} while it is in vm_state {server['vm_state']}")
    return server


def _tag_in_path(tag: str) -> None:
    bad = not tag or len(tag) > 60 or "," in tag or "/" in tag
    if bad:
        raise BadRequest(f"Tag '{tag[:64]}' is invalid. It must be a non empty string without characters '/' "
                         "and ','.")


@router.get(P)
def list_tags(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        _server(conn, ctx, server_id, "os_compute_api:os-server-tags:index")
        return JsonResponse({"tags": tags_of(conn, [server_id])[server_id]})


@router.put(P, openapi_extra=openapi.body(REPLACE_SCHEMA))
def replace_tags(server_id: str, request: Request, body=Depends(json_body),
                 ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        _server(conn, ctx, server_id, "os_compute_api:os-server-tags:update_all", "update tags")
    tags = list(dict.fromkeys(validate(body, REPLACE_SCHEMA)["tags"]))
    with request.app.state.tv.db.write() as conn:
        get_server(conn, ctx, server_id)
        conn.execute(delete(server_tags).where(server_tags.c.server_id == server_id))
        if tags:
            conn.execute(insert(server_tags), [{"server_id": server_id, "tag": t} for t in tags])
    return JsonResponse({"tags": sorted(tags)})


@router.delete(P, status_code=204)
def delete_all_tags(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.write() as conn:
        _server(conn, ctx, server_id, "os_compute_api:os-server-tags:delete_all", "delete tags")
        conn.execute(delete(server_tags).where(server_tags.c.server_id == server_id))
    return Response(status_code=204)


@router.get(P + "/{tag}", status_code=204)
def check_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        _server(conn, ctx, server_id, "os_compute_api:os-server-tags:show")
        if tag not in tags_of(conn, [server_id])[server_id]:
            raise NotFound(f"Server {server_id} has no tag '{tag}'")
    return Response(status_code=204)


@router.put(P + "/{tag}", status_code=201, responses={204: {"description": "The server already had the tag"}},
            openapi_extra=openapi.body({"type": "null"}, required=False))  # no body: the tag is in the path
def add_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.write() as conn:
        _server(conn, ctx, server_id, "os_compute_api:os-server-tags:update", "update tag")
        _tag_in_path(tag)
        have = tags_of(conn, [server_id])[server_id]
        if len(have) >= MAX_TAGS:
            raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
        existed = tag in have
        if not existed:
            conn.execute(insert(server_tags), {"server_id": server_id, "tag": tag})
    base = str(request.base_url).rstrip("/")  # Tempest's schema wants the tag's URL on the 204 too
    return Response(status_code=204 if existed else 201,
                    headers={"Location": f"{base}/compute/v2.1/servers/{server_id}/tags/{tag}"})


@router.delete(P + "/{tag}", status_code=204)
def delete_tag(server_id: str, tag: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.write() as conn:
        _server(conn, ctx, server_id, "os_compute_api:os-server-tags:delete", "delete tag")
        gone = conn.execute(delete(server_tags).where(server_tags.c.server_id == server_id,
                                                      server_tags.c.tag == tag)).rowcount
        if not gone:
            raise NotFound(f"Instance {server_id} has no tag '{tag}'")
    return Response(status_code=204)
