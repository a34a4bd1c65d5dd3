"""How servers and flavors look in Nova's API, microversion by microversion."""
from __future__ import annotations

import functools
import hashlib

from sqlalchemy import select
from sqlalchemy.engine import Connection

from taskvisor.api.policy import allowed
from taskvisor.api.context import RequestContext
from taskvisor.db.models import tasks
from taskvisor.states import server as states


def iso(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # what the database gives; isoformat is ~5x cheaper than strftime
        return value.isoformat(timespec="seconds") + "Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_usec(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat(timespec="microseconds")
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(base: str, kind: str, ident: str) -> list[dict]:
    return [{"rel": "self", "href": f"{base}/compute/v2.1/{kind}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/compute/{kind}/{ident}"}]


@functools.lru_cache(maxsize=4096)
def host_id(project_id: str, host: str | None) -> str:
    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


def last_fault(conn: Connection, server_id: str, is_admin: bool) -> dict | None:
    """A server's fault is its last failed task's error."""
    row = conn.execute(select(tasks.c.error, tasks.c.error_traceback, tasks.c.finished_at)
                       .where(tasks.c.resource_id == server_id, tasks.c.status.in_(("failed", "reverted")))
                       .order_by(tasks.c.created_ts.desc()).limit(1)).first()
    if row is None or not row.error:
        return None
    code = int(row.error.get("code", 500))
    fault = {"code": code, "created": iso(row.finished_at), "message": row.error.get("message", "")}
    if is_admin or code != 500:
        fault["details"] = row.error_traceback or row.error.get("message", "")
    return fault


def flavor_embed(server: dict, ctx: RequestContext, base: str, full: bool | None = None) -> dict:
    flavor = server["flavor"]
    if not (ctx.at_least("2.47") if full is None else full):
        return {"id": flavor["id"], "links": [{"rel": "bookmark", "href": f"{base}/compute/flavors/{flavor['id']}"}]}
    out = {"vcpus": flavor["vcpus"], "ram": flavor["ram"], "disk": flavor["disk"],
           "ephemeral": flavor.get("ephemeral", 0), "swap": flavor.get("swap", 0),
           "original_name": flavor["name"]}
    out["extra_specs"] = flavor.get("extra_specs") or {}  # Nova's default policy: anyone may read them
    return out


def server_brief(server: dict, base: str) -> dict:
    return {"id": server["id"], "name": server["name"], "links": links(base, "servers", server["id"])}


# the microversions that change the detailed view, asked once per list (not per server)
_DETAIL_VERSIONS = ("2.3", "2.9", "2.19", "2.26", "2.47", "2.63", "2.73", "2.96", "2.100")


def detail_versions(ctx: RequestContext) -> tuple[bool, ...]:
    return tuple(ctx.at_least(v) for v in _DETAIL_VERSIONS)


_RUNNING = frozenset(("BUILD", "ACTIVE", "RESIZE", "VERIFY_RESIZE"))  # statuses that show progress


def server_detail(server: dict, ctx: RequestContext, base: str, fault: dict | None = None,
                  check=None, versions: tuple[bool, ...] | None = None) -> dict:
    """``check`` (``policy.memo_allowed(ctx)``) and ``versions``
    (``detail_versions(ctx)``): given when rendering many servers."""
    v2_3, v2_9, v2_19, v2_26, v2_47, v2_63, v2_73, v2_96, v2_100 = versions or detail_versions(ctx)
    server_id, project_id, image_id = server["id"], server["project_id"], server["image_id"]
    system_metadata = server["system_metadata"] or {}
    status = states.status(server["vm_state"], server["task_state"])
    out = {
        "id": server_id, "name": server["name"], "status": status,
        "tenant_id": project_id, "user_id": server["user_id"],
        "metadata": server["metadata"] or {}, "hostId": host_id(project_id, server["host"]),
        "image": ({"id": image_id, "links": [{"rel": "bookmark", "href": f"{base}/compute/images/{image_id}"}]}
                  if image_id else ""),
        "flavor": flavor_embed(server, ctx, base, v2_47),
        "created": iso(server["created_at"]), "updated": iso(server["updated_at"]),
        "addresses": server["addresses"] or {}, "accessIPv4": server.get("access_ip_v4") or "",
        "accessIPv6": server.get("access_ip_v6") or "",
        "links": [{"rel": "self", "href": f"{base}/compute/v2.1/servers/{server_id}"},
                  {"rel": "bookmark", "href": f"{base}/compute/servers/{server_id}"}],
        "OS-DCF:diskConfig": system_metadata.get("disk_config") or "MANUAL",
        "OS-EXT-AZ:availability_zone": server["availability_zone"] or "nova",
        "config_drive": "", "key_name": server["key_name"],
        "OS-SRV-USG:launched_at": iso_usec(server["launched_at"]),
        "OS-SRV-USG:terminated_at": iso_usec(server["terminated_at"]),
        "OS-EXT-STS:task_state": server["task_state"], "OS-EXT-STS:vm_state": server["vm_state"],
        "OS-EXT-STS:power_state": server["power_state"],
        "os-extended-volumes:volumes_attached": [],
    }
    groups = system_metadata.get("security_groups", ["default"])
    if groups:  # Nova omits the key for a server without any
        out["security_groups"] = [{"name": g} for g in groups]
    if status in _RUNNING:
        out["progress"] = server["progress"]
    extended = (check or functools.partial(allowed, ctx))(
        "os_compute_api:os-extended-server-attributes", {"project_id": project_id, "user_id": server["user_id"]})
    if extended:
        out["OS-EXT-SRV-ATTR:host"] = server["host"]
        out["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server["node"]
        out["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{server_id[:8]}"
        if v2_3:
            out.update({"OS-EXT-SRV-ATTR:reservation_id": f"r-{server_id[:8]}", "OS-EXT-SRV-ATTR:launch_index": 0,
                        "OS-EXT-SRV-ATTR:hostname": server["name"], "OS-EXT-SRV-ATTR:kernel_id": "",
                        "OS-EXT-SRV-ATTR:ramdisk_id": "", "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                        "OS-EXT-SRV-ATTR:user_data": None})
    if v2_9:
        out["locked"] = bool(server.get("locked_by"))
    if v2_19:
        out["description"] = system_metadata.get("description")
    if v2_26:
        out["tags"] = server.get("tags") or []  # the caller loads them (server_tags.attach)
    if v2_63:
        out["trusted_image_certificates"] = None
    if v2_73:
        out["locked_reason"] = server.get("locked_reason")
    if v2_96:
        out["pinned_availability_zone"] = None
    if v2_100:
        out["scheduler_hints"] = {}
    if fault is not None and server["vm_state"] in (states.ERROR, states.DELETED):
        out["fault"] = fault
    return out


def flavor_view(flavor: dict, ctx: RequestContext, base: str, detail: bool = True) -> dict:
    out = {"id": flavor["id"], "name": flavor["name"], "links": links(base, "flavors", flavor["id"])}
    if ctx.at_least("2.55"):
        out["description"] = flavor["description"]
    if not detail:
        return out
    out.update({"ram": flavor["ram"], "vcpus": flavor["vcpus"], "disk": flavor["disk"],
                "OS-FLV-EXT-DATA:ephemeral": flavor["ephemeral"],
                "swap": flavor["swap"] if flavor["swap"] or ctx.at_least("2.75") else "",
                "rxtx_factor": flavor["rxtx_factor"], "OS-FLV-DISABLED:disabled": False,
                "os-flavor-access:is_public": flavor["is_public"]})
    if ctx.at_least("2.61"):
        out["extra_specs"] = flavor["extra_specs"] or {}
    return out


def flavor_snapshot(flavor: dict) -> dict:
    """What a server keeps of its flavor (the flavor may be deleted later)."""
    return {k: flavor[k] for k in ("id", "name", "vcpus", "ram", "disk", "ephemeral", "swap", "extra_specs")}
