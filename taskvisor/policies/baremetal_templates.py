"""Deploy templates and runbooks: Ironic's rule names and defaults.
A runbook target carries ``runbook.owner`` (NO_PROJECT when it has none)."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op


def op(*args):
    return _op(*args, scope_types=["system", "project"])


T = "/baremetal/v1/deploy_templates"
T_ONE = f"{T}/{{deploy_template_ident}}"
R = "/baremetal/v1/runbooks"
R_ONE = f"{R}/{{runbook_ident}}"
RUNBOOK_OWNER_MANAGER = "role:manager and project_id:%(runbook.owner)s"
RUNBOOK_OWNER_READER = "role:reader and project_id:%(runbook.owner)s"
RUNBOOK_ADMIN = f"({b.SYSTEM_MEMBER}) or ({RUNBOOK_OWNER_MANAGER}) or role:service"
RUNBOOK_READER = f"({b.SYSTEM_READER}) or ({RUNBOOK_OWNER_READER}) or role:service"
RUNBOOK_CREATOR = f"({b.SYSTEM_MEMBER}) or role:manager or role:service"

rules = [
    op("baremetal:deploy_template:get", b.SYSTEM_READER, "Retrieve Deploy Template records", "GET",
       f"{T}|{T_ONE}"),
    op("baremetal:deploy_template:create", b.SYSTEM_ADMIN, "Create Deploy Template records", "POST", T),
    op("baremetal:deploy_template:delete", b.SYSTEM_ADMIN, "Delete Deploy Template records", "DELETE", T_ONE),
    op("baremetal:deploy_template:update", b.SYSTEM_ADMIN, "Update Deploy Template records", "PATCH", T_ONE),
    op("baremetal:runbook:get", RUNBOOK_READER, "Retrieve a single runbook record", "GET", R_ONE),
    op("baremetal:runbook:list", b.API_READER,
       "Retrieve multiple runbook records, filtered by an explicit owner or the client project_id", "GET", R),
    op("baremetal:runbook:list_all", b.SYSTEM_READER, "Retrieve all runbook records", "GET", R),
    op("baremetal:runbook:create", RUNBOOK_CREATOR, "Create Runbook records", "POST", R),
    op("baremetal:runbook:delete", RUNBOOK_ADMIN, "Delete a runbook record", "DELETE", R_ONE),
    op("baremetal:runbook:update", RUNBOOK_ADMIN, "Update a runbook record", "PATCH", R_ONE),
    # Ironic's default: only a system-scoped member (a project admin gets 403)
    op("baremetal:runbook:update:public", b.SYSTEM_SCOPE_MEMBER, "Set and unset a runbook as public", "PATCH",
       f"{R_ONE}/public"),
    op("baremetal:runbook:update:owner", b.SYSTEM_MEMBER, "Set and unset the owner of a runbook", "PATCH",
       f"{R_ONE}/owner"),
    op("baremetal:runbook:use", RUNBOOK_ADMIN, "Allowed to use a runbook for node operations", "PUT",
       "/baremetal/v1/nodes/{node_ident}/states/provision"),
]
