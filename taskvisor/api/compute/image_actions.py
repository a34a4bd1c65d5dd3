"""createImage and createBackup: the API writes the image row (queued) so it
can answer with its id, then starts the snapshot (or backup) task, which
fills and activates it. 202; the image's URL in ``Location`` before 2.45,
``{"image_id"}`` from 2.45 on."""
from __future__ import annotations

import uuid

from fastapi import Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, insert

from taskvisor.api.compute.actions import _body, _inner, _start
from taskvisor.api.compute.submit import TASK_HEADER, get_server
from taskvisor.api.errors import ApiError, Conflict
from taskvisor.api.validation import NAME
from taskvisor.db.models import images
from taskvisor.db.session import utcnow
from taskvisor.states import server as states

IMAGE_METADATA = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 255},
                  "propertyNames": {"minLength": 1, "maxLength": 255}}
CREATE_IMAGE = _inner({"name": NAME, "metadata": IMAGE_METADATA}, required=["name"], nullable=False)
CREATE_BACKUP = _inner({"name": NAME, "backup_type": {"type": "string"},
                        "rotation": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0},
                        "metadata": IMAGE_METADATA}, required=["name", "backup_type", "rotation"], nullable=False)


def _image_row(server: dict, name: str, props: dict, now) -> dict:
    base = server.get("image_properties") or {}
    return {"id": str(uuid.uuid4()), "name": name, "status": "queued", "visibility": "private", "protected": False,
            "disk_format": "qcow2", "container_format": "bare", "size": None, "checksum": None,
            "min_disk": server["flavor"].get("disk", 0), "min_ram": 0, "owner": server["project_id"], "tags": [],
            "properties": {**base, "instance_uuid": server["id"], "base_image_ref": server.get("image_id") or "",
                           "user_id": server["user_id"], **props},
            "created_at": now, "updated_at": now}


def _take(request, ctx, server_id: str, action: str, name: str, props: dict, params: dict) -> tuple[Response, str]:
    """Write the queued image, then start the task; an image whose task was refused is removed."""
    spec = states.ACTIONS[action]
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    if server["vm_state"] not in spec.sources:
        raise Conflict(f"Cannot '{spec.label}' instance {server_id} while it is in vm_state {server['vm_state']}")
    row = _image_row(server, name, props, utcnow())
    with request.app.state.tv.db.write() as conn:
        conn.execute(insert(images), row)
    try:
        resp = _start(request, ctx, server_id, action, {**params, "image_id": row["id"]})
    except ApiError:
        with request.app.state.tv.db.write() as conn:
            conn.execute(delete(images).where(images.c.id == row["id"]))
        raise
    return resp, row["id"]


def _answer(request, ctx, resp: Response, image_id: str, location: bool = True) -> Response:
    if ctx.at_least("2.45"):
        return JSONResponse({"image_id": image_id}, status_code=202,
                            headers={TASK_HEADER: resp.headers[TASK_HEADER]})  # not the empty answer's length
    if location:
        resp.headers["Location"] = f"{str(request.base_url).rstrip('/')}/image/v2/images/{image_id}"
    return resp


def create_image(request, ctx, server_id, body):
    args = _body(body, "createImage", CREATE_IMAGE)
    resp, image_id = _take(request, ctx, server_id, "createImage", args["name"].strip(),
                           {**(args.get("metadata") or {}), "image_type": "snapshot"}, {})
    return _answer(request, ctx, resp, image_id)


def create_backup(request, ctx, server_id, body):
    args = _body(body, "createBackup", CREATE_BACKUP)
    rotation = int(args["rotation"])
    props = {**(args.get("metadata") or {}), "image_type": "backup", "backup_type": args["backup_type"]}
    resp, image_id = _take(request, ctx, server_id, "createBackup", args["name"].strip(), props,
                           {"backup_type": args["backup_type"], "rotation": rotation})
    return _answer(request, ctx, resp, image_id, location=rotation > 0)


HANDLERS = {"createImage": create_image, "createBackup": create_backup}
INNER = {"createImage": CREATE_IMAGE, "createBackup": CREATE_BACKUP}
RULES = {"createImage": "os_compute_api:servers:create_image", "createBackup": "os_compute_api:os-create-backup"}
