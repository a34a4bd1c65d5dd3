"""Set a node's boot device (once or persistent) through its management
interface. The API waits for this task to answer 204 as Ironic does."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows.node_common import hardware, keep_internal, release, reserve
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_boot_device", version=1, action="set_boot_device", resource_type="node")


@flow.step
def set_boot_device(ctx):
    reserve(ctx)
    device, persistent = ctx.params["boot_device"], bool(ctx.params.get("persistent"))
    driver, hw = hardware(ctx, abortable=False)
    try:
        driver.management.set_boot_device(hw, device, persistent)
    except HardwareError as exc:
        raise StepFailed(str(exc), 400) from None
    keep_internal(ctx, hw)
    return {"boot_device": device, "persistent": persistent}


@flow.on_success
def done(ctx):
    release(ctx)


@flow.on_failure
def failed(ctx, error):
    # the node keeps its boot device; the caller gets the reason
    release(ctx)
