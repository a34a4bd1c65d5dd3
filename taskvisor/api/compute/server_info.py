"""What a server has, read without a task: its addresses (/ips), its
diagnostics (admin) and its encrypted admin password (os-server-password).
Without Neutron a server's addresses are the ones its boot recorded."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select, update

from taskvisor.api.compute.submit import get_server, target_of
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.responses import JsonResponse
from taskvisor.db.models import servers
from taskvisor.db.session import utcnow
from taskvisor.states import power

router = APIRouter(prefix="/compute/v2.1")
S = "/servers/{server_id}"


def _server(request: Request, ctx: RequestContext, server_id: str, rule: str) -> dict:
    with request.app.state.tv.db.read() as conn:
        server = get_server(conn, ctx, server_id)
    authorize(ctx, rule, target_of(server))
    return server


@router.get(S + "/ips")
def list_ips(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    server = _server(request, ctx, server_id, "os_compute_api:ips:index")
    return JsonResponse({"addresses": server["addresses"] or {}})


@router.get(S + "/ips/{network_label}")
def show_ips(server_id: str, network_label: str, request: Request, ctx: RequestContext = Depends(get_context)):
    addresses = _server(request, ctx, server_id, "os_compute_api:ips:show")["addresses"] or {}
    if network_label not in addresses:
        raise NotFound("Instance is not a member of specified network")
    return JsonResponse({network_label: addresses[network_label]})


# Nova's diagnostics state names, by power state
_STATE = {power.NOSTATE: "pending", power.RUNNING: "running", power.PAUSED: "paused", power.SHUTDOWN: "shutdown",
          power.CRASHED: "crashed", power.SUSPENDED: "suspended"}


@router.get(S + "/diagnostics")
def show_diagnostics(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    """From what the control plane records of the guest (its flavor and power
    state): the guest's own counters are not collected, so they are null."""
    server = _server(request, ctx, server_id, "os_compute_api:os-server-diagnostics")
    if not server["host"]:
        raise Conflict(f"Instance {server_id} is not ready")
    flavor = server["flavor"]
    if not ctx.at_least("2.48"):  # before 2.48 the shape was the driver's own
        return JsonResponse({"cpu0_time": 0, "memory": flavor["ram"] * 1024,
                             "vda_read": 0, "vda_write": 0})
    disks = 1 + (1 if flavor.get("ephemeral") else 0) + (1 if flavor.get("swap") else 0)
    return JsonResponse({
        "state": _STATE.get(server["power_state"], "pending"), "driver": "libvirt",
        "hypervisor": "kvm", "hypervisor_os": "linux", "uptime": None, "config_drive": False,
        "num_cpus": flavor["vcpus"], "num_nics": len(server["addresses"] or {}), "num_disks": disks,
        "memory_details": {"maximum": flavor["ram"], "used": None},
        "cpu_details": [{"id": i, "time": None, "utilisation": None} for i in range(flavor["vcpus"])],
        "nic_details": [], "disk_details": [{"read_bytes": None, "read_requests": None, "write_bytes": None,
                                             "write_requests": None, "errors_count": None}
                                            for _ in range(disks)],
    })


@router.get(S + "/os-server-password")
def show_password(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    server = _server(request, ctx, server_id, "os_compute_api:os-server-password:show")
    return JsonResponse({"password": (server["system_metadata"] or {}).get("password") or ""})


@router.delete(S + "/os-server-password", status_code=204)
def clear_password(server_id: str, request: Request, ctx: RequestContext = Depends(get_context)):
    _server(request, ctx, server_id, "os_compute_api:os-server-password:clear")
    with request.app.state.tv.db.write() as conn:  # re-read under the write: a flow may change system_metadata
        row = conn.execute(select(servers.c.system_metadata).where(servers.c.id == server_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"Instance {server_id} could not be found.")
        system_metadata = {**(row.system_metadata or {}), "password": ""}
        conn.execute(update(servers).where(servers.c.id == server_id).values(system_metadata=system_metadata,
                                                                              updated_at=utcnow()))
    return Response(status_code=204)
