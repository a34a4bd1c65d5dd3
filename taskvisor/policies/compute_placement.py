"""Aggregates, availability zones, hosts, hypervisor extras, usage, audit
log, migrations, external events, extensions: Nova's rule names and defaults."""
from taskvisor.policies.base import ADMIN_API, PROJECT_READER_OR_ADMIN as READER, op

C = "/compute/v2.1"
ANY = "@"
AGG = "os_compute_api:os-aggregates:%s"
ONE_AGG = f"{C}/os-aggregates/{{aggregate_id}}"
HOSTS = "os_compute_api:os-hosts:%s"
ONE_HOST = f"{C}/os-hosts/{{host_name}}"
HYP = "os_compute_api:os-hypervisors:%s"
AUDIT = "os_compute_api:os-instance-usage-audit-log:%s"
# Nova's project manager persona (os-migrations of one's own project); the admin sees every project's
PROJECT_MANAGER_OR_ADMIN = "(role:manager and project_id:%(project_id)s) or rule:context_is_admin"
SERVICE_OR_ADMIN = "role:service or rule:context_is_admin"

rules = [
    op(AGG % "index", ADMIN_API, "List aggregates", "GET", f"{C}/os-aggregates"),
    op(AGG % "create", ADMIN_API, "Create an aggregate", "POST", f"{C}/os-aggregates"),
    op(AGG % "show", ADMIN_API, "Show an aggregate", "GET", ONE_AGG),
    op(AGG % "update", ADMIN_API, "Update an aggregate's name or zone", "PUT", ONE_AGG),
    op(AGG % "delete", ADMIN_API, "Delete an aggregate", "DELETE", ONE_AGG),
    op(AGG % "add_host", ADMIN_API, "Add a host to an aggregate", "POST", f"{ONE_AGG}/action (add_host)"),
    op(AGG % "remove_host", ADMIN_API, "Remove a host from an aggregate", "POST",
       f"{ONE_AGG}/action (remove_host)"),
    op(AGG % "set_metadata", ADMIN_API, "Set an aggregate's metadata", "POST", f"{ONE_AGG}/action (set_metadata)"),
    op("os_compute_api:os-availability-zone:list", ANY, "List availability zones", "GET",
       f"{C}/os-availability-zone"),
    op("os_compute_api:os-availability-zone:detail", ADMIN_API, "List availability zones with their hosts", "GET",
       f"{C}/os-availability-zone/detail"),
    op(HOSTS % "list", ADMIN_API, "List hosts", "GET", f"{C}/os-hosts"),
    op(HOSTS % "show", ADMIN_API, "Show a host's resources", "GET", ONE_HOST),
    op(HOSTS % "update", ADMIN_API, "Enable or disable a host", "PUT", ONE_HOST),
    op(HOSTS % "reboot", ADMIN_API, "Reboot a host", "GET", f"{ONE_HOST}/reboot"),
    op(HOSTS % "shutdown", ADMIN_API, "Shut a host down", "GET", f"{ONE_HOST}/shutdown"),
    op(HOSTS % "start", ADMIN_API, "Start a host", "GET", f"{ONE_HOST}/startup"),
    op(HYP % "statistics", ADMIN_API, "Show hypervisor statistics", "GET", f"{C}/os-hypervisors/statistics"),
    op(HYP % "uptime", ADMIN_API, "Show a hypervisor's uptime", "GET", f"{C}/os-hypervisors/{{hypervisor_id}}/uptime"),
    op(HYP % "search", ADMIN_API, "Search hypervisors by hostname", "GET",
       f"{C}/os-hypervisors/{{hypervisor_hostname_pattern}}/search"),
    op(HYP % "servers", ADMIN_API, "List the servers of hypervisors", "GET",
       f"{C}/os-hypervisors/{{hypervisor_hostname_pattern}}/servers"),
    op("os_compute_api:os-simple-tenant-usage:list", ADMIN_API, "List every project's usage", "GET",
       f"{C}/os-simple-tenant-usage"),
    op("os_compute_api:os-simple-tenant-usage:show", READER, "Show a project's usage", "GET",
       f"{C}/os-simple-tenant-usage/{{tenant_id}}"),
    op(AUDIT % "list", ADMIN_API, "List the usage audit logs", "GET", f"{C}/os-instance_usage_audit_log"),
    op(AUDIT % "show", ADMIN_API, "Show the usage audit log before a time", "GET",
       f"{C}/os-instance_usage_audit_log/{{before_timestamp}}"),
    op("os_compute_api:os-migrations:index", PROJECT_MANAGER_OR_ADMIN, "List migrations", "GET",
       f"{C}/os-migrations"),
    op("os_compute_api:os-migrations:index:all_projects", ADMIN_API, "List every project's migrations", "GET",
       f"{C}/os-migrations"),
    op("os_compute_api:os-migrations:index:host", ADMIN_API, "Show the hosts of migrations", "GET",
       f"{C}/os-migrations"),
    op("os_compute_api:os-server-external-events:create", SERVICE_OR_ADMIN, "Send events to servers", "POST",
       f"{C}/os-server-external-events"),
    op("os_compute_api:extensions", ANY, "List extensions", "GET", f"{C}/extensions|{C}/extensions/{{alias}}"),
]

# nova-conf: os-networks
rules += [
    op("os_compute_api:os-networks:list", READER, "List networks", "GET", f"{C}/os-networks"),
    op("os_compute_api:os-networks:view", READER, "Show a network", "GET", f"{C}/os-networks/{{network_id}}"),
]
