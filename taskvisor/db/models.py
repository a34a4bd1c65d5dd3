"""Tables. SQLAlchemy Core tables: the task engine's hot path issues plain
statements, and the API renders rows; nothing here needs an identity map.

Times are naive UTC datetimes for display; leases and ordering use float
epoch seconds, which compare cheaply and identically on SQLite and PostgreSQL.
"""
from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String,
                        Table, Text, UniqueConstraint, text)

from taskvisor.db import usage_counts

ACTIVE_TASKS = "status IN ('queued', 'running', 'reverting')"
# The same set spelled as "not finished": a query naming it can be answered by
# ix_tasks_unfinished_resource and not by ix_tasks_active (tasks/store.py, the claim's look).
UNFINISHED_TASKS = "status NOT IN ('succeeded', 'failed', 'reverted', 'cancelled')"

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

flavors = Table(
    "flavors", metadata,
    Column("id", String(255), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("vcpus", Integer, nullable=False),
    Column("ram", Integer, nullable=False),
    Column("disk", Integer, nullable=False),
    Column("ephemeral", Integer, nullable=False, default=0),
    Column("swap", Integer, nullable=False, default=0),
    Column("rxtx_factor", Float, nullable=False, default=1.0),
    Column("is_public", Boolean, nullable=False, default=True),
    Column("description", Text),
    Column("extra_specs", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
)

images = Table(
    "images", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255)),
    Column("status", String(32), nullable=False),
    Column("visibility", String(16), nullable=False, default="public"),
    Column("protected", Boolean, nullable=False, default=False),
    Column("disk_format", String(32)),
    Column("container_format", String(32)),
    Column("size", Integer),
    Column("checksum", String(64)),
    Column("min_disk", Integer, nullable=False, default=0),
    Column("min_ram", Integer, nullable=False, default=0),
    Column("owner", String(255)),
    Column("tags", JSON, nullable=False, default=list),
    Column("properties", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

servers = Table(
    "servers", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("vm_state", String(32), nullable=False),
    Column("task_state", String(32)),
    # The task that owns task_state. A flow writes the server only while it
    # still owns it, so a delete that supersedes a running boot wins cleanly.
    Column("task_id", String(36)),
    Column("power_state", Integer, nullable=False, default=0),
    Column("host", String(255)),
    Column("node", String(255)),
    Column("flavor", JSON, nullable=False),
    Column("old_flavor", JSON),
    Column("new_flavor", JSON),
    Column("image_id", String(36)),
    Column("image_properties", JSON, nullable=False, default=dict),
    Column("metadata", JSON, nullable=False, default=dict),
    Column("requested_networks", JSON),
    Column("addresses", JSON, nullable=False, default=dict),
    Column("system_metadata", JSON, nullable=False, default=dict),
    Column("key_name", String(255)),
    Column("availability_zone", String(255)),
    Column("progress", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("launched_at", DateTime),
    Column("terminated_at", DateTime),
    Column("deleted_at", DateTime),
    Column("deleted", Boolean, nullable=False, default=False),
    Index("ix_servers_project_deleted", "project_id", "deleted"),
)
# the list views' order, newest first (migration 0002)
Index("ix_servers_project_list", servers.c.project_id, servers.c.deleted, servers.c.created_at.desc(), servers.c.id)
Index("ix_servers_list", servers.c.deleted, servers.c.created_at.desc(), servers.c.id)

tasks = Table(
    "tasks", metadata,
    Column("id", String(36), primary_key=True),
    Column("resource_type", String(16), nullable=False),
    Column("resource_id", String(36), nullable=False),
    Column("action", String(64), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("flow_version", Integer, nullable=False),
    # queued, running, reverting, succeeded, failed, reverted, cancelled
    Column("status", String(16), nullable=False),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("request_id", String(64)),
    Column("user_id", String(255)),
    Column("project_id", String(255)),
    Column("params", JSON, nullable=False, default=dict),
    # Values steps hand to later steps (e.g. the chosen host); saved with each checkpoint.
    Column("store", JSON, nullable=False, default=dict),
    Column("progress", Integer, nullable=False, default=0),
    Column("current_step", String(64)),
    Column("error", JSON),
    Column("error_traceback", Text),
    # Claim and fencing: a conductor writes only while owner/generation are its own.
    Column("owner", String(255)),
    Column("owner_instance", String(36)),
    Column("generation", Integer, nullable=False, default=0),
    Column("lease_expires", Float),
    Column("takeovers", Integer, nullable=False, default=0),
    # Bounded life (issue 14): runner crashes so far, and why the engine itself
    # failed the task (the dead-letter view filters on it).
    Column("runner_crashes", Integer, nullable=False, default=0, server_default="0"),
    Column("failure_reason", String(64)),
    Column("created_ts", Float, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_tasks_status_created", "status", "created_ts"),
    Index("ix_tasks_resource", "resource_id", "created_ts"),
    Index("ix_tasks_request", "request_id"),
    Index("ix_tasks_status_reason", "status", "failure_reason"),
    # only the unfinished tasks: what the claim reads, small however long the history (migration 0002)
    Index("ix_tasks_active", "created_ts", sqlite_where=text(ACTIVE_TASKS), postgresql_where=text(ACTIVE_TASKS)),
    # the claim's "an older unfinished task of this resource" probe, small however long the history (0016)
    Index("ix_tasks_unfinished_resource", "resource_id", "created_ts",
          sqlite_where=text(UNFINISHED_TASKS), postgresql_where=text(UNFINISHED_TASKS)),
    Index("ix_tasks_updated_at", "updated_at"),   # the task event stream's cursor
    Index("ix_tasks_created_ts", "created_ts"),   # the global task list's order
)

task_steps = Table(
    "task_steps", metadata,
    Column("task_id", String(36), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    # running, succeeded, failed, reverting, reverted, skipped
    Column("status", String(16), nullable=False),
    Column("host", String(255)),
    Column("attempt", Integer, nullable=False, default=1),
    Column("details", JSON, nullable=False, default=dict),
    Column("error", Text),
    Column("traceback", Text),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
)

services = Table(
    "services", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("binary", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("topic", String(255)),
    Column("zone", String(255), nullable=False, default="nova"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("disabled_reason", String(255)),
    Column("forced_down", Boolean, nullable=False, default=False),
    # running, draining, stopped
    Column("state", String(16), nullable=False, default="running"),
    Column("version", Integer, nullable=False, default=1),
    Column("capabilities", JSON, nullable=False, default=dict),
    Column("last_seen", Float),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("binary", "host", name="uq_services_binary_host"),
)

nodes = Table(
    "nodes", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), unique=True),
    Column("driver", String(64), nullable=False),
    Column("driver_info", JSON, nullable=False, default=dict),
    Column("driver_internal_info", JSON, nullable=False, default=dict),
    Column("properties", JSON, nullable=False, default=dict),
    Column("instance_info", JSON, nullable=False, default=dict),
    Column("extra", JSON, nullable=False, default=dict),
    Column("resource_class", String(80)),
    Column("instance_uuid", String(36)),
    Column("provision_state", String(32), nullable=False),
    Column("target_provision_state", String(32)),
    Column("power_state", String(32)),
    Column("target_power_state", String(32)),
    Column("clean_step", JSON, nullable=False, default=dict),
    Column("last_error", Text),
    Column("fault", String(64)),
    Column("maintenance", Boolean, nullable=False, default=False),
    Column("maintenance_reason", Text),
    Column("automated_clean", Boolean),
    # The conductor host holding the node's lock while a task runs (Ironic's reservation).
    Column("reservation", String(255)),
    Column("task_id", String(36)),
    Column("provision_updated_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    # Ironic's owner and lessee projects: the node policy rules match them (0002_identity).
    Column("owner", String(255)),
    Column("lessee", String(255)),
    Index("ix_nodes_instance_uuid", "instance_uuid"),
    Index("ix_nodes_owner", "owner"),
    Index("ix_nodes_lessee", "lessee"),
    Index("ix_nodes_list", "created_at", "id"),
)

# Tables a task may own through their task_id column, by resource_type.
RESOURCE_TABLES = {"server": servers, "node": nodes}

# Ironic's chassis: a named group of nodes (description and extra only)
chassis = Table(
    "chassis", metadata,
    Column("id", String(36), primary_key=True),
    Column("description", String(255)),
    Column("extra", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
)

# Ironic's node traits (0004): what allocations, deploy templates and runbooks match
node_traits = Table(
    "node_traits", metadata,
    Column("node_id", String(36), primary_key=True),  # deleted with its node (no FKs in this schema)
    Column("trait", String(255), primary_key=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_node_traits_trait", "trait"),
)

# bm-ports (0005): Ironic's ports and port groups, and the node's chassis.
# The chassis id is the chassis' UUID (no FKs in this schema): a node shows it as chassis_uuid.
nodes.append_column(Column("chassis_id", String(36)))
Index("ix_nodes_chassis_id", nodes.c.chassis_id)

portgroups = Table(
    "portgroups", metadata,
    Column("id", String(36), primary_key=True),
    Column("node_id", String(36), nullable=False),  # deleted with its node
    Column("name", String(255), unique=True),
    Column("address", String(18), unique=True),  # a MAC, lower-case; optional
    Column("mode", String(255)),
    Column("properties", JSON, nullable=False, default=dict),
    Column("standalone_ports_supported", Boolean, nullable=False, default=True),
    Column("physical_network", String(64)),
    Column("category", String(80)),
    Column("dynamic_portgroup", Boolean, nullable=False, default=False),
    Column("extra", JSON, nullable=False, default=dict),
    Column("internal_info", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    Index("ix_portgroups_node_id", "node_id"),
)

ports = Table(
    "ports", metadata,
    Column("id", String(36), primary_key=True),
    Column("node_id", String(36), nullable=False),  # deleted with its node
    Column("portgroup_id", String(36)),
    Column("address", String(18), nullable=False, unique=True),  # a MAC, lower-case
    Column("name", String(255), unique=True),
    Column("local_link_connection", JSON, nullable=False, default=dict),
    Column("pxe_enabled", Boolean, nullable=False, default=True),
    Column("physical_network", String(64)),
    Column("is_smartnic", Boolean, nullable=False, default=False),
    Column("description", String(255)),
    Column("vendor", String(32)),
    Column("category", String(80)),
    Column("available_for_dynamic_portgroup", Boolean, nullable=False, default=True),
    Column("extra", JSON, nullable=False, default=dict),
    Column("internal_info", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    Index("ix_ports_node_id", "node_id"),
    Index("ix_ports_portgroup_id", "portgroup_id"),
)
# bm-catalog (0006): the node's shard (Ironic 1.82) and conductor group (1.46)
# bm-catalog (0006): the node's shard (Ironic 1.82), conductor group (1.46) and description (1.51)
nodes.append_column(Column("shard", String(255)))
nodes.append_column(Column("conductor_group", String(255), nullable=False, server_default=""))
nodes.append_column(Column("description", Text))
# {kind: name} of the interfaces a node chose other than its driver's defaults (node.<kind>_interface)
nodes.append_column(Column("interfaces", JSON))
# Ironic's protected flag (1.48): an active node that may not be undeployed, rebuilt or deleted
nodes.append_column(Column("protected", Boolean, nullable=False, server_default=text("false")))
nodes.append_column(Column("protected_reason", Text))
Index("ix_nodes_shard", nodes.c.shard)
# bm-alloc (0007): Ironic's allocations. A task (flow bm_allocate) owns an
# allocating one through task_id; the node it got names it by instance_uuid,
# and node_id is unique: one allocation per node.
allocations = Table(
    "allocations", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), unique=True),
    Column("node_id", String(36), unique=True),
    Column("state", String(15), nullable=False),  # allocating, active, error
    Column("owner", String(255)),
    Column("last_error", Text),
    Column("resource_class", String(80)),
    Column("traits", JSON, nullable=False, default=list),
    Column("candidate_nodes", JSON, nullable=False, default=list),  # node UUIDs, in the requested order
    Column("extra", JSON, nullable=False, default=dict),
    Column("task_id", String(36)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    Index("ix_allocations_list", "created_at", "id"),
    Index("ix_allocations_owner", "owner"),
)
RESOURCE_TABLES["allocation"] = allocations
# bm-templates (0008): Ironic's deploy templates (steps a deploy adds for a
# matching instance trait) and runbooks (clean steps a node with the
# runbook's name among its traits may run). Steps are kept as one JSON list
# in the user's order; ``id`` is the list order (Ironic's default sort).
deploy_templates = Table(
    "deploy_templates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", String(255)),
    Column("steps", JSON, nullable=False, default=list),
    Column("extra", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
)

runbooks = Table(
    "runbooks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("steps", JSON, nullable=False, default=list),
    Column("disable_ramdisk", Boolean, nullable=False, default=False),
    Column("public", Boolean, nullable=False, default=False),
    Column("owner", String(255)),
    Column("extra", JSON, nullable=False, default=dict),
    Column("description", String(255)),  # 1.112
    Column("traits", JSON, nullable=False, default=list),  # 1.112: the node traits that approve it
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    Index("ix_runbooks_owner", "owner"),
)

# -- nova-quotas (0009): keypairs, quotas, quota classes, server groups --------
# Nova's keypairs: per user, unique by name (the id is the integer Nova shows)
key_pairs = Table(
    "key_pairs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("project_id", String(255)),
    Column("fingerprint", String(255), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("type", String(8), nullable=False, default="ssh"),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("user_id", "name", name="uq_key_pairs_user_id_name"),
)

# Per-project limits set by an admin; user_id "" = the project's own limit
quotas = Table(
    "quotas", metadata,
    Column("project_id", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("resource", String(255), primary_key=True),
    Column("hard_limit", Integer, nullable=False),
)

# Quota classes: only "default" is used, and it overrides the [quota] options
quota_classes = Table(
    "quota_classes", metadata,
    Column("class_name", String(255), primary_key=True),
    Column("resource", String(255), primary_key=True),
    Column("hard_limit", Integer, nullable=False),
)

server_groups = Table(
    "server_groups", metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("policy", String(32), nullable=False),
    Column("rules", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Index("ix_server_groups_project", "project_id"),
)

server_group_members = Table(
    "server_group_members", metadata,
    Column("group_id", String(36), primary_key=True),
    Column("server_id", String(36), primary_key=True),
    Index("ix_server_group_members_server", "server_id"),
)

# The projects a private flavor is shared with (os-flavor-access)
flavor_projects = Table(
    "flavor_projects", metadata,
    Column("flavor_id", String(255), primary_key=True),
    Column("project_id", String(255), primary_key=True),
)

# nova-placement (0010): host aggregates (their availability zone is the
# metadata key "availability_zone", as in Nova) and the migration records
# a resize or migrate leaves behind (os-migrations)
aggregates = Table(
    "aggregates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
)

aggregate_hosts = Table(
    "aggregate_hosts", metadata,
    Column("aggregate_id", Integer, primary_key=True),  # deleted with its aggregate (no FKs in this schema)
    Column("host", String(255), primary_key=True),
    Index("ix_aggregate_hosts_host", "host"),
)

aggregate_metadata = Table(
    "aggregate_metadata", metadata,
    Column("aggregate_id", Integer, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(255), nullable=False),
)

migrations = Table(
    "migrations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("instance_uuid", String(36), nullable=False),
    Column("task_id", String(36)),
    Column("migration_type", String(32), nullable=False),  # resize, migration
    # pre-migrating, migrating, finished, confirmed, reverted, error
    Column("status", String(32), nullable=False),
    Column("source_compute", String(255)),
    Column("dest_compute", String(255)),
    Column("source_node", String(255)),
    Column("dest_node", String(255)),
    Column("old_flavor_id", String(255)),
    Column("new_flavor_id", String(255)),
    Column("project_id", String(255)),
    Column("user_id", String(255)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    Index("ix_migrations_instance_uuid", "instance_uuid"),
    Index("ix_migrations_task_id", "task_id"),
)

# nova-servers (0011): a server's lock and access addresses (columns), and its tags (Nova 2.26)
servers.append_column(Column("locked_by", String(16)))  # "owner" or "admin" (Nova's); NULL = unlocked
servers.append_column(Column("locked_reason", String(255)))
servers.append_column(Column("access_ip_v4", String(39)))
servers.append_column(Column("access_ip_v6", String(39)))
server_tags = Table(
    "server_tags", metadata,
    Column("server_id", String(36), primary_key=True),  # deleted with its server (no FKs in this schema)
    Column("tag", String(60), primary_key=True),
    Index("ix_server_tags_tag", "tag"),
)

# bm-volume (0012): a node's volume connectors and volume targets (Ironic's
# boot-from-volume records, 1.32) and inspection rules (Ironic 1.96)
volume_connectors = Table(
    "volume_connectors", metadata,
    Column("id", String(36), primary_key=True),
    Column("node_id", String(36), nullable=False),  # deleted with its node
    Column("type", String(32), nullable=False),  # iqn, ip, mac, wwnn, wwpn, port, portgroup
    Column("connector_id", String(255), nullable=False),
    Column("extra", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    UniqueConstraint("type", "connector_id", name="uniq_volume_connectors_type_connector_id"),
    Index("ix_volume_connectors_node_id", "node_id"),
)

volume_targets = Table(
    "volume_targets", metadata,
    Column("id", String(36), primary_key=True),
    Column("node_id", String(36), nullable=False),  # deleted with its node
    Column("volume_type", String(64), nullable=False),
    Column("volume_id", String(255), nullable=False),
    Column("boot_index", Integer, nullable=False),
    Column("properties", JSON, nullable=False, default=dict),
    Column("extra", JSON, nullable=False, default=dict),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
    UniqueConstraint("node_id", "boot_index", name="uniq_volume_targets_node_id_boot_index"),
)

inspection_rules = Table(
    "inspection_rules", metadata,
    Column("id", String(36), primary_key=True),
    Column("priority", Integer, nullable=False, default=0),
    Column("description", String(255)),
    Column("scope", String(255)),
    Column("sensitive", Boolean, nullable=False, default=False),
    Column("phase", String(16), nullable=False, default="main"),
    Column("conditions", JSON, nullable=False, default=list),
    Column("actions", JSON, nullable=False, default=list),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
)

# bm-extras (0013): a node's RAID configuration, console, boot mode and secure boot (Ironic's node fields),
# and its BIOS settings, firmware components and history events (Ironic's tables of those names)
nodes.append_column(Column("target_raid_config", JSON))
nodes.append_column(Column("raid_config", JSON))
nodes.append_column(Column("console_enabled", Boolean, nullable=False, server_default=text("false")))
nodes.append_column(Column("boot_mode", String(16)))
nodes.append_column(Column("secure_boot", Boolean))
bios_settings = Table(
    "bios_settings", metadata,
    Column("node_id", String(36), primary_key=True),  # deleted with its node
    Column("name", String(255), primary_key=True),
    Column("value", Text),
    Column("attribute_type", String(255)),
    Column("allowable_values", JSON),
    Column("lower_bound", Integer),
    Column("upper_bound", Integer),
    Column("min_length", Integer),
    Column("max_length", Integer),
    Column("read_only", Boolean),
    Column("reset_required", Boolean),
    Column("unique", Boolean),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
)
firmware_information = Table(
    "firmware_information", metadata,
    Column("node_id", String(36), primary_key=True),
    Column("component", String(255), primary_key=True),
    Column("initial_version", String(255), nullable=False),
    Column("current_version", String(255)),
    Column("last_version_flashed", String(255)),
    Column("vendor", String(255)),
    Column("model", String(255)),
    Column("serial_number", String(255)),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime),
)
node_history = Table(
    "node_history", metadata,
    Column("id", String(36), primary_key=True),
    Column("node_id", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("event", Text, nullable=False),
    Column("conductor", String(255)),
    Column("user_id", String(255)),
    Column("project_id", String(255)),
    Column("state", String(32)),
    Column("target_provision_state", String(32)),
    Column("duration_seconds", Integer),
    Index("ix_node_history_node", "node_id", "created_at", "id"),
)

# perf (0014): the server's flavor vcpus and ram, kept beside the JSON `flavor`
# whenever it is written, so quota usage is a sum of integer columns
servers.append_column(Column("vcpus", Integer, nullable=False, server_default="0"))
servers.append_column(Column("ram", Integer, nullable=False, server_default="0"))
# (their index ix_servers_quota, which the quota count read, went with 0017: it reads project_usage)
# sched_usage (0015): the flavor's disk too, and the scheduler's per-host usage
# sum read from one index (10,000 servers on a host: 0.8 ms instead of 7.4 on
# SQLite); servers-on-a-host lookups use its prefix
servers.append_column(Column("disk", Integer, nullable=False, server_default="0"))
Index("ix_servers_usage", servers.c.host, servers.c.deleted, servers.c.vcpus, servers.c.ram, servers.c.disk)

# usage_counts (0017): per host and per (project, user), the count and sums of
# the live servers, kept by triggers on servers (db/usage_counts.py): the
# scheduler's and the quota's reads no longer grow with the servers
host_usage = Table(
    "host_usage", metadata,
    Column("host", String(255), primary_key=True),
    *[Column(name, Integer, nullable=False) for name in usage_counts.HOST_USAGE_COLUMNS],
)
project_usage = Table(
    "project_usage", metadata,
    Column("project_id", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    *[Column(name, Integer, nullable=False) for name in usage_counts.PROJECT_USAGE_COLUMNS],
)

