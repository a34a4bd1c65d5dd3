"""Admin actions on a server. resetState is instant: the API applies it and
records this task finished in the same transaction (an admin expects the
new state at once); its one step is what a rerun would do. injectNetworkInfo
has nothing to inject without Neutron: a task that records that it ran."""
from __future__ import annotations

from taskvisor.flows.common import finish, settle
from taskvisor.tasks.flow import Flow

reset_state = Flow("reset_state", version=1, action="resetState")


@reset_state.step(task_state="resetting", name="reset_state")
def set_state(ctx):
    return {"vm_state": ctx.params["state"]}


reset_state.on_success(lambda ctx: finish(ctx, "resetState", ctx.params["state"]))
reset_state.on_failure(settle("resetState"))

inject_network_info = Flow("inject_network_info", version=1, action="injectNetworkInfo")


@inject_network_info.step(task_state="networking", name="inject_network_info")
def inject(ctx):
    return {"skipped": True, "reason": "no network service: the guest's network information does not change"}


inject_network_info.on_success(lambda ctx: finish(ctx, "injectNetworkInfo"))
inject_network_info.on_failure(settle("injectNetworkInfo"))
