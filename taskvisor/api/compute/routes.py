"""Every Compute v2.1 route, gathered."""
from fastapi import APIRouter

from taskvisor.api.compute import (actions, dead_letters, flavors, hypervisors, instance_actions, servers, services,
                                   versions)

router = APIRouter()
for module in (versions, servers, actions, instance_actions, flavors, services, hypervisors, dead_letters):
    router.include_router(module.router)
