"""Attach or detach virtual media through a node's management interface
(Ironic's attach_virtual_media / detach_virtual_media). The API waits for
this task, since Ironic answers 204 once it is done.
params: attach {device_type, image_url} or detach [device types] (empty: all)."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows.node_common import hardware, keep_internal, release, reserve
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_vmedia", version=1, action="vmedia", resource_type="node")


@flow.step
def change_vmedia(ctx):
    reserve(ctx)
    driver, hw = hardware(ctx, abortable=False)
    attached = hw.internal.setdefault("vmedia", {})  # what is attached, by device (GET .../vmedia)
    try:
        if "attach" in ctx.params:
            media = ctx.params["attach"]
            driver.management.attach_virtual_media(hw, media["device_type"], media["image_url"])
            attached[media["device_type"]] = media["image_url"]
        else:
            devices = ctx.params.get("detach") or list(attached)
            driver.management.detach_virtual_media(hw, devices)
            for device in devices:
                attached.pop(device, None)
    except HardwareError as exc:
        raise StepFailed(str(exc), 400) from None
    keep_internal(ctx, hw)
    return dict(ctx.params)


@flow.on_success
def done(ctx):
    release(ctx)


@flow.on_failure
def failed(ctx, error):
    release(ctx)  # the caller gets the reason
