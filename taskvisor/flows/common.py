"""Helpers shared by server flows."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select

from taskvisor import servicegroup
from taskvisor.db import direct
from taskvisor.db.models import images
from taskvisor.db.session import utcnow  # noqa: F401  (flows stamp times with it)
from taskvisor.scheduler.hosts import select_host

_IMAGE = select(images).where(images.c.id == bindparam("image_id"))


def shutdown_args(ctx: Any) -> dict:
    """Clean-shutdown parameters for this server (architecture.md §5): the image's
    os_shutdown_timeout, else [DEFAULT] shutdown_timeout; force on request."""
    props = ctx.server.get("image_properties") or {}
    timeout = props.get("os_shutdown_timeout")
    timeout = int(timeout) if timeout not in (None, "") else ctx.conf.DEFAULT.shutdown_timeout
    # The call takes as long as the guest may take to shut down; wait that
    # long for its answer, plus the usual RPC allowance.
    return {"timeout": timeout, "retry_interval": ctx.conf.compute.shutdown_retry_interval,
            "force": bool(ctx.params.get("force", False)),
            "rpc_timeout": timeout + float(ctx.conf.DEFAULT.rpc_response_timeout)}


def image_for(ctx: Any, image_id: str | None) -> dict:
    """The image as the compute needs it; the server keeps a copy of the
    properties, so a deleted image still boots its servers' rebuilds."""
    row = None
    if image_id:
        with ctx.runtime.db.read() as conn:
            row = direct.mapping(conn, _IMAGE, {"image_id": image_id})
    if row is None:
        return {"id": image_id, "properties": ctx.server.get("image_properties") or {}}
    return {"id": row["id"], "name": row["name"], "min_disk": row["min_disk"], "min_ram": row["min_ram"],
            "properties": row["properties"]}


def guest_spec(server: dict) -> dict:
    """What a compute is told about a server (never the whole row)."""
    spec = {"id": server["id"], "name": server["name"], "project_id": server["project_id"],
            "metadata": server.get("metadata") or {}}
    key_data = (server.get("system_metadata") or {}).get("key_data")
    if key_data:  # the keypair named at create, as Nova's metadata service offers it (public-keys)
        spec["public_keys"] = {server.get("key_name") or "key": key_data}
    return spec


# -- server actions ------------------------------------------------------------------
def source_state(ctx: Any) -> str:
    """The vm_state the action started from (the API's CAS recorded it)."""
    return ctx.params.get("source") or ctx.server["vm_state"]


def require_host(ctx: Any) -> str:
    from taskvisor.tasks.flow import StepFailed
    if not ctx.server.get("host"):
        raise StepFailed(f"Instance {ctx.server['id']} has no host (it was never built).", code=409)
    return ctx.server["host"]


def place_for_spawn(ctx: Any) -> dict:
    """Before a spawn: when the chosen host began draining (or went down)
    before it ever answered this task, place the server elsewhere rather
    than wait for it. If this task already asked it for the guest (the
    intent, ``ctx.intend``, is written before the call, so a conductor that
    died mid-call left it), have that host undo it first. Returns what it
    did, for the step's details."""
    details: dict = {}
    host = ctx.server["host"]
    if host in ctx.store.get("hosts_touched", []) or servicegroup.compute_takes_new_work(
            ctx.runtime.db, host, ctx.conf):
        return details
    if host in ctx.store.get("asked", {}):
        details["undone_on"] = _undo_spawn(ctx, host)
    new_host = select_host(ctx.runtime.db, ctx.server["flavor"], ctx.conf.DEFAULT.service_down_time,
                           exclude=(host,))
    ctx.update(host=new_host, node=new_host)
    details["rerouted"] = {"from": host, "to": new_host}
    return details


def _undo_spawn(ctx: Any, host: str) -> str:
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


def guest_power(ctx: Any) -> int | None:
    """The guest's power state on its host (NOSTATE: no guest); None when the
    host cannot tell (then nobody knows what state the guest is in)."""
    from taskvisor.states import power
    if not ctx.server.get("host"):
        return power.NOSTATE
    try:
        return ctx.compute(ctx.server["host"]).call("list_guests").get(ctx.server["id"], power.NOSTATE)
    except Exception:
        return None


def power_off_guest(ctx: Any) -> dict:
    """Clean shutdown (architecture.md §5); a paused or suspended guest cannot answer
    the power button, so it is forced off at once."""
    from taskvisor.states import power
    host = require_host(ctx)
    args = shutdown_args(ctx)
    state = ctx.compute(host).call("power_state", server_id=ctx.server["id"])["power_state"]
    if state in (power.PAUSED, power.SUSPENDED):
        args["force"] = True
    details = ctx.compute(host).call("power_off", server_id=ctx.server["id"], **args)
    if state in (power.PAUSED, power.SUSPENDED) and details.get("shutdown") == "forced":
        details["reason"] = f"guest was {power.NAMES[state]}"
    if details.get("shutdown") != "cancelled":  # a cancelled wait left the guest running
        ctx.update(power_state=power.SHUTDOWN)
    return details



def settle(action: str, look: Callable[[Any, dict], int | None] | None = None, undo_cancelled_stop: bool = False):
    """An ``on_failure`` for a server action: back to the source state when
    the guest still looks as it did (the failure did not change it), else
    ERROR. The task keeps the error; the server shows it as its fault.
    ``look(ctx, error)`` reads the power state the server now has (by
    default: ask its compute; a bare-metal server's flow frees its node and
    asks the node). ``undo_cancelled_stop``: a task cancelled in its shutdown
    wait whose guest went off anyway (the cancel came as the wait ended) was
    running when the task began, so it is powered back on."""
    from taskvisor.states import power
    from taskvisor.states import server as states

    def on_failure(ctx: Any, error: dict) -> None:
        actual = look(ctx, error) if look is not None else guest_power(ctx)
        if (undo_cancelled_stop and ctx.cancel_requested() and source_state(ctx) == states.ACTIVE
                and actual in (power.SHUTDOWN, power.CRASHED)):
            actual = ctx.compute(require_host(ctx)).call("power_on", server_id=ctx.server["id"])["power_state"]
        vm_state = states.after_failure(action, source_state(ctx), actual)
        ctx.update(vm_state=vm_state, task_state=None,
                   power_state=actual if actual is not None else power.NOSTATE)
        ctx.store["settled"] = {"vm_state": vm_state, "guest": power.NAMES.get(actual, "unknown")}
    return on_failure


def finish(ctx: Any, action: str, event: str = "done", **fields: Any) -> None:
    """Success: the machine says where the action ends."""
    from taskvisor.states import server as states
    ctx.update(vm_state=states.target(action, source_state(ctx), event), task_state=None, **fields)


def set_system_metadata(ctx: Any, **items: Any) -> None:
    """Merge into system_metadata (None removes a key)."""
    meta = dict(ctx.server.get("system_metadata") or {})
    for key, value in items.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    ctx.update(system_metadata=meta)


def delete_image(ctx: Any, image_id: str) -> bool:
    """Remove an image row and its file from the image store."""
    import os

    from sqlalchemy import delete
    with ctx.runtime.db.write() as conn:
        existed = conn.execute(delete(images).where(images.c.id == image_id)).rowcount == 1
    path = os.path.join(ctx.conf.DEFAULT.data_dir, "images", image_id)
    if os.path.exists(path):
        os.unlink(path)
    return existed
