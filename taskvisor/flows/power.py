"""Stop (clean shutdown, architecture.md §5) and start a server."""
from __future__ import annotations

from taskvisor.flows.common import finish, power_off_guest, require_host, settle
from taskvisor.states import power
from taskvisor.tasks.flow import Flow

stop = Flow("stop", version=1, action="stop")


# cancellable: a user may stop the clean shutdown wait (the guest keeps running)
@stop.step(task_state="powering-off", cancellable=True)
def power_off(ctx):
    return power_off_guest(ctx)



@stop.on_success
def stopped(ctx):
    finish(ctx, "stop", power_state=power.SHUTDOWN)


stop.on_failure(settle("stop", undo_cancelled_stop=True))

start = Flow("start", version=1, action="start")


@start.step(task_state="powering-on", name="power_on")
def power_on(ctx):
    result = ctx.compute(require_host(ctx)).call("power_on", server_id=ctx.server["id"])
    ctx.update(power_state=result["power_state"])
    return {"power_state": power.NAMES.get(result["power_state"])}


@start.on_success
def started(ctx):
    finish(ctx, "start")


start.on_failure(settle("start"))
