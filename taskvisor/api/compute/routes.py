"""Every Compute v2.1 route, gathered."""
from fastapi import APIRouter

from taskvisor.api.compute import flavors, servers, services, versions

router = APIRouter()
for module in (versions, servers, flavors, services):
    router.include_router(module.router)
