"""Shelve: shut down cleanly, snapshot the disk into the image store, and
(with [DEFAULT] shelved_offload_time = 0, Nova's default) free the host.
Shelve-offload frees the host of a shelved server. Unshelve: place the
server (the scheduler picks a host if it was offloaded), start or spawn it
from its snapshot, then delete the snapshot."""
from __future__ import annotations

import uuid

from sqlalchemy import insert, select, update

from taskvisor import servicegroup
from taskvisor.db.models import images
from taskvisor.flows.common import (delete_image, finish, guest_spec, image_for, place_for_spawn, power_off_guest,
                                    require_host, set_system_metadata, settle, source_state, utcnow)
from taskvisor.scheduler.hosts import select_host
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow

shelve = Flow("shelve", version=1, action="shelve")


# cancellable: a user may stop the clean shutdown wait (reverted: the guest runs on)
@shelve.step(task_state="shelving", cancellable=True)
def power_off(ctx):
    return power_off_guest(ctx)


@power_off.revert
def power_back_on(ctx):
    if source_state(ctx) == states.ACTIVE:
        ctx.compute(ctx.server["host"]).call("power_on", server_id=ctx.server["id"])
        ctx.update(power_state=power.RUNNING)


@shelve.step(task_state="shelving_image_pending_upload")
def create_image(ctx):
    """The conductor writes the image row; the compute fills it (next step)."""
    image_id = ctx.store.setdefault("image_id", str(uuid.uuid4()))
    server, now = ctx.server, utcnow()
    with ctx.runtime.db.write() as conn:
        if conn.execute(select(images.c.id).where(images.c.id == image_id)).first() is None:
            conn.execute(insert(images), {
                "id": image_id, "name": f"{server['name']}-shelved", "status": "saving",
                "visibility": "private", "protected": False, "disk_format": "qcow2", "container_format": "bare",
                "size": None, "checksum": None, "min_disk": server["flavor"].get("disk", 0), "min_ram": 0,
                "owner": server["project_id"], "tags": [],
                "properties": {**(server.get("image_properties") or {}), "shelved_server_id": server["id"],
                               "image_type": "snapshot", "base_image_ref": server.get("image_id") or ""},
                "created_at": now, "updated_at": now})
    set_system_metadata(ctx, shelved_image_id=image_id)
    return {"image_id": image_id}


@create_image.revert
def drop_image(ctx):
    if ctx.store.get("image_id"):
        delete_image(ctx, ctx.store["image_id"])
        set_system_metadata(ctx, shelved_image_id=None)


@shelve.step(task_state="shelving_image_uploading")
def snapshot(ctx):
    image_id = ctx.store["image_id"]
    result = ctx.compute(require_host(ctx)).call("snapshot", server_id=ctx.server["id"], image_id=image_id)
    with ctx.runtime.db.write() as conn:
        conn.execute(update(images).where(images.c.id == image_id).values(
            status="active", size=result["size"], checksum=result["checksum"], updated_at=utcnow()))
    return {"image_id": image_id, "size": result["size"]}


def offload_guest(ctx):
    """Destroy the guest and free the host; the snapshot keeps the disk.
    With ``force`` (shelveOffload at microversion 2.101) a host that is down
    is not waited for: the server is offloaded locally, and the host's
    leftover guest is reaped as a stray when it reports again (the server is
    no longer assigned to it)."""
    host = ctx.server.get("host")
    details: dict = {"offloaded": True}
    if host and ctx.params.get("force") and not servicegroup.compute_is_up(ctx.runtime.db, host, ctx.conf):
        details.update(local=True, reason=f"forced while compute {host} is down: its guest is reaped when "
                                          "it reports again")
    elif host:
        ctx.compute(host).call("destroy", server_id=ctx.server["id"])
    ctx.update(host=None, node=None, power_state=power.NOSTATE)
    ctx.store["offloaded"] = True
    return details


@shelve.step(task_state="shelving_offloading")
def offload(ctx):
    if ctx.conf.DEFAULT.shelved_offload_time != 0:
        return {"skipped": True, "reason": f"shelved_offload_time is {ctx.conf.DEFAULT.shelved_offload_time}"}
    return offload_guest(ctx)


@shelve.on_success
def shelved(ctx):
    set_system_metadata(ctx, shelved_at=utcnow().isoformat())
    finish(ctx, "shelve", "done" if ctx.store.get("offloaded") else "kept")


shelve.on_failure(settle("shelve"))

shelve_offload = Flow("shelve_offload", version=1, action="shelveOffload")
shelve_offload.step(offload_guest, task_state="shelving_offloading", name="offload")
shelve_offload.on_success(lambda ctx: finish(ctx, "shelveOffload"))
shelve_offload.on_failure(settle("shelveOffload"))

unshelve = Flow("unshelve", version=1, action="unshelve")


@unshelve.step(task_state="unshelving")
def schedule(ctx):
    if ctx.params.get("availability_zone"):
        ctx.update(availability_zone=ctx.params["availability_zone"])
    if ctx.server.get("host"):  # shelved, not offloaded (or chosen before a crash)
        return {"host": ctx.server["host"]}
    host = select_host(ctx.runtime.db, ctx.server["flavor"], ctx.conf.DEFAULT.service_down_time,
                       zone=ctx.server.get("availability_zone"),
                       default_zone=ctx.conf.DEFAULT.default_availability_zone)
    ctx.update(host=host, node=host)
    return {"host": host}


@schedule.revert
def unplace(ctx):
    if source_state(ctx) == states.SHELVED_OFFLOADED:
        ctx.update(host=None, node=None)


@unshelve.step(task_state="spawning")
def spawn(ctx):
    details: dict = {}
    if source_state(ctx) == states.SHELVED_OFFLOADED:
        # The guest is made anew from the snapshot, so it may be made
        # elsewhere (a shelved server's guest stays on its host). The intent
        # goes before the first call, as in boot.
        details = place_for_spawn(ctx)
        ctx.intend(ctx.server["host"], "spawn")
    host = ctx.server["host"]
    if ctx.server["id"] in ctx.compute(host).call("list_guests"):
        result = ctx.compute(host).call("power_on", server_id=ctx.server["id"])
        how = "powered on"
    else:
        image_id = (ctx.server.get("system_metadata") or {}).get("shelved_image_id")
        image = image_for(ctx, image_id)
        result = {"power_state": ctx.compute(host).call(
            "spawn", server=guest_spec(ctx.server), image=image, flavor=ctx.server["flavor"])["power_state"]}
        how = f"spawned from {image_id}"
    ctx.update(power_state=result["power_state"])
    return {**details, "guest": how}


@spawn.revert
def destroy_spawned(ctx):
    if source_state(ctx) == states.SHELVED_OFFLOADED and ctx.server.get("host"):
        ctx.compute(ctx.server["host"]).call("destroy", server_id=ctx.server["id"])
        ctx.update(power_state=power.NOSTATE)
    elif ctx.server.get("host"):
        ctx.compute(ctx.server["host"]).call("power_off", server_id=ctx.server["id"], timeout=0,
                                             retry_interval=0, force=True)
        ctx.update(power_state=power.SHUTDOWN)


@unshelve.step
def delete_snapshot(ctx):
    image_id = (ctx.server.get("system_metadata") or {}).get("shelved_image_id")
    if not image_id:
        return {"skipped": True, "reason": "no snapshot"}
    existed = delete_image(ctx, image_id)
    set_system_metadata(ctx, shelved_image_id=None, shelved_at=None)
    return {"image_id": image_id, "deleted": existed}


@unshelve.on_success
def unshelved(ctx):
    finish(ctx, "unshelve")


unshelve.on_failure(settle("unshelve"))
