"""Bare Metal paths without their version element: Ironic routes
``/drivers/x`` as ``/v1/drivers/x`` (its root controller's lookup), and
clients rely on it (ironic-tempest-plugin asks for
``drivers/{name}/properties`` so). Rewritten here, before anything routes."""
from __future__ import annotations

PREFIX = "/baremetal/"


def versioned(path: str) -> str:
    rest = path[len(PREFIX):] if path.startswith(PREFIX) else None
    if not rest or rest == "v1" or rest.startswith("v1/"):
        return path
    return f"{PREFIX}v1/{rest}"


class BaremetalPathsMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = versioned(scope["path"])
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode("latin-1")}
        await self.app(scope, receive, send)
