"""Stop, start and reboot a bare-metal server through its node's power
interface. Stop and soft reboot shut down cleanly (soft power off, forced
after the timeout; stop also on request); hard reboot powers off at once.
The task holds the node's lock while it runs, like a node power task."""
from __future__ import annotations

from taskvisor.baremetal.interfaces import POWER_OFF, POWER_ON
from taskvisor.flows.bm_common import hold, release, set_power, settle, shutdown
from taskvisor.flows.common import finish
from taskvisor.states import power
from taskvisor.tasks.flow import Flow


def _power_on(ctx):
    node = hold(ctx)
    return {"node": node["id"], "power_state": set_power(ctx, node, POWER_ON)}


def _finish(action: str, **fields):
    def on_success(ctx):
        release(ctx, ctx.server.get("node"), last_error=None)
        finish(ctx, action, **fields)
    return on_success


stop = Flow("bm_stop", version=1, action="stop")


@stop.step(task_state="powering-off")
def power_off(ctx):
    return shutdown(ctx, hold(ctx))


stop.on_success(_finish("stop", power_state=power.SHUTDOWN))
stop.on_failure(settle("stop"))

start = Flow("bm_start", version=1, action="start")
start.step(_power_on, task_state="powering-on", name="power_on")
start.on_success(_finish("start"))
start.on_failure(settle("start"))

soft = Flow("bm_reboot", version=1, action="reboot")


@soft.step(task_state="rebooting", name="shutdown")
def soft_shutdown(ctx):
    details = shutdown(ctx, hold(ctx), force=False)
    details["reboot"] = "hard" if details["shutdown"] == "forced" else "soft"
    return details


soft.step(_power_on, task_state="reboot_started", name="power_on")
soft.on_success(_finish("reboot"))
soft.on_failure(settle("reboot"))

hard = Flow("bm_reboot_hard", version=1, action="reboot")


@hard.step(task_state="rebooting_hard")
def force_off(ctx):
    node = hold(ctx)
    return {"node": node["id"], "power_state": set_power(ctx, node, POWER_OFF)}


hard.step(_power_on, task_state="reboot_started_hard", name="power_on")
hard.on_success(_finish("reboot_hard"))
hard.on_failure(settle("reboot_hard"))
