"""Bare-metal volume connectors and targets, node VIFs and inspection rules:
Ironic's rule names and secure-RBAC defaults. A connector's or target's node
decides access (targets carry its ``node.owner`` and ``node.lessee``), as for
ports; inspection rules are the system's."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op

OWNER_MANAGER = "role:manager and project_id:%(node.owner)s"
LESSEE_MANAGER = "role:manager and project_id:%(node.lessee)s"
# Ironic's SYSTEM_MEMBER_OR_OWNER_LESSEE_ADMIN: creating or deleting a volume record
SYSTEM_MEMBER_OR_OWNER_LESSEE_ADMIN = (f"({b.SYSTEM_MEMBER}) or ({b.OWNER_ADMIN}) or ({OWNER_MANAGER}) or "
                                       f"({b.LESSEE_ADMIN}) or ({LESSEE_MANAGER})")
OWNER_MEMBER_OR_LESSEE_ADMIN = f"{b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN} or ({LESSEE_MANAGER})"
# Ironic's TARGET_PROPERTIES_READER: a target's properties may hold iSCSI credentials
TARGET_PROPERTIES_READER = f"({b.SYSTEM_READER}) or (role:admin)"


def op(*args):
    return _op(*args, scope_types=["system", "project"])


V = "/baremetal/v1/volume"
N = "/baremetal/v1/nodes/{node_ident}"
C, T = f"{V}/connectors", f"{V}/targets"
R = "/baremetal/v1/inspection_rules"

rules = [
    op("baremetal:volume:list_all", b.SYSTEM_READER, "List every volume connector or target", "GET", f"{C}|{T}"),
    op("baremetal:volume:list", b.API_READER,
       "List the volume connectors or targets of the nodes one's project owns or leases", "GET",
       f"{C}|{T}|{N}/volume/connectors|{N}/volume/targets"),
    op("baremetal:volume:get", b.SYSTEM_OR_PROJECT_READER, "Show a volume connector or target, or the volume "
       "resource's links", "GET", f"{V}|{N}/volume|{C}/{{connector_id}}|{T}/{{target_id}}"),
    op("baremetal:volume:create", SYSTEM_MEMBER_OR_OWNER_LESSEE_ADMIN, "Create a volume connector or target",
       "POST", f"{C}|{T}"),
    op("baremetal:volume:update", OWNER_MEMBER_OR_LESSEE_ADMIN, "Update a volume connector or target", "PATCH",
       f"{C}/{{connector_id}}|{T}/{{target_id}}"),
    op("baremetal:volume:delete", SYSTEM_MEMBER_OR_OWNER_LESSEE_ADMIN, "Delete a volume connector or target",
       "DELETE", f"{C}/{{connector_id}}|{T}/{{target_id}}"),
    op("baremetal:volume:view_target_properties", TARGET_PROPERTIES_READER,
       "See a volume target's properties (others see them redacted)", "GET", f"{T}|{T}/{{target_id}}"),
    op("baremetal:node:vif:list", b.SYSTEM_OR_PROJECT_READER, "List the VIFs attached to a node", "GET",
       f"{N}/vifs"),
    op("baremetal:node:vif:attach", OWNER_MEMBER_OR_LESSEE_ADMIN, "Attach a VIF to a node", "POST", f"{N}/vifs"),
    op("baremetal:node:vif:detach", OWNER_MEMBER_OR_LESSEE_ADMIN, "Detach a VIF from a node", "DELETE",
       f"{N}/vifs/{{vif_id}}"),
    op("baremetal:inspection_rule:get", b.SYSTEM_READER, "Show or list inspection rules", "GET",
       f"{R}|{R}/{{rule_id}}"),
    op("baremetal:inspection_rule:list_all", b.SYSTEM_READER, "List every inspection rule", "GET", R),
    op("baremetal:inspection_rule:create", b.SYSTEM_ADMIN, "Create an inspection rule", "POST", R),
    op("baremetal:inspection_rule:update", b.SYSTEM_ADMIN, "Update an inspection rule", "PATCH", f"{R}/{{rule_id}}"),
    op("baremetal:inspection_rule:delete", b.SYSTEM_ADMIN, "Delete an inspection rule", "DELETE",
       f"{R}/{{rule_id}}"),
]
