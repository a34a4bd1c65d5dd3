"""Every Compute v2.1 route, gathered (the global task list and task actions
live in api/tasks_routes.py, shared with Bare Metal)."""
from fastapi import APIRouter

from taskvisor.api.compute import actions, flavors, hypervisors, instance_actions, servers, services, versions

router = APIRouter()
for module in (versions, servers, actions, instance_actions, flavors, services, hypervisors):
    router.include_router(module.router)
# nova-quotas
from taskvisor.api.compute import keypairs, quota_sets, server_groups  # noqa: E402
for module in (keypairs, quota_sets, server_groups):
    router.include_router(module.router)

# nova-placement: aggregates, zones, hosts, usage, audit log, image proxy, migrations, events, extensions
from taskvisor.api.compute import (aggregates, availability_zones, extensions, hosts, images, migrations,  # noqa: E402
                                   server_events, usage)

for module in (aggregates, availability_zones, hosts, usage, images, migrations, server_events, extensions):
    router.include_router(module.router)

# nova-servers: server sub-resources and the update
from taskvisor.api.compute import server_info, server_metadata, server_tags, server_update  # noqa: E402
for module in (server_update, server_metadata, server_tags, server_info):
    router.include_router(module.router)

# nova-conf: os-networks (the simulated private network)
from taskvisor.api.compute import networks  # noqa: E402
router.include_router(networks.router)
