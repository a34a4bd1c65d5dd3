"""Manage a node: enroll → verifying → manageable (the conductor checks it
can control the node's power), or available / clean failed → manageable."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows.node_common import hardware, release, reserve
from taskvisor.states import node as states
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_manage", version=1, action="manage", resource_type="node")


@flow.step
def verify(ctx):
    if ctx.params.get("source") != states.ENROLL:
        # nothing to check (available, clean failed): no write to show a
        # reservation that this step's checkpoint, the task's end, clears
        return {"skipped": True}
    reserve(ctx)
    driver, hw = hardware(ctx)
    try:
        driver.power.validate(hw)
        power_state = driver.power.get_power_state(hw)
    except HardwareError as exc:
        raise StepFailed(f"Failed to get power state for node {ctx.node['id']}. Error: {exc}", 400) from None
    ctx.update(power_state=power_state)
    return {"power_state": power_state}


@flow.on_success
def manageable(ctx):
    release(ctx, provision_state=states.MANAGEABLE, target_provision_state=None, last_error=None)


@flow.on_failure
def back_to_enroll(ctx, error):
    release(ctx, provision_state=ctx.params.get("source") or states.ENROLL, target_provision_state=None,
            last_error=error.get("message"))
