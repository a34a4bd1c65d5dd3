"""Inspect a node: manageable (or inspect failed) → inspecting → manageable.

The conductor checks it can reach the node (power validate and read), then
runs the driver's inspect interface when it has one (fake-hardware's, like
Ironic's fake inspect, finds nothing to record). A failure leaves the node
in inspect failed with the reason in last_error; manage or inspect again
leave that state.
"""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows.node_common import hardware, keep_internal, release, reserve
from taskvisor.states import node as states
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_inspect", version=1, action="inspect", resource_type="node")


@flow.step
def inspect_hardware(ctx):
    reserve(ctx)
    driver, hw = hardware(ctx)
    try:
        driver.power.validate(hw)
        power_state = driver.power.get_power_state(hw)
        inspect = getattr(getattr(driver, "inspect", None), "inspect_hardware", None)
        found = inspect(hw) if inspect is not None else None
    except HardwareError as exc:
        raise StepFailed(f"Failed to inspect hardware. Reason: {exc}", 500) from None
    keep_internal(ctx, hw)
    if found:  # properties the inspection discovered join the node's
        ctx.update(properties={**(ctx.node.get("properties") or {}), **found})
    ctx.update(power_state=power_state)
    return {"power_state": power_state, "properties": sorted(found or {})}


@flow.on_success
def manageable(ctx):
    release(ctx, provision_state=states.MANAGEABLE, target_provision_state=None, last_error=None)


@flow.on_failure
def inspect_failed(ctx, error):
    release(ctx, provision_state=states.INSPECTFAIL, target_provision_state=states.MANAGEABLE,
            last_error=error.get("message"))
