"""Boot a server: pick a host, give it an address, build the guest."""
from __future__ import annotations

import hashlib

from taskvisor.flows.common import guest_spec, image_for, place_for_spawn, utcnow
from taskvisor.scheduler.groups import select_host_in_group
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow

flow = Flow("boot", version=1, action="create")


@flow.step(task_state="scheduling")
def schedule(ctx):
    if ctx.server.get("host"):  # chosen before a crash: keep it
        return {"host": ctx.server["host"]}
    default = ctx.conf.DEFAULT.default_availability_zone
    host, zone = select_host_in_group(ctx.runtime.db, ctx.server["id"], ctx.server["flavor"],
                                      ctx.conf.DEFAULT.service_down_time,  # its server group's policy, if any
                                      zone=ctx.server.get("availability_zone"), default_zone=default,
                                      fenced=ctx.fenced, task_id=ctx.task["id"])
    ctx.update(host=host, node=host)
    if not ctx.server.get("availability_zone") and zone != default:
        ctx.update(availability_zone=zone)  # the server shows its host's zone (none: the default one)
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
    details = place_for_spawn(ctx)
    host = ctx.server["host"]
    image = image_for(ctx, ctx.server.get("image_id"))
    ctx.intend(host, "spawn")
    result = ctx.compute(host).call("spawn", server=guest_spec(ctx.server), image=image,
                                    flavor=ctx.server["flavor"])
    ctx.update(power_state=result["power_state"])
    return {**details, "power_state": power.NAMES.get(result["power_state"])}


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
