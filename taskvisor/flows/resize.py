"""Resize (on the same host: all-in-one has one compute): record old and new
flavor, shut down cleanly, resize the disk, switch the flavor, start again if
it was running → VERIFY_RESIZE. A failure puts the old flavor back.
Confirm forgets the old flavor; revert restores it."""
from __future__ import annotations

from taskvisor.flows import migration_record
from taskvisor.flows.common import finish, power_off_guest, require_host, set_system_metadata, settle
from taskvisor.flows.migrate import confirm_migration, migration_source, revert_migration
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow

resize = Flow("resize", version=1, action="resize")


def _set_flavor(ctx, flavor: dict, **fields) -> None:
    """The flavor, and its vcpus, ram and disk as the columns quota and the scheduler sum."""
    ctx.update(flavor=flavor, vcpus=int(flavor.get("vcpus") or 0), ram=int(flavor.get("ram") or 0),
               disk=int(flavor.get("disk") or 0), **fields)


def _was_running(ctx) -> bool:
    return (ctx.server.get("system_metadata") or {}).get("old_vm_state", states.ACTIVE) == states.ACTIVE


def _power_on(ctx) -> None:
    result = ctx.compute(ctx.server["host"]).call("power_on", server_id=ctx.server["id"])
    ctx.update(power_state=result["power_state"])


@resize.step(task_state="resize_prep")
def prep(ctx):
    require_host(ctx)
    if not ctx.server.get("old_flavor"):
        ctx.update(old_flavor=ctx.server["flavor"], new_flavor=ctx.params["new_flavor"])
        set_system_metadata(ctx, old_vm_state=ctx.params.get("source") or ctx.server["vm_state"])
    migration_record.open_record(ctx)
    if ctx.params.get("disk_config"):  # the resize's OS-DCF:diskConfig is the server's from now on
        set_system_metadata(ctx, disk_config=ctx.params["disk_config"])
    return {"old_flavor": ctx.server["old_flavor"]["name"], "new_flavor": ctx.server["new_flavor"]["name"],
            "host": ctx.server["host"]}


@prep.revert
def forget_flavors(ctx):
    ctx.update(old_flavor=None, new_flavor=None)
    set_system_metadata(ctx, old_vm_state=None)


# cancellable: a user may stop the clean shutdown wait (reverted like any failure here)
@resize.step(task_state="resize_migrating", cancellable=True)
def power_off(ctx):
    return power_off_guest(ctx)


@power_off.revert
def power_back_on(ctx):
    if _was_running(ctx):
        _power_on(ctx)


@resize.step(task_state="resize_migrated")
def migrate_disk(ctx):
    result = ctx.compute(ctx.server["host"]).call("resize", server_id=ctx.server["id"],
                                                  new_flavor=ctx.server["new_flavor"])
    return {"power_state": power.NAMES.get(result["power_state"]), "disk_gb": ctx.server["new_flavor"]["disk"]}


@migrate_disk.revert
def restore_disk(ctx):
    ctx.compute(ctx.server["host"]).call("revert_resize", server_id=ctx.server["id"])


@resize.step(task_state="resize_finish", name="finish")
def finish_resize(ctx):
    _set_flavor(ctx, ctx.server["new_flavor"])
    if _was_running(ctx):
        _power_on(ctx)
    return {"flavor": ctx.server["flavor"]["name"], "power_state": power.NAMES.get(ctx.server["power_state"])}


@finish_resize.revert
def old_flavor_back(ctx):
    _set_flavor(ctx, ctx.server["old_flavor"])


@resize.on_success
def verify_resize(ctx):
    finish(ctx, "resize")
    migration_record.set_status(ctx, "finished")


@resize.on_failure
def resize_failed(ctx, error):
    settle("resize")(ctx, error)
    migration_record.set_status(ctx, "error")


def _end(ctx, action: str) -> None:
    was_running = _was_running(ctx)
    set_system_metadata(ctx, old_vm_state=None)
    finish(ctx, action, "done" if was_running else "stopped", old_flavor=None, new_flavor=None)


confirm = Flow("confirm_resize", version=1, action="confirmResize")


@confirm.step(task_state="resize_confirming", name="confirm")
def drop_old_state(ctx):
    if migration_source(ctx.server):  # a cold migration: the old guest is on the source host
        return confirm_migration(ctx)
    ctx.compute(require_host(ctx)).call("confirm_resize", server_id=ctx.server["id"])
    return {"dropped_flavor": (ctx.server.get("old_flavor") or {}).get("name")}


@confirm.on_success
def confirmed(ctx):
    _end(ctx, "confirmResize")
    migration_record.set_status(ctx, "confirmed")


confirm.on_failure(settle("confirmResize"))

revert = Flow("revert_resize", version=1, action="revertResize")


@revert.step(task_state="resize_reverting")
def power_off_new(ctx):
    return ctx.compute(require_host(ctx)).call("power_off", server_id=ctx.server["id"], timeout=0,
                                               retry_interval=0, force=True)


@revert.step
def revert_disk(ctx):
    if migration_source(ctx.server):  # a cold migration: back to the guest on the source host
        return revert_migration(ctx)
    result = ctx.compute(ctx.server["host"]).call("revert_resize", server_id=ctx.server["id"])
    return {"power_state": power.NAMES.get(result["power_state"])}


@revert.step
def finish_revert(ctx):
    _set_flavor(ctx, ctx.server["old_flavor"] or ctx.server["flavor"], power_state=power.SHUTDOWN)
    if _was_running(ctx):
        _power_on(ctx)
    return {"flavor": ctx.server["flavor"]["name"]}


@revert.on_success
def reverted(ctx):
    _end(ctx, "revertResize")
    migration_record.set_status(ctx, "reverted")



revert.on_failure(settle("revertResize"))
