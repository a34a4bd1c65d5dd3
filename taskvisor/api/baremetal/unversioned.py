"""Ironic serves a path without its version as the v1 path (its root
controller's ``_lookup``): ``/baremetal/ports/detail`` is
``/baremetal/v1/ports/detail``. Clients rely on it (the Bare Metal Tempest
client's lookups by MAC address and by instance UUID, the bookmark links)."""
from __future__ import annotations

PREFIX = "/baremetal/"


class UnversionedBaremetal:
    """ASGI: rewrite ``/baremetal/<x>...`` to ``/baremetal/v1/<x>...`` before routing."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            rest = path[len(PREFIX):] if path.startswith(PREFIX) else ""
            if rest and rest != "v1" and not rest.startswith("v1/"):
                scope = {**scope, "path": f"{PREFIX}v1/{rest}",
                         "raw_path": f"{PREFIX}v1/{rest}".encode()}
        await self.app(scope, receive, send)
