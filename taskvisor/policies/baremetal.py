"""Bare-metal nodes: Ironic's rule names and secure-RBAC defaults, with the
node's owner and lessee projects (targets carry ``node.owner`` and
``node.lessee``)."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op


def op(*args):
    """Ironic's node rules accept system- and project-scoped tokens."""
    return _op(*args, scope_types=["system", "project"])

N = "/baremetal/v1/nodes"
ONE = f"{N}/{{node_ident}}"

rules = [
    op("baremetal:node:create", b.SYSTEM_MEMBER, "Create a node", "POST", N),
    op("baremetal:node:create:self_owned_node", "role:admin",
       "Create a node owned by one's own project (a project admin)", "POST", N),
    op("baremetal:node:list", b.API_READER, "List the nodes one may see (owner or lessee)", "GET",
       f"{N}|{N}/detail"),
    op("baremetal:node:list_all", b.SYSTEM_READER, "List every node", "GET", f"{N}|{N}/detail"),
    op("baremetal:node:get", b.SYSTEM_OR_PROJECT_READER, "Show a node", "GET", ONE),
    op("baremetal:node:get:driver_info", b.SYSTEM_OR_OWNER_READER,
       "Show a node's driver_info (secrets still masked for all but admins)", "GET", ONE),
    op("baremetal:node:get:driver_internal_info", b.SYSTEM_OR_OWNER_READER,
       "Show a node's driver_internal_info", "GET", ONE),
    op("baremetal:node:get:last_error", b.SYSTEM_OR_OWNER_READER, "Show a node's last_error", "GET", ONE),
    op("baremetal:node:get:reservation", b.SYSTEM_OR_OWNER_READER, "Show which conductor holds a node",
       "GET", ONE),
    op("show_password", "!", "Show driver_info secrets (passwords, keys) in clear. Ironic's default, "
       "kept: nobody; no secret is ever returned unless a policy file allows it", "GET", ONE),
    op("baremetal:node:get_states", b.SYSTEM_OR_PROJECT_READER, "Show a node's states", "GET", f"{ONE}/states"),
    op("baremetal:node:update", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, "Update a node (any field)",
       "PATCH", ONE),
    op("baremetal:node:update:driver_info", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Update driver_info", "PATCH", ONE),
    op("baremetal:node:update:properties", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Update properties", "PATCH", ONE),
    op("baremetal:node:update:driver_interfaces", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Update the driver",
       "PATCH", ONE),
    op("baremetal:node:update:resource_class", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Update resource_class",
       "PATCH", ONE),
    op("baremetal:node:update:automated_clean", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Update automated_clean",
       "PATCH", ONE),
    op("baremetal:node:update:name", b.SYSTEM_MEMBER_OR_OWNER_MEMBER, "Update a node's name", "PATCH", ONE),
    op("baremetal:node:update:lessee", b.SYSTEM_MEMBER_OR_OWNER_MEMBER, "Update a node's lessee", "PATCH", ONE),
    op("baremetal:node:update:owner", b.SYSTEM_MEMBER, "Update a node's owner", "PATCH", ONE),
    op("baremetal:node:update:maintenance", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN,
       "Update the maintenance flag by PATCH", "PATCH", ONE),
    op("baremetal:node:update_extra", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, "Update extra", "PATCH", ONE),
    op("baremetal:node:update_instance_info", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, "Update instance_info",
       "PATCH", ONE),
    op("baremetal:node:update:instance_uuid", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN,
       "Update instance_uuid", "PATCH", ONE),
    op("baremetal:node:delete", b.SYSTEM_ADMIN, "Delete a node", "DELETE", ONE),
    op("baremetal:node:set_provision_state", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN,
       "Change a node's provision state (manage, provide, clean, deploy, ...)", "PUT",
       f"{ONE}/states/provision"),
    op("baremetal:node:set_power_state", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, "Change a node's power state",
       "PUT", f"{ONE}/states/power"),
    op("baremetal:node:set_maintenance", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, "Put a node in maintenance",
       "PUT", f"{ONE}/maintenance"),
    op("baremetal:node:clear_maintenance", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN,
       "Take a node out of maintenance", "DELETE", f"{ONE}/maintenance"),
    op("baremetal:node:get_cleaning_steps", b.SYSTEM_OR_OWNER_READER, "Show a node's clean steps", "GET",
       f"{ONE}/cleaning/steps"),
    op("baremetal:node:tasks:list", b.SYSTEM_OR_OWNER_READER, "List a node's tasks", "GET", f"{ONE}/tasks"),
    op("baremetal:node:tasks:show", b.SYSTEM_OR_OWNER_READER, "Show one of a node's tasks", "GET",
       f"{ONE}/tasks/{{task_id}}"),
    op("baremetal:node:validate", b.SYSTEM_OR_OWNER_MEMBER_AND_LESSEE_ADMIN, "Validate a node's driver interfaces",
       "GET", f"{ONE}/validate"),
    op("baremetal:node:get_boot_device", b.SYSTEM_MEMBER_OR_OWNER_ADMIN,
       "Show a node's boot device and the boot devices it supports", "GET",
       f"{ONE}/management/boot_device|{ONE}/management/boot_device/supported"),
    op("baremetal:node:set_boot_device", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Set a node's boot device", "PUT",
       f"{ONE}/management/boot_device"),
]
