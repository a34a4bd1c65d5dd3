"""Enable or disable a node's console (Ironic's set_console_mode: 202, then
the conductor starts or stops it). The node shows console_enabled once the
console interface did it; what to connect to is kept in
driver_internal_info (console_info) while it is enabled."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import HardwareError
from taskvisor.flows.node_common import hardware, release, reserve
from taskvisor.tasks.flow import Flow, StepFailed

flow = Flow("node_console", version=1, action="set_console", resource_type="node")


@flow.step
def set_console(ctx):
    reserve(ctx)
    enabled = bool(ctx.params["enabled"])
    driver, hw = hardware(ctx, abortable=False)
    console = getattr(driver, "console", None)
    if console is None:
        raise StepFailed(f"Node {ctx.node['id']}'s driver has no console", 400)
    try:
        info = console.start_console(hw) if enabled else console.stop_console(hw)
    except HardwareError as exc:
        raise StepFailed(f"Setting the console of node {ctx.node['id']} failed: {exc}", 400) from None
    internal = dict(ctx.node.get("driver_internal_info") or {})
    if enabled:
        internal["console_info"] = info or {}
    else:
        internal.pop("console_info", None)
    ctx.update(console_enabled=enabled, driver_internal_info=internal)
    return {"console_enabled": enabled}


@flow.on_success
def done(ctx):
    release(ctx, last_error=None)


@flow.on_failure
def failed(ctx, error):
    # Ironic: the console stays as it was and last_error says why
    release(ctx, last_error=error.get("message"))
