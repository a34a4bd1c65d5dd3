"""Cold migration (admin): a resize to another compute with the same flavor.
Pick a destination (the scheduler, or the admin's host from 2.56), shut the
guest down, copy its disk into a transient image, spawn it on the
destination from that image (stopped again if it was stopped) →
VERIFY_RESIZE. The source guest stays until confirmResize (which destroys
it); revertResize destroys the new guest and powers the source on again.
Like a resize it keeps a migration record (type ``migration``) for
os-migrations; confirm and revert end it as they end a resize's."""
from __future__ import annotations

import uuid

from sqlalchemy import insert, select

from taskvisor.db.models import images
from taskvisor.flows import migration_record
from taskvisor.flows.common import (delete_image, finish, guest_spec, image_for, power_off_guest, require_host,
                                    set_system_metadata, settle, source_state, utcnow)
from taskvisor.scheduler.hosts import select_host
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("migrate", version=1, action="migrate")
SOURCE_KEY, IMAGE_KEY = "migration_source", "migration_image"  # system_metadata while VERIFY_RESIZE


def migration_source(server: dict) -> str | None:
    """The compute a migrated server came from, until it is confirmed or reverted."""
    return (server.get("system_metadata") or {}).get(SOURCE_KEY)


@flow.step(task_state="resize_prep")
def prep(ctx):
    source = require_host(ctx)
    dest = ctx.store.get("dest")
    if dest is None:
        dest = ctx.params.get("host")
        if dest is None:
            try:
                dest = select_host(ctx.runtime.db, ctx.server["flavor"], ctx.conf.DEFAULT.service_down_time,
                                   exclude=(source,))
            except Exception as exc:  # the scheduler's NoValidHost, in Nova's words
                raise StepFailed(f"No valid host was found. {exc}", code=400) from None
        ctx.store["dest"] = dest
    migration_record.open_record(ctx, "migration", dest=dest)
    ctx.update(old_flavor=ctx.server["flavor"], new_flavor=ctx.server["flavor"])
    set_system_metadata(ctx, old_vm_state=source_state(ctx), **{SOURCE_KEY: source})
    return {"source": source, "dest": dest}


@prep.revert
def forget(ctx):
    ctx.update(old_flavor=None, new_flavor=None)
    set_system_metadata(ctx, old_vm_state=None, **{SOURCE_KEY: None})


@flow.step(task_state="resize_migrating")
def power_off(ctx):
    return power_off_guest(ctx)


@power_off.revert
def power_back_on(ctx):
    if source_state(ctx) == states.ACTIVE:
        result = ctx.compute(ctx.server["host"]).call("power_on", server_id=ctx.server["id"])
        ctx.update(power_state=result["power_state"])


@flow.step(task_state="resize_migrated")
def copy_disk(ctx):
    image_id = ctx.store.setdefault("image_id", str(uuid.uuid4()))
    server, now = ctx.server, utcnow()
    with ctx.runtime.db.write() as conn:
        if conn.execute(select(images.c.id).where(images.c.id == image_id)).first() is None:
            conn.execute(insert(images), {
                "id": image_id, "name": f"{server['name']}-migrating", "status": "saving", "visibility": "private",
                "protected": False, "disk_format": "qcow2", "container_format": "bare", "size": None,
                "checksum": None, "min_disk": 0, "min_ram": 0, "owner": server["project_id"], "tags": [],
                "properties": {**(server.get("image_properties") or {}), "image_type": "migration",
                               "instance_uuid": server["id"]},
                "created_at": now, "updated_at": now})
    set_system_metadata(ctx, **{IMAGE_KEY: image_id})
    result = ctx.compute(ctx.server["host"]).call("snapshot", server_id=server["id"], image_id=image_id)
    return {"image_id": image_id, "size": result["size"]}


@copy_disk.revert
def drop_copy(ctx):
    if ctx.store.get("image_id"):
        delete_image(ctx, ctx.store["image_id"])
        set_system_metadata(ctx, **{IMAGE_KEY: None})


@flow.step(task_state="resize_finish", name="finish")
def spawn_on_dest(ctx):
    dest = ctx.store["dest"]
    ctx.intend(dest, "spawn")
    image = {**image_for(ctx, ctx.store["image_id"]), "id": ctx.store["image_id"]}
    result = ctx.compute(dest).call("spawn", server=guest_spec(ctx.server), image=image, flavor=ctx.server["flavor"])
    ctx.update(host=dest, node=dest, power_state=result["power_state"])
    if source_state(ctx) == states.STOPPED:
        ctx.compute(dest).call("power_off", server_id=ctx.server["id"], timeout=0, retry_interval=0, force=True)
        ctx.update(power_state=power.SHUTDOWN)
    return {"host": dest}


@spawn_on_dest.revert
def destroy_on_dest(ctx):
    ctx.compute(ctx.store["dest"]).call("destroy", server_id=ctx.server["id"])
    source = migration_source(ctx.server)
    if source:
        ctx.update(host=source, node=source, power_state=power.SHUTDOWN)


@flow.on_success
def verify(ctx):
    finish(ctx, "migrate")
    migration_record.set_status(ctx, "finished")


@flow.on_failure
def failed(ctx, error):
    settle("migrate")(ctx, error)
    if ctx.store.get("dest"):  # the record was opened with the destination
        migration_record.set_status(ctx, "error")


# -- what confirmResize and revertResize do for a migrated server ---------------------
def confirm_migration(ctx) -> dict:
    """Destroy the guest left on the source and the transient image."""
    source, image_id = migration_source(ctx.server), (ctx.server.get("system_metadata") or {}).get(IMAGE_KEY)
    ctx.compute(source).call("destroy", server_id=ctx.server["id"])
    if image_id:
        delete_image(ctx, image_id)
    set_system_metadata(ctx, **{SOURCE_KEY: None, IMAGE_KEY: None})
    return {"destroyed_on": source}


def revert_migration(ctx) -> dict:
    """Destroy the new guest and go back to the source's (still off)."""
    source, image_id = migration_source(ctx.server), (ctx.server.get("system_metadata") or {}).get(IMAGE_KEY)
    ctx.compute(ctx.server["host"]).call("destroy", server_id=ctx.server["id"])
    ctx.update(host=source, node=source, power_state=power.SHUTDOWN)
    if image_id:
        delete_image(ctx, image_id)
    set_system_metadata(ctx, **{SOURCE_KEY: None, IMAGE_KEY: None})
    return {"back_on": source}
