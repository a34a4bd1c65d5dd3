"""Set one indicator (an LED) of a node's component through its management
interface. The API waits for this task, since Ironic answers 204 once set.
params: component, indicator, state."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows.node_common import hardware, keep_internal, release, reserve
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_indicator", version=1, action="set_indicator", resource_type="node")


@flow.step
def set_indicator(ctx):
    reserve(ctx)
    driver, hw = hardware(ctx, abortable=False)
    try:
        driver.management.set_indicator_state(hw, ctx.params["component"], ctx.params["indicator"],
                                              ctx.params["state"])
    except HardwareError as exc:
        raise StepFailed(str(exc), 400) from None
    keep_internal(ctx, hw)
    return dict(ctx.params)


@flow.on_success
def done(ctx):
    release(ctx)


@flow.on_failure
def failed(ctx, error):
    release(ctx)  # the indicator keeps its state; the caller gets the reason
