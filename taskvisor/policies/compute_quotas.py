"""Keypairs, quota sets, quota classes, limits, server groups and flavor
access: Nova's rule names and defaults."""
from taskvisor.policies.base import (ADMIN_API, PROJECT_MEMBER_OR_ADMIN as MEMBER, PROJECT_READER_OR_ADMIN as READER,
                                     op)

C = "/compute/v2.1"
ANY = "@"
OWN_KEYS = "(rule:context_is_admin) or user_id:%(user_id)s"
ADMIN = "rule:context_is_admin"
KP, KP1 = f"{C}/os-keypairs", f"{C}/os-keypairs/{{keypair_name}}"
QS = f"{C}/os-quota-sets/{{tenant_id}}"
QC = f"{C}/os-quota-class-sets/{{quota_class}}"
SG, SG1 = f"{C}/os-server-groups", f"{C}/os-server-groups/{{server_group_id}}"
FA = f"{C}/flavors/{{flavor_id}}"

rules = [
    op("os_compute_api:os-keypairs:index", OWN_KEYS, "List all keypairs", "GET", KP),
    op("os_compute_api:os-keypairs:create", OWN_KEYS, "Create a keypair", "POST", KP),
    op("os_compute_api:os-keypairs:show", OWN_KEYS, "Show details of a keypair", "GET", KP1),
    op("os_compute_api:os-keypairs:delete", OWN_KEYS, "Delete a keypair", "DELETE", KP1),
    op("os_compute_api:os-quota-sets:show", READER, "Show a quota", "GET", QS),
    op("os_compute_api:os-quota-sets:detail", READER, "Show the detail of quota", "GET", f"{QS}/detail"),
    op("os_compute_api:os-quota-sets:defaults", ANY, "List default quotas", "GET", f"{QS}/defaults"),
    op("os_compute_api:os-quota-sets:update", ADMIN, "Update the quotas", "PUT", QS),
    op("os_compute_api:os-quota-sets:delete", ADMIN, "Revert quotas to defaults", "DELETE", QS),
    op("os_compute_api:os-quota-class-sets:show", ADMIN, "List quotas for specific quota classs", "GET", QC),
    op("os_compute_api:os-quota-class-sets:update", ADMIN, "Update quotas for specific quota class", "PUT", QC),
    op("os_compute_api:limits", ANY, "Show rate and absolute limits for the current user project", "GET",
       f"{C}/limits"),
    op("os_compute_api:limits:other_project", ADMIN, "Show rate and absolute limits of another project", "GET",
       f"{C}/limits"),
    op("os_compute_api:os-server-groups:create", MEMBER, "Create a new server group", "POST", SG),
    op("os_compute_api:os-server-groups:delete", MEMBER, "Delete a server group", "DELETE", SG1),
    op("os_compute_api:os-server-groups:index", READER, "List all server groups", "GET", SG),
    op("os_compute_api:os-server-groups:index:all_projects", ADMIN, "List all server groups for all projects",
       "GET", SG),
    op("os_compute_api:os-server-groups:show", READER, "Show details of a server group", "GET", SG1),
    op("os_compute_api:os-flavor-access", ADMIN_API, "List flavor access information", "GET",
       f"{FA}/os-flavor-access"),
    op("os_compute_api:os-flavor-access:add_tenant_access", ADMIN, "Add flavor access to a tenant", "POST",
       f"{FA}/action"),
    op("os_compute_api:os-flavor-access:remove_tenant_access", ADMIN, "Remove flavor access from a tenant", "POST",
       f"{FA}/action"),
]
