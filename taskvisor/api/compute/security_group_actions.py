"""addSecurityGroup and removeSecurityGroup: without Neutron a server's
security groups are names on its record (system_metadata), and "default"
is the only group there is. A server without groups shows none (Nova then
omits ``security_groups``)."""
from __future__ import annotations

from fastapi import Response
from sqlalchemy import select, update

from taskvisor.api.compute.actions import _body, _inner
from taskvisor.api.errors import BadRequest, NotFound
from taskvisor.db.models import servers
from taskvisor.db.session import utcnow

GROUP = _inner({"name": {"type": "string", "minLength": 1, "maxLength": 255}}, required=["name"], nullable=False)
KNOWN = ("default",)


def groups_of(server: dict) -> list[str]:
    return list((server.get("system_metadata") or {}).get("security_groups", ["default"]))


def _change(request, server_id: str, change) -> None:
    with request.app.state.tv.db.write() as conn:  # the row re-read under the write: flows change system_metadata
        row = conn.execute(select(servers.c.system_metadata).where(servers.c.id == server_id)
                           .with_for_update()).first()
        if row is None:
            raise NotFound(f"Instance {server_id} could not be found.")
        system_metadata = dict(row.system_metadata or {})
        system_metadata["security_groups"] = change(groups_of({"system_metadata": system_metadata}))
        conn.execute(update(servers).where(servers.c.id == server_id).values(system_metadata=system_metadata,
                                                                              updated_at=utcnow()))


def add_security_group(request, ctx, server_id, body):
    name = _body(body, "addSecurityGroup", GROUP)["name"]
    if name not in KNOWN:
        raise NotFound(f"Security group {name} not found.")

    def add(groups: list[str]) -> list[str]:
        if name in groups:
            raise BadRequest(f"Security group {name} is already associated with the instance {server_id}")
        return [*groups, name]
    _change(request, server_id, add)
    return Response(status_code=202)


def remove_security_group(request, ctx, server_id, body):
    name = _body(body, "removeSecurityGroup", GROUP)["name"]

    def remove(groups: list[str]) -> list[str]:
        if name not in groups:
            raise BadRequest(f"Security group {name} not associated with the instance {server_id}")
        return [g for g in groups if g != name]
    _change(request, server_id, remove)
    return Response(status_code=202)


HANDLERS = {"addSecurityGroup": add_security_group, "removeSecurityGroup": remove_security_group}
INNER = {"addSecurityGroup": GROUP, "removeSecurityGroup": GROUP}
RULES = {"addSecurityGroup": "os_compute_api:os-security-groups:add",
         "removeSecurityGroup": "os_compute_api:os-security-groups:remove"}
