"""Boot a server: pick a host, give it an address, build the guest."""
from __future__ import annotations

import hashlib

from taskvisor import servicegroup
from taskvisor.flows.common import guest_spec, image_for, utcnow
from taskvisor.scheduler.hosts import select_host
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow

flow = Flow("boot", version=1, action="create")


@flow.step(task_state="scheduling")
def schedule(ctx):
    if ctx.server.get("host"):  # chosen before a crash: keep it
        return {"host": ctx.server["host"]}
    host = select_host(ctx.runtime.db, ctx.server["flavor"], ctx.conf.DEFAULT.service_down_time)
    ctx.update(host=host, node=host)
    return {"host": host}


@flow.step(task_state="networking")
def allocate_network(ctx):
    requested = ctx.server.get("requested_networks")
    if requested == "none":
        return {"networks": []}
    # A simulated private network: the address follows from the server id,
    # so running this step twice gives the same answer.
    n = int(hashlib.sha1(ctx.server["id"].encode()).hexdigest()[:6], 16)
    address = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{max(2, n & 255)}"
    mac = "fa:16:3e:%02x:%02x:%02x" % ((n >> 16) & 255, (n >> 8) & 255, n & 255)
    ctx.update(addresses={"private": [{"version": 4, "addr": address, "OS-EXT-IPS:type": "fixed",
                                       "OS-EXT-IPS-MAC:mac_addr": mac}]})
    return {"addresses": [address]}


@allocate_network.revert
def release_network(ctx):
    ctx.update(addresses={})


@flow.step(task_state="spawning")
def spawn(ctx):
    details = {}
    host = ctx.server["host"]
    if host not in ctx.store.get("hosts_touched", []) and not servicegroup.compute_takes_new_work(
            ctx.runtime.db, host, ctx.conf):
        # The host began draining (or went down) before it answered us:
        # place the server elsewhere rather than wait for it. If this task
        # already asked it for the guest (the intent is recorded before the
        # call, so a conductor that died mid-call left it), have it undo that.
        if host in ctx.store.get("asked", {}):
            details["undone_on"] = _undo_spawn(ctx, host)
        new_host = select_host(ctx.runtime.db, ctx.server["flavor"], ctx.conf.DEFAULT.service_down_time,
                               exclude=(host,))
        ctx.update(host=new_host, node=new_host)
        details["rerouted"] = {"from": host, "to": new_host}
        host = new_host
    image = image_for(ctx, ctx.server.get("image_id"))
    ctx.intend(host, "spawn")
    result = ctx.compute(host).call("spawn", server=guest_spec(ctx.server), image=image,
                                    flavor=ctx.server["flavor"])
    ctx.update(power_state=result["power_state"])
    return {**details, "power_state": power.NAMES.get(result["power_state"])}


def _undo_spawn(ctx, host: str) -> str:
    """Destroy what an earlier attempt may have started on ``host``. A
    draining compute still serves compute-alt, and its destroy waits for a
    spawn still in flight there; a host that is down cannot answer, and its
    reconciler destroys the guest when it reports again (the server is not
    assigned to it any more)."""
    if not servicegroup.compute_is_up(ctx.runtime.db, host, ctx.conf):
        return f"{host} (down: its reconciler destroys the guest when it returns)"
    touched = ctx.store.setdefault("hosts_touched", [])
    if host not in touched:
        touched.append(host)  # the operation is in flight there: compute-alt
    ctx.compute(host).call("destroy", server_id=ctx.server["id"])
    return host


@spawn.revert
def destroy_guest(ctx):
    if ctx.server.get("host"):
        ctx.compute(ctx.server["host"]).call("destroy", server_id=ctx.server["id"])


@flow.on_success
def active(ctx):
    ctx.update(vm_state=states.ACTIVE, task_state=None, launched_at=utcnow(), progress=100)


@flow.on_failure
def error(ctx, err):
    ctx.update(vm_state=states.ERROR, task_state=None, power_state=power.NOSTATE)
