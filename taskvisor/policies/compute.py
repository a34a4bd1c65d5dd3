"""Compute flavors, services and hypervisors: Nova's rule names and defaults."""
from taskvisor.policies.base import ADMIN_API, PROJECT_READER_OR_ADMIN as READER, op

C = "/compute/v2.1"
ANY = "@"  # Nova checks no rule on flavor reads: any authenticated user

rules = [
    op("os_compute_api:flavors:index", ANY, "List flavors", "GET", f"{C}/flavors|{C}/flavors/detail"),
    op("os_compute_api:flavors:show", ANY, "Show a flavor", "GET", f"{C}/flavors/{{flavor_id}}"),
    op("os_compute_api:os-flavor-manage:create", ADMIN_API, "Create a flavor", "POST", f"{C}/flavors"),
    op("os_compute_api:os-flavor-manage:delete", ADMIN_API, "Delete a flavor", "DELETE", f"{C}/flavors/{{flavor_id}}"),
    op("os_compute_api:os-flavor-extra-specs:index", READER, "List a flavor's extra specs", "GET",
       f"{C}/flavors/{{flavor_id}}/os-extra_specs"),
    op("os_compute_api:os-flavor-extra-specs:create", ADMIN_API, "Set a flavor's extra specs", "POST",
       f"{C}/flavors/{{flavor_id}}/os-extra_specs"),
    op("os_compute_api:os-flavor-extra-specs:delete", ADMIN_API, "Delete a flavor extra spec", "DELETE",
       f"{C}/flavors/{{flavor_id}}/os-extra_specs/{{key}}"),
    # nova-quotas: flavor description update (2.55) and single extra specs
    op("os_compute_api:os-flavor-manage:update", ADMIN_API, "Update a flavor", "PUT", f"{C}/flavors/{{flavor_id}}"),
    op("os_compute_api:os-flavor-extra-specs:show", READER, "Show an extra spec for a flavor", "GET",
       f"{C}/flavors/{{flavor_id}}/os-extra_specs/{{flavor_extra_spec_key}}"),
    op("os_compute_api:os-flavor-extra-specs:update", ADMIN_API, "Update an extra spec for a flavor", "PUT",
       f"{C}/flavors/{{flavor_id}}/os-extra_specs/{{flavor_extra_spec_key}}"),
    op("os_compute_api:os-services:list", ADMIN_API, "List compute services", "GET", f"{C}/os-services"),
    op("os_compute_api:os-services:update", ADMIN_API, "Enable, disable or force down a service", "PUT",
       f"{C}/os-services/{{service_id}}"),
    op("os_compute_api:os-hypervisors:list", ADMIN_API, "List hypervisors", "GET", f"{C}/os-hypervisors"),
    op("os_compute_api:os-hypervisors:list-detail", ADMIN_API, "List hypervisors with details", "GET",
       f"{C}/os-hypervisors/detail"),
    op("os_compute_api:os-hypervisors:show", ADMIN_API, "Show a hypervisor", "GET",
       f"{C}/os-hypervisors/{{hypervisor_id}}"),
]
