"""Bare-metal ports and port groups: Ironic's rule names and defaults. The
node a port or port group belongs to decides access (targets carry its
``node.owner`` and ``node.lessee``), as in Ironic; plus Ironic's rule for
changing a node's chassis."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op

# Ironic's personas for ports and port groups: the owner project's admin or manager
OWNER_MANAGER = "role:manager and project_id:%(node.owner)s"
SYSTEM_ADMIN_OR_OWNER_ADMIN = f"({b.SYSTEM_ADMIN}) or ({b.OWNER_ADMIN}) or ({OWNER_MANAGER})"
SYSTEM_MEMBER_OR_OWNER_ADMIN = f"{b.SYSTEM_MEMBER_OR_OWNER_ADMIN} or ({OWNER_MANAGER})"


def op(*args):
    return _op(*args, scope_types=["system", "project"])


P = "/baremetal/v1/ports"
PG = "/baremetal/v1/portgroups"
N = "/baremetal/v1/nodes/{node_ident}"

rules = [
    op("baremetal:port:get", b.SYSTEM_OR_PROJECT_READER, "Show a port, or list a node's or port group's ports",
       "GET", f"{P}/{{port_id}}|{N}/ports|{N}/ports/detail|{PG}/{{portgroup_ident}}/ports|"
              f"{PG}/{{portgroup_ident}}/ports/detail"),
    op("baremetal:port:list", b.API_READER, "List the ports of the nodes one's project owns or leases", "GET",
       f"{P}|{P}/detail"),
    op("baremetal:port:list_all", b.SYSTEM_READER, "List every port", "GET", f"{P}|{P}/detail"),
    op("baremetal:port:create", SYSTEM_ADMIN_OR_OWNER_ADMIN, "Create a port", "POST", P),
    op("baremetal:port:update", SYSTEM_MEMBER_OR_OWNER_ADMIN, "Update a port", "PATCH", f"{P}/{{port_id}}"),
    op("baremetal:port:delete", SYSTEM_ADMIN_OR_OWNER_ADMIN, "Delete a port", "DELETE", f"{P}/{{port_id}}"),
    op("baremetal:portgroup:get", b.SYSTEM_OR_PROJECT_READER, "Show a port group, or list a node's port groups",
       "GET", f"{PG}/{{portgroup_ident}}|{N}/portgroups|{N}/portgroups/detail"),
    op("baremetal:portgroup:list", b.API_READER, "List the port groups of the nodes one's project owns or leases",
       "GET", f"{PG}|{PG}/detail"),
    op("baremetal:portgroup:list_all", b.SYSTEM_READER, "List every port group", "GET", f"{PG}|{PG}/detail"),
    op("baremetal:portgroup:create", SYSTEM_ADMIN_OR_OWNER_ADMIN, "Create a port group", "POST", PG),
    op("baremetal:portgroup:update", SYSTEM_MEMBER_OR_OWNER_ADMIN, "Update a port group", "PATCH",
       f"{PG}/{{portgroup_ident}}"),
    op("baremetal:portgroup:delete", SYSTEM_ADMIN_OR_OWNER_ADMIN, "Delete a port group", "DELETE",
       f"{PG}/{{portgroup_ident}}"),
    op("baremetal:node:update:chassis_uuid", b.SYSTEM_ADMIN, "Change a node's chassis_uuid", "PATCH", N),
]
