"""Destroy a guest that a compute holds for a server the database assigns
to another host (or to none): a spawn whose answer was lost, on a host
that was down when its boot moved elsewhere. The conductor starts this
task when the compute reports its guests (at its start and periodically)
and the server has been settled elsewhere for [conductor] reconcile_grace
seconds. It runs beside the server's owner without taking the server over:
the server itself is fine; only the stray copy goes."""
from __future__ import annotations

from taskvisor.tasks.flow import Flow

flow = Flow("reap_guest", version=1, action="reap_guest", owns_resource=False)


@flow.step
def destroy_stray_guest(ctx):
    host = ctx.params["host"]
    if ctx.server.get("host") == host and not ctx.server.get("deleted"):
        return {"skipped": True, "reason": f"the server is assigned to {host} again"}
    existed = ctx.compute(host).call("destroy", server_id=ctx.server["id"])["existed"]
    return {"host": host, "existed": existed, "assigned_to": ctx.server.get("host")}
