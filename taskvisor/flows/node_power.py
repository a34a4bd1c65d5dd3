"""Change a node's power state (power on/off, reboot, soft variants)
through its power interface; the API set target_power_state."""
from __future__ import annotations

import time

from taskvisor.baremetal.interfaces import POWER_RESULT, HardwareError
from taskvisor.flows.node_common import hardware, keep_internal, release, reserve
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_power", version=1, action="power", resource_type="node")


@flow.step
def set_power(ctx):
    reserve(ctx)
    target = ctx.params["target"]
    driver, hw = hardware(ctx)
    started = time.monotonic()
    try:
        state = driver.power.set_power_state(hw, target, timeout=ctx.params.get("timeout"))
    except HardwareError as exc:
        raise StepFailed(f"Failed to change power state to '{POWER_RESULT[target]}' by '{target}'. "
                         f"Error: {exc}", 500) from None
    keep_internal(ctx, hw)
    # The new power state is written with the release, in one transaction: a
    # client that sees the state reached may act at once, and must not find
    # the node still locked by this task.
    ctx.store["power_state"] = state
    return {"power_state": state, "seconds": round(time.monotonic() - started, 2)}


@flow.on_success
def done(ctx):
    release(ctx, power_state=ctx.store.get("power_state", ctx.node.get("power_state")), target_power_state=None, last_error=None)


@flow.on_failure
def failed(ctx, error):
    # the node keeps the power state it had; the error says why
    release(ctx, target_power_state=None, last_error=error.get("message"))
