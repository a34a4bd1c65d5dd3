"""Delete a server: shut the guest down cleanly (Nova does not; we do),
destroy it, release its address, and mark the server deleted.

A server whose compute is down is deleted locally (as Nova does): the
steps that need the host are skipped and say so, and the compute destroys
the leftover guest when it reports its guests again after coming back.
A step that is retrying against a host that just died re-checks the
service each attempt, so it turns into a local delete once the host is
marked down instead of failing the delete."""
from __future__ import annotations

import time

from taskvisor import servicegroup
from taskvisor.flows.common import shutdown_args, utcnow
from taskvisor.rpc.base import RemoteError, RpcTimeout
from taskvisor.states import power
from taskvisor.states import server as states
from taskvisor.tasks.flow import Flow

flow = Flow("delete", version=1, action="delete")


# A host that answered the previous step this recently is taken to be up
# without reading its service row again (a report is no better evidence than
# an answer; if it died since, the call times out and _call_host re-checks).
ANSWERED_WITHIN = 5.0


def _skip_host(ctx, recheck: bool = False) -> dict | None:
    """Why this step has nothing to do on the server's host, if so
    (``recheck``: the host just failed to answer; read its service row)."""
    host = ctx.server.get("host")
    if not host:
        return {"skipped": True, "reason": "never placed on a host"}
    if not ctx.store.get("local_delete"):  # once local, every later step is too
        if not recheck and time.time() - ctx.store.get("answered_at", 0) < ANSWERED_WITHIN:
            return None
        if servicegroup.compute_is_up(ctx.runtime.db, host, ctx.conf):
            return None
    ctx.store["local_delete"] = host
    return {"skipped": True, "local_delete": True,
            "reason": f"compute {host} is down: deleted locally; its guest is destroyed when it returns"}


def _call_host(ctx, method: str, **args) -> dict:
    """Call the server's compute; if it stopped answering and is now down,
    fall back to a local delete instead of failing."""
    try:
        result = ctx.compute(ctx.server["host"]).call(method, server_id=ctx.server["id"], **args)
        ctx.store["answered_at"] = time.time()
        return result
    except RpcTimeout:
        skip = _skip_host(ctx, recheck=True)
        if skip:
            return skip
        raise


@flow.step
def power_off(ctx):
    skip = _skip_host(ctx)
    if skip:
        return skip
    try:
        return _call_host(ctx, "power_off", **shutdown_args(ctx))
    except RemoteError as exc:
        ctx.store["answered_at"] = time.time()  # an error is an answer too
        if exc.type == "GuestNotFound":
            return {"shutdown": "already-off", "reason": "no guest on the host"}
        raise


@flow.step
def destroy(ctx):
    return _skip_host(ctx) or _call_host(ctx, "destroy")


@flow.step
def release_network(ctx):
    ctx.update(addresses={})


@flow.on_success
def deleted(ctx):
    now = utcnow()
    ctx.update(vm_state=states.DELETED, task_state=None, power_state=power.NOSTATE, deleted=True,
               deleted_at=now, terminated_at=now)


@flow.on_failure
def error(ctx, err):
    ctx.update(vm_state=states.ERROR, task_state=None)
