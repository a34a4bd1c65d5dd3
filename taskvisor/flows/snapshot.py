"""createImage and createBackup: the API wrote the image row (queued, so it
could answer with the image's id); the compute copies the guest's disk into
the image store; the image becomes active. A backup then keeps only the
newest ``rotation`` backups of its kind. The server returns to the state it
was in: a snapshot does not change the guest."""
from __future__ import annotations

from sqlalchemy import select, update

from taskvisor.db.models import images
from taskvisor.flows.common import delete_image, finish, require_host, settle, utcnow
from taskvisor.tasks.flow import Flow


def _image_status(ctx, status: str, **values) -> None:
    with ctx.runtime.db.write() as conn:
        conn.execute(update(images).where(images.c.id == ctx.params["image_id"]).values(
            status=status, updated_at=utcnow(), **values))


def begin(ctx):
    _image_status(ctx, "saving")
    return {"image_id": ctx.params["image_id"]}


def drop_image(ctx):
    """A failed snapshot leaves no half-made image behind (Nova deletes it)."""
    delete_image(ctx, ctx.params["image_id"])


def copy_disk(ctx):
    result = ctx.compute(require_host(ctx)).call("snapshot", server_id=ctx.server["id"],
                                                 image_id=ctx.params["image_id"])
    ctx.store["snapshot"] = result
    return {"size": result["size"]}


def activate(ctx):
    result = ctx.store["snapshot"]
    _image_status(ctx, "active", size=result["size"], checksum=result["checksum"])
    return {"image_id": ctx.params["image_id"], "status": "active"}


def _image_flow(name: str, action: str, first_task_state: str) -> Flow:
    flow = Flow(name, version=1, action=action)
    flow.step(begin, task_state=first_task_state).revert(drop_image)
    flow.step(copy_disk, task_state="image_pending_upload")
    flow.step(activate, task_state="image_uploading")
    return flow


snapshot = _image_flow("snapshot", "createImage", "image_snapshot")
snapshot.on_success(lambda ctx: finish(ctx, "createImage"))
snapshot.on_failure(settle("createImage"))

backup = _image_flow("backup", "createBackup", "image_backup")


@backup.step
def rotate(ctx):
    """Keep the newest ``rotation`` active backups of this server and type."""
    server_id, kind, keep = ctx.server["id"], ctx.params["backup_type"], int(ctx.params["rotation"])
    with ctx.runtime.db.read() as conn:
        rows = conn.execute(select(images.c.id, images.c.properties, images.c.created_at)
                            .where(images.c.owner == ctx.server["project_id"])
                            .order_by(images.c.created_at.desc(), images.c.id)).all()
    backups = [r.id for r in rows if (r.properties or {}).get("instance_uuid") == server_id
               and (r.properties or {}).get("backup_type") == kind and (r.properties or {}).get("image_type") == "backup"]
    deleted = [image_id for image_id in backups[keep:] if delete_image(ctx, image_id)]
    return {"kept": backups[:keep], "deleted": deleted}


backup.on_success(lambda ctx: finish(ctx, "createBackup"))
backup.on_failure(settle("createBackup"))
