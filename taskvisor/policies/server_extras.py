"""A server's sub-resources (metadata, tags, ips, diagnostics, password), its
update, and the lock, admin, image, rebuild, soft-delete and migrate
actions: Nova's rule names and defaults."""
from taskvisor.policies.base import ADMIN_API, PROJECT_MEMBER_OR_ADMIN as MEMBER, PROJECT_READER_OR_ADMIN as READER, op

S = "/compute/v2.1/servers/{server_id}"
A = f"{S}/action"
M, T = f"{S}/metadata", f"{S}/tags"

rules = [
    op("os_compute_api:servers:update", MEMBER, "Update a server's name, access addresses or description", "PUT", S),
    op("os_compute_api:server-metadata:index", READER, "List a server's metadata", "GET", M),
    op("os_compute_api:server-metadata:show", READER, "Show a server's metadata item", "GET", f"{M}/{{key}}"),
    op("os_compute_api:server-metadata:create", MEMBER, "Add or change metadata items", "POST", M),
    op("os_compute_api:server-metadata:update_all", MEMBER, "Replace a server's metadata", "PUT", M),
    op("os_compute_api:server-metadata:update", MEMBER, "Set one metadata item", "PUT", f"{M}/{{key}}"),
    op("os_compute_api:server-metadata:delete", MEMBER, "Delete a metadata item", "DELETE", f"{M}/{{key}}"),
    op("os_compute_api:os-server-tags:index", READER, "List a server's tags", "GET", T),
    op("os_compute_api:os-server-tags:show", READER, "Check a server's tag", "GET", f"{T}/{{tag}}"),
    op("os_compute_api:os-server-tags:update_all", MEMBER, "Replace a server's tags", "PUT", T),
    op("os_compute_api:os-server-tags:update", MEMBER, "Add a tag to a server", "PUT", f"{T}/{{tag}}"),
    op("os_compute_api:os-server-tags:delete_all", MEMBER, "Delete a server's tags", "DELETE", T),
    op("os_compute_api:os-server-tags:delete", MEMBER, "Delete a server's tag", "DELETE", f"{T}/{{tag}}"),
    op("os_compute_api:ips:index", READER, "List a server's addresses", "GET", f"{S}/ips"),
    op("os_compute_api:ips:show", READER, "List a server's addresses on one network", "GET",
       f"{S}/ips/{{network_label}}"),
    op("os_compute_api:os-server-diagnostics", ADMIN_API, "Show a server's diagnostics", "GET", f"{S}/diagnostics"),
    op("os_compute_api:os-server-password:show", READER, "Show a server's encrypted password", "GET",
       f"{S}/os-server-password"),
    op("os_compute_api:os-server-password:clear", MEMBER, "Clear a server's encrypted password", "DELETE",
       f"{S}/os-server-password"),
    op("os_compute_api:os-lock-server:lock", MEMBER, "Lock a server (lock)", "POST", A),
    op("os_compute_api:os-lock-server:unlock", MEMBER, "Unlock a server (unlock)", "POST", A),
    op("os_compute_api:os-lock-server:unlock:unlock_override", ADMIN_API,
       "Unlock a server that someone else (an admin) locked", "POST", A),
    op("os_compute_api:os-admin-actions:reset_state", ADMIN_API, "Reset a server's state (os-resetState)",
       "POST", A),
    op("os_compute_api:os-admin-actions:inject_network_info", ADMIN_API,
       "Inject network information into a server (injectNetworkInfo)", "POST", A),
    op("os_compute_api:servers:create_image", MEMBER, "Snapshot a server into an image (createImage)", "POST", A),
    op("os_compute_api:os-create-backup", MEMBER, "Back a server up into a rotated image (createBackup)",
       "POST", A),
    op("os_compute_api:servers:rebuild", MEMBER, "Rebuild a server from an image (rebuild)", "POST", A),
    op("os_compute_api:os-deferred-delete:restore", MEMBER, "Restore a soft-deleted server (restore)", "POST", A),
    op("os_compute_api:os-security-groups:add", MEMBER, "Add a security group to a server", "POST", A),
    op("os_compute_api:os-security-groups:remove", MEMBER, "Remove a security group from a server", "POST", A),
    op("os_compute_api:os-migrate-server:migrate", ADMIN_API, "Cold-migrate a server (migrate)", "POST", A),
    op("os_compute_api:os-migrate-server:migrate:host", ADMIN_API, "Cold-migrate a server to a named host",
       "POST", A),
]
