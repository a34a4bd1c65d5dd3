"""Change a node's boot mode (uefi, bios) or secure boot through its
management interface (Ironic's change_node_boot_mode and
change_node_secure_boot: 202, asynchronous). params: boot_mode or
secure_boot, the one to set."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows.node_common import hardware, release, reserve
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_boot_mode", version=1, action="set_boot_mode", resource_type="node")


@flow.step
def set_boot_mode(ctx):
    reserve(ctx)
    driver, hw = hardware(ctx, abortable=False)
    try:
        if "boot_mode" in ctx.params:
            driver.management.set_boot_mode(hw, ctx.params["boot_mode"])
            ctx.update(boot_mode=ctx.params["boot_mode"])
        else:
            driver.management.set_secure_boot(hw, bool(ctx.params["secure_boot"]))
            ctx.update(secure_boot=bool(ctx.params["secure_boot"]))
    except HardwareError as exc:
        raise StepFailed(f"Setting the boot mode of node {ctx.node['id']} failed: {exc}", 400) from None
    return dict(ctx.params)


@flow.on_success
def done(ctx):
    release(ctx, last_error=None)


@flow.on_failure
def failed(ctx, error):
    release(ctx, last_error=error.get("message"))
