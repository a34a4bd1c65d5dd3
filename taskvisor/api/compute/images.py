"""Nova's image proxy (``/images``, to microversion 2.35) and image
metadata (``/images/{id}/metadata``, to 2.38) over taskvisor's own Glance
tables: an image's metadata is its custom properties. Who may read, change
or delete an image is Glance's policy, as it is when Nova proxies."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select, update

from taskvisor.api import openapi
from taskvisor.api.compute.views import iso
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import ApiError, BadRequest, NotFound
from taskvisor.api.image.routes import _get, remove_image
from taskvisor.api.policy import authorize
from taskvisor.api.validation import METADATA, json_body, page_limit, validate
from taskvisor.db.models import images
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/compute/v2.1")
STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "importing": "SAVING", "uploading": "SAVING",
          "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"ACTIVE": 100, "SAVING": 25}
MAX_METADATA_ITEMS = 128  # Nova's default metadata_items quota
METADATA_BODY = {"type": "object", "required": ["metadata"], "additionalProperties": False,
                 "properties": {"metadata": METADATA}}
META_BODY = {"type": "object", "required": ["meta"], "additionalProperties": False,
             "properties": {"meta": {**METADATA, "minProperties": 1, "maxProperties": 1}}}


def _proxy(ctx: RequestContext) -> None:
    if ctx.at_least("2.36"):
        raise NotFound("The resource could not be found.")


def _metadata_proxy(ctx: RequestContext) -> None:
    if ctx.at_least("2.39"):
        raise NotFound("The resource could not be found.")


def _links(base: str, image_id: str) -> list[dict]:
    return [{"rel": "self", "href": f"{base}/compute/v2.1/images/{image_id}"},
            {"rel": "bookmark", "href": f"{base}/compute/images/{image_id}"},
            {"rel": "alternate", "type": "application/vnd.openstack.image", "href": f"{base}/image/images/{image_id}"}]


def _view(row: dict, base: str, detail: bool = True) -> dict:
    out = {"id": row["id"], "name": row["name"], "links": _links(base, row["id"])}
    if not detail:
        return out
    status = STATUS.get(row["status"], "UNKNOWN")
    properties = row["properties"] or {}
    out.update({"status": status, "progress": PROGRESS.get(status, 0), "minDisk": row["min_disk"] or 0,
                "minRam": row["min_ram"] or 0, "metadata": properties, "created": iso(row["created_at"]),
                "updated": iso(row["updated_at"]), "OS-EXT-IMG-SIZE:size": row["size"]})
    if properties.get("instance_uuid"):
        server_id = properties["instance_uuid"]
        out["server"] = {"id": server_id, "links": [
            {"rel": "self", "href": f"{base}/compute/v2.1/servers/{server_id}"},
            {"rel": "bookmark", "href": f"{base}/compute/servers/{server_id}"}]}
    return out


def _list(request: Request, ctx: RequestContext, detail: bool) -> dict:
    _proxy(ctx)
    authorize(ctx, "get_images")
    params = request.query_params
    query = select(images).order_by(images.c.created_at.desc(), images.c.id)
    if not ctx.is_admin:
        query = query.where((images.c.visibility != "private") | (images.c.owner == ctx.project_id))
    if params.get("name"):
        query = query.where(images.c.name == params["name"])
    limit = page_limit(params, request.app.state.tv.conf.api.max_limit)
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    if params.get("status"):
        rows = [r for r in rows if STATUS.get(r["status"], "UNKNOWN") == params["status"].upper()]
    if params.get("server"):  # a server's id or any of its links (Nova keeps the href's last segment)
        server_id = params["server"].rsplit("/", 1)[-1]
        rows = [r for r in rows if (r["properties"] or {}).get("instance_uuid") == server_id]
    if params.get("type"):  # snapshot or backup: the image_type property createImage/createBackup set
        rows = [r for r in rows if (r["properties"] or {}).get("image_type") == params["type"]]
    for key, column in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        if params.get(key):
            if not params[key].isdigit():
                raise BadRequest(f"Invalid {key} filter: {params[key][:20]}")
            rows = [r for r in rows if (r[column] or 0) >= int(params[key])]
    if params.get("marker"):
        ids = [r["id"] for r in rows]
        if params["marker"] not in ids:
            raise BadRequest(f"marker [{params['marker'][:64]}] not found")
        rows = rows[ids.index(params["marker"]) + 1:]
    rows = rows[:limit]
    base = str(request.base_url).rstrip("/")
    return {"images": [_view(r, base, detail) for r in rows]}


_QUERY = openapi.query(openapi.LIMIT, openapi.MARKER, *((name, openapi.STRING)
                                                        for name in ("name", "status", "server", "type", "minRam", "minDisk")))


@router.get("/images", openapi_extra=_QUERY)
def list_images(request: Request, ctx: RequestContext = Depends(get_context)):
    return _list(request, ctx, detail=False)


@router.get("/images/detail", openapi_extra=_QUERY)
def list_images_detail(request: Request, ctx: RequestContext = Depends(get_context)):
    return _list(request, ctx, detail=True)


@router.get("/images/{image_id}")
def show_image(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _proxy(ctx)
    with request.app.state.tv.db.read() as conn:
        row = _get(conn, ctx, image_id)
    return {"image": _view(row, str(request.base_url).rstrip("/"))}


@router.delete("/images/", include_in_schema=False)
def delete_no_image(ctx: RequestContext = Depends(get_context)):
    """A blank image id names no image (Nova answers 404, not 405)."""
    raise NotFound("The resource could not be found.")


@router.delete("/images/{image_id}", status_code=204)
def delete_image(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _proxy(ctx)
    remove_image(request, ctx, image_id)
    return Response(status_code=204)


# -- metadata ------------------------------------------------------------------------
def _read_metadata(request: Request, ctx: RequestContext, image_id: str) -> dict:
    _metadata_proxy(ctx)
    with request.app.state.tv.db.read() as conn:
        return dict(_get(conn, ctx, image_id)["properties"] or {})


def _write_metadata(request: Request, ctx: RequestContext, image_id: str, change) -> dict:
    """Apply ``change(properties) -> properties`` to the image, in one transaction."""
    _metadata_proxy(ctx)
    with request.app.state.tv.db.write() as conn:
        row = _get(conn, ctx, image_id, "modify_image")
        new = change(dict(row["properties"] or {}))
        if len(new) > MAX_METADATA_ITEMS:
            raise ApiError(403, f"Quota exceeded for metadata items: at most {MAX_METADATA_ITEMS}.")
        conn.execute(update(images).where(images.c.id == image_id).values(properties=new, updated_at=utcnow()))
    return new


@router.get("/images/{image_id}/metadata")
def list_image_metadata(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    return {"metadata": _read_metadata(request, ctx, image_id)}


@router.post("/images/{image_id}/metadata", openapi_extra=openapi.body(METADATA_BODY))
def update_image_metadata(image_id: str, request: Request, body=Depends(json_body),
                          ctx: RequestContext = Depends(get_context)):
    _metadata_proxy(ctx)
    metadata = validate(body, METADATA_BODY)["metadata"]
    return {"metadata": _write_metadata(request, ctx, image_id, lambda props: {**props, **metadata})}


@router.put("/images/{image_id}/metadata", openapi_extra=openapi.body(METADATA_BODY))
def set_image_metadata(image_id: str, request: Request, body=Depends(json_body),
                       ctx: RequestContext = Depends(get_context)):
    _metadata_proxy(ctx)
    metadata = validate(body, METADATA_BODY)["metadata"]
    return {"metadata": _write_metadata(request, ctx, image_id, lambda props: dict(metadata))}


@router.get("/images/{image_id}/metadata/{key}")
def show_image_metadata_item(image_id: str, key: str, request: Request, ctx: RequestContext = Depends(get_context)):
    metadata = _read_metadata(request, ctx, image_id)
    if key not in metadata:
        raise NotFound(f"Image {image_id} has no metadata item {key[:64]}.")
    return {"meta": {key: metadata[key]}}


@router.put("/images/{image_id}/metadata/{key}", openapi_extra=openapi.body(META_BODY))
def set_image_metadata_item(image_id: str, key: str, request: Request, body=Depends(json_body),
                            ctx: RequestContext = Depends(get_context)):
    _metadata_proxy(ctx)
    meta = validate(body, META_BODY)["meta"]
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    _write_metadata(request, ctx, image_id, lambda props: {**props, key: meta[key]})
    return {"meta": {key: meta[key]}}


@router.delete("/images/{image_id}/metadata/{key}", status_code=204)
def delete_image_metadata_item(image_id: str, key: str, request: Request, ctx: RequestContext = Depends(get_context)):
    def without(props: dict) -> dict:
        if key not in props:
            raise NotFound(f"Image {image_id} has no metadata item {key[:64]}.")
        return {k: v for k, v in props.items() if k != key}
    _write_metadata(request, ctx, image_id, without)
    return Response(status_code=204)
