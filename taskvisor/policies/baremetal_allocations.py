"""Bare-metal node traits and allocations: Ironic's rule names and
secure-RBAC defaults. Allocation targets carry ``allocation.owner`` (the
project the allocation was made for; NO_PROJECT when unset)."""
from taskvisor.policies import base as b
from taskvisor.policies.base import op as _op


def op(*args):
    return _op(*args, scope_types=["system", "project"])


N = "/baremetal/v1/nodes/{node_ident}"
A = "/baremetal/v1/allocations"
ONE = f"{A}/{{allocation_id}}"
ALLOCATION_OWNER_MEMBER = "role:member and project_id:%(allocation.owner)s"
ALLOCATION_OWNER_READER = "role:reader and project_id:%(allocation.owner)s"
ALLOCATION_MEMBER = f"({b.SYSTEM_MEMBER}) or ({ALLOCATION_OWNER_MEMBER})"
ALLOCATION_READER = f"({b.SYSTEM_READER}) or ({ALLOCATION_OWNER_READER})"
ALLOCATION_CREATOR = f"({b.SYSTEM_MEMBER}) or (role:member)"

rules = [
    op("baremetal:node:traits:list", b.SYSTEM_OR_PROJECT_READER, "List node traits", "GET", f"{N}/traits"),
    op("baremetal:node:traits:set", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Add a trait to, or replace all traits of, "
       "a node", "PUT", f"{N}/traits|{N}/traits/{{trait}}"),
    op("baremetal:node:traits:delete", b.SYSTEM_MEMBER_OR_OWNER_ADMIN, "Remove one or all traits from a node",
       "DELETE", f"{N}/traits|{N}/traits/{{trait}}"),
    op("baremetal:allocation:get", ALLOCATION_READER, "Retrieve Allocation records", "GET",
       f"{ONE}|{N}/allocation"),
    op("baremetal:allocation:list", b.API_READER, "Retrieve multiple Allocation records, filtered by owner",
       "GET", A),
    op("baremetal:allocation:list_all", b.SYSTEM_READER, "Retrieve multiple Allocation records", "GET", A),
    op("baremetal:allocation:create", ALLOCATION_CREATOR, "Create Allocation records", "POST", A),
    op("baremetal:allocation:create_restricted", b.SYSTEM_MEMBER,
       "Create Allocation records with a specific owner", "POST", A),
    op("baremetal:allocation:delete", ALLOCATION_MEMBER, "Delete Allocation records", "DELETE",
       f"{ONE}|{N}/allocation"),
    op("baremetal:allocation:update", ALLOCATION_MEMBER, "Change name and extra fields of an allocation", "PATCH",
       ONE),
]
