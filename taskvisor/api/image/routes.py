"""Image v2 (Glance subset): versions, list/show/create/patch/delete, upload.

Custom properties are top-level string members of the image, as in Glance.
PATCH takes Glance's JSON-patch (application/openstack-images-v2.1-json-patch).
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid

import jsonpatch
import jsonpointer
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert, select, update

from taskvisor.api import openapi
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.policy import authorize
from taskvisor.api.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from taskvisor.api.validation import json_body
from taskvisor.db.models import images
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/image")

CORE = {"id", "name", "status", "visibility", "protected", "disk_format", "container_format", "size",
        "checksum", "min_disk", "min_ram", "owner", "tags", "created_at", "updated_at", "self", "file",
        "schema", "virtual_size", "os_hidden", "os_hash_algo", "os_hash_value", "locations", "direct_url"}
READ_ONLY = {"id", "status", "size", "checksum", "created_at", "updated_at", "self", "file", "schema",
             "virtual_size", "os_hash_algo", "os_hash_value", "owner", "direct_url", "locations"}
WRITABLE_CORE = {"name", "visibility", "protected", "disk_format", "container_format", "min_disk", "min_ram",
                 "tags", "os_hidden"}
DISK_FORMATS = {"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
CONTAINER_FORMATS = {"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}
VISIBILITIES = {"public", "private", "shared", "community"}
JSON_PATCH = "application/openstack-images-v2.1-json-patch"


def iso(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def view(row: dict) -> dict:
    out = {"id": row["id"], "name": row["name"], "status": row["status"], "visibility": row["visibility"],
           "protected": row["protected"], "os_hidden": False, "disk_format": row["disk_format"],
           "container_format": row["container_format"], "size": row["size"], "virtual_size": None,
           "checksum": row["checksum"], "os_hash_algo": "sha512" if row["checksum"] else None,
           "os_hash_value": None, "min_disk": row["min_disk"], "min_ram": row["min_ram"], "owner": row["owner"],
           "tags": row["tags"] or [], "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
           "self": f"/v2/images/{row['id']}", "file": f"/v2/images/{row['id']}/file",
           "schema": "/v2/schemas/image"}
    out.update({k: v for k, v in (row["properties"] or {}).items() if k not in out})
    return out


def check_value(name: str, value) -> None:
    """Typed checks for the members we give meaning to."""
    if name in ("min_disk", "min_ram") and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise BadRequest(f"Invalid value for '{name}': {value!r} is not a non-negative integer")
    if name == "protected" and not isinstance(value, bool):
        raise BadRequest(f"Invalid value for 'protected': {value!r} is not a boolean")
    if name == "visibility" and value not in VISIBILITIES:
        raise BadRequest(f"Invalid value for 'visibility': {value!r} is not one of {sorted(VISIBILITIES)}")
    if name == "disk_format" and value is not None and value not in DISK_FORMATS:
        raise BadRequest(f"Invalid value for 'disk_format': {value!r} is not one of {sorted(DISK_FORMATS)}")
    if name == "container_format" and value is not None and value not in CONTAINER_FORMATS:
        raise BadRequest(f"Invalid value for 'container_format': {value!r} is not one of "
                         f"{sorted(CONTAINER_FORMATS)}")
    if name == "name" and value is not None and (not isinstance(value, str) or len(value) > 255):
        raise BadRequest("Invalid value for 'name': it must be a string of at most 255 characters")
    if name == "tags" and (not isinstance(value, list) or not all(isinstance(t, str) for t in value)):
        raise BadRequest("Invalid value for 'tags': it must be a list of strings")
    if name not in CORE and name not in WRITABLE_CORE:
        if not isinstance(value, str):
            raise BadRequest(f"Invalid value for property '{name}': {value!r} is not a string")
        if name == "os_shutdown_timeout" and not value.isdigit():
            raise BadRequest(f"Invalid value for 'os_shutdown_timeout': {value!r} is not a non-negative integer "
                             "(seconds)")
        if name == "guest_command":
            try:
                argv = json.loads(value)
            except ValueError:
                argv = None
            if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
                raise BadRequest("Invalid value for 'guest_command': it must be a JSON list of strings")


def target_of(row) -> dict:
    return {"project_id": row["owner"], "owner": row["owner"], "visibility": row["visibility"]}


def _get(conn, ctx: RequestContext, image_id: str, rule: str = "get_image") -> dict:
    """The image, if the caller may see it (else 404) and ``rule`` allows (else 403)."""
    row = conn.execute(select(images).where(images.c.id == image_id)).mappings().first()
    if row is None or (row["visibility"] == "private" and row["owner"] != ctx.project_id and not ctx.is_admin):
        raise NotFound(f"No image found with ID {image_id[:64]}")
    authorize(ctx, "get_image", target_of(row))
    if rule != "get_image":
        authorize(ctx, rule, target_of(row))
    return dict(row)


@router.get("", responses={300: {"description": "The versions (Glance answers 300 here)"}})
@router.get("/", responses={300: {"description": "The versions (Glance answers 300 here)"}})
@router.get("/versions")
async def versions(request: Request):
    base = str(request.base_url).rstrip("/")
    versions = [{"id": f"v2.{minor}", "status": "CURRENT" if minor == 16 else "SUPPORTED",
                 "links": [{"rel": "self", "href": f"{base}/image/v2/"}]} for minor in range(16, -1, -1)]
    return JSONResponse({"versions": versions}, status_code=300 if request.url.path != "/image/versions" else 200)


@router.get("/v2/schemas/image")
def image_schema(ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "get_image_schema")
    return {"name": "image", "additionalProperties": {"type": "string"},
            "properties": {name: {} for name in sorted(CORE)}}


# Glance checks these in code (check_value); the document says the same.
IMAGE_BODY = {"type": "object", "properties": {
    "id": {"type": "string", "format": "uuid"}, "name": {"type": ["string", "null"], "maxLength": 255},
    "visibility": {"enum": sorted(VISIBILITIES)}, "protected": {"type": "boolean"},
    "disk_format": {"enum": [*sorted(DISK_FORMATS), None]}, "container_format": {"enum": [*sorted(CONTAINER_FORMATS), None]},
    "min_disk": {"type": "integer", "minimum": 0}, "min_ram": {"type": "integer", "minimum": 0},
    "tags": {"type": "array", "items": {"type": "string"}}},
    "additionalProperties": {"type": "string"}}
PATCH_BODY = {"type": "array", "items": {"type": "object", "required": ["op", "path"], "properties": {
    "op": {"enum": ["add", "replace", "remove"]}, "path": {"type": "string", "pattern": "^/[^/]+$"}, "value": {}}}}


@router.get("/v2/images", openapi_extra=openapi.query(openapi.LIMIT, openapi.MARKER, *(
    (name, openapi.STRING) for name in ("name", "id", "status", "visibility", "disk_format", "container_format",
                                        "owner"))))
def list_images(request: Request, ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "get_images")
    params = request.query_params
    query = select(images).order_by(images.c.created_at.desc(), images.c.id)
    if not ctx.is_admin:
        query = query.where((images.c.visibility != "private") | (images.c.owner == ctx.project_id))
    if params.get("name"):
        query = query.where(images.c.name == params["name"])
    if params.get("id"):
        wanted = params["id"][3:].split(",") if params["id"].startswith("in:") else [params["id"]]
        query = query.where(images.c.id.in_(wanted))
    for column in ("status", "visibility", "disk_format", "container_format", "owner"):
        if params.get(column):
            query = query.where(getattr(images.c, column) == params[column])
    with request.app.state.tv.db.read() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    rows = _by_properties_and_sorted(rows, params)
    if params.get("marker"):
        ids = [r["id"] for r in rows]
        if params["marker"] not in ids:
            raise BadRequest(f"marker {params['marker'][:64]} could not be found")
        rows = rows[ids.index(params["marker"]) + 1:]
    body: dict = {"first": "/v2/images", "schema": "/v2/schemas/images"}
    if params.get("limit"):
        if not params["limit"].isdigit() or len(params["limit"]) > 18:
            raise BadRequest("limit param must be an integer")
        limit = int(params["limit"])
        if len(rows) > limit and limit:
            body["next"] = f"/v2/images?marker={rows[limit - 1]['id']}&limit={limit}"
        rows = rows[:limit]
    body["images"] = [view(r) for r in rows]
    return body


_LIST_PARAMS = {"limit", "marker", "name", "id", "status", "visibility", "disk_format", "container_format", "owner",
                "sort_key", "sort_dir", "sort", "member_status", "tag", "protected", "os_hidden", "size_min",
                "size_max", "created_at", "updated_at"}
_SORT_KEYS = ("created_at", "updated_at", "name", "id", "status", "size", "disk_format", "container_format")


def _by_properties_and_sorted(rows: list[dict], params) -> list[dict]:
    """Glance's filters on additional properties (any other query parameter,
    e.g. Nova's image_type, backup_type, instance_uuid) and sort_key/sort_dir."""
    wanted = {k: v for k, v in params.items() if k not in _LIST_PARAMS}
    if wanted:
        rows = [r for r in rows if all(str((r["properties"] or {}).get(k)) == v for k, v in wanted.items())]
    key = params.get("sort_key")
    if key:
        if key not in _SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {key[:64]}")
        direction = params.get("sort_dir", "desc")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction[:64]}")
        rows = sorted(rows, key=lambda r: (r[key] is None, r[key] if r[key] is not None else 0, r["id"]),
                      reverse=direction == "desc")
    return rows


@router.get("/v2/images/{image_id}")
def show_image(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        return view(_get(conn, ctx, image_id))


@router.post("/v2/images", status_code=201, openapi_extra=openapi.body(IMAGE_BODY))
def create_image(request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    authorize(ctx, "add_image", {"owner": ctx.project_id})
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object describing the image.")
    for name in body:
        if name in READ_ONLY and name != "id":
            raise ApiError(403, f"Attribute '{name}' is read-only.")
    for name, value in body.items():
        if name != "id":
            check_value(name, value)
    if body.get("visibility") == "public":
        authorize(ctx, "publicize_image")
    image_id = body.get("id") or str(uuid.uuid4())
    try:
        uuid.UUID(image_id)
    except (ValueError, AttributeError, TypeError):
        raise BadRequest(f"Invalid value for 'id': {image_id!r} is not a UUID") from None
    now = utcnow()
    row = {"id": image_id, "name": body.get("name"), "status": "queued",
           "visibility": body.get("visibility", "shared"), "protected": body.get("protected", False),
           "disk_format": body.get("disk_format"), "container_format": body.get("container_format"),
           "size": None, "checksum": None, "min_disk": body.get("min_disk", 0), "min_ram": body.get("min_ram", 0),
           "owner": ctx.project_id, "tags": body.get("tags", []),
           "properties": {k: v for k, v in body.items() if k not in CORE and k not in WRITABLE_CORE},
           "created_at": now, "updated_at": now}
    with request.app.state.tv.db.write() as conn:
        if conn.execute(select(images.c.id).where(images.c.id == image_id)).first():
            raise Conflict(f"Image with identifier {image_id} already exists!")
        conn.execute(insert(images), row)
    return JSONResponse(view(row), status_code=201,
                        headers={"Location": f"{str(request.base_url).rstrip('/')}/image/v2/images/{image_id}"})


def apply_patch(row: dict, ops: list) -> dict:
    """Glance's patch: RFC 6902 (``jsonpatch``) on the image as the API shows
    it, where custom properties are top-level members; each operation is
    checked against Glance's rules first."""
    document = {name: row.get(name) for name in WRITABLE_CORE}
    document.update(row["properties"] or {})
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise BadRequest("Each patch operation needs 'op' and 'path'.")
        kind, path = op["op"], op["path"]
        if kind not in ("add", "replace", "remove"):
            raise BadRequest(f"Invalid operation: {kind!r}; use add, replace or remove.")
        if not isinstance(path, str) or not path.startswith("/") or path.count("/") != 1:
            raise BadRequest(f"Invalid JSON pointer for this resource: '{path}'")
        try:
            name = jsonpointer.JsonPointer(path).parts[0]
        except jsonpointer.JsonPointerException:  # e.g. "/a~x", an escape RFC 6901 does not have
            raise BadRequest(f"Invalid JSON pointer for this resource: '{path}'") from None
        if name in READ_ONLY:
            raise ApiError(403, f"Attribute '{name}' is read-only.")
        if kind == "remove" and name in WRITABLE_CORE:
            raise ApiError(403, f"Attribute '{name}' is required and cannot be removed.")
        if kind != "remove":
            if "value" not in op:
                raise BadRequest(f"Operation {kind} on {path} needs a 'value'.")
            check_value(name, op["value"])
        try:
            document = jsonpatch.apply_patch(document, [op])
        except jsonpatch.JsonPatchConflict:
            raise Conflict(f"Property {name} does not exist.") from None
    core = {name: document.pop(name) for name in WRITABLE_CORE}
    return {**row, **core, "tags": list(core["tags"] or []), "properties": document}


@router.patch("/v2/images/{image_id}", openapi_extra=openapi.body(PATCH_BODY, JSON_PATCH))
def update_image(image_id: str, request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != JSON_PATCH:
        raise ApiError(415, f"Unsupported Content-Type {content_type!r}; use {JSON_PATCH}.",
                       headers={"Accept-Patch": JSON_PATCH})
    if not isinstance(body, list):
        raise BadRequest("The request body must be a JSON list of patch operations.")
    with request.app.state.tv.db.write() as conn:
        row = _get(conn, ctx, image_id, "modify_image")
        new = apply_patch(row, body)
        if new["visibility"] == "public" and row["visibility"] != "public":
            authorize(ctx, "publicize_image")
        new["updated_at"] = utcnow()
        conn.execute(update(images).where(images.c.id == image_id).values(
            **{k: new[k] for k in ("name", "visibility", "protected", "disk_format", "container_format",
                                   "min_disk", "min_ram", "tags", "properties", "updated_at")}))
    return view(new)


@router.delete("/v2/images/{image_id}", status_code=204)
def delete_image(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    remove_image(request, ctx, image_id)
    return Response(status_code=204)


def remove_image(request: Request, ctx: RequestContext, image_id: str) -> None:
    """Glance's delete (also behind Nova's image proxy): refused when protected; the file goes too."""
    with request.app.state.tv.db.write() as conn:
        row = _get(conn, ctx, image_id, "delete_image")
        if row["protected"]:
            raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        conn.execute(delete(images).where(images.c.id == image_id))
    path = image_file(request, image_id)
    if os.path.exists(path):
        os.unlink(path)


def image_file(request: Request, image_id: str) -> str:
    return os.path.join(request.app.state.tv.conf.DEFAULT.data_dir, "images", image_id)


@router.put("/v2/images/{image_id}/file", status_code=204,
            openapi_extra=openapi.body({"type": "string", "format": "binary"}, "application/octet-stream"))
async def upload_image(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    db = request.app.state.tv.db

    def load() -> dict:
        with db.read() as conn:
            return _get(conn, ctx, image_id, "upload_image")

    def activate(size: int, checksum: str) -> None:
        with db.write() as conn:
            conn.execute(update(images).where(images.c.id == image_id).values(
                status="active", size=size, checksum=checksum, updated_at=utcnow()))

    # async to stream the body; the database calls run in the thread pool
    row = await run_in_threadpool(load)
    if row["status"] not in ("queued", "saving"):
        raise Conflict(f"Image {image_id} is {row['status']}; data can only be uploaded to a queued image.")
    path = image_file(request, image_id)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    digest, size = hashlib.md5(), 0
    with open(path + ".part", "wb") as f:
        async for chunk in request.stream():
            f.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    os.replace(path + ".part", path)
    await run_in_threadpool(activate, size, digest.hexdigest())
    return Response(status_code=204)


@router.get("/v2/images/{image_id}/file")
def download_image(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        _get(conn, ctx, image_id, "download_image")
    path = image_file(request, image_id)
    if not os.path.exists(path):
        return Response(status_code=204)
    with open(path, "rb") as f:
        return Response(f.read(), media_type="application/octet-stream")


# nova-servers: Glance's image tasks (API 2.12). No image here is made by an import task, so each
# image's list is empty; Tempest's snapshot and backup tests wait on it.
@router.get("/v2/images/{image_id}/tasks")
def list_image_tasks(image_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    with request.app.state.tv.db.read() as conn:
        _get(conn, ctx, image_id)
    return {"tasks": []}
