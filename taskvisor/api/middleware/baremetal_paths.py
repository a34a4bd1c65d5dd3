"""Bare Metal paths as Ironic reads them, rewritten before anything routes:

- without their version element: Ironic routes ``/drivers/x`` as
  ``/v1/drivers/x`` (its root controller's lookup), and clients rely on it
  (ironic-tempest-plugin asks for ``drivers/{name}/properties`` so);
- with a ``.json`` suffix, which Ironic strips below microversion 1.91 (a
  relic of pecan's content type guessing: ``/v1/nodes/{uuid}.json``).
"""
from __future__ import annotations

import re

PREFIX = "/baremetal/"
_VERSION = re.compile(rb"^\s*1\.(\d{1,4})\s*$")
_HEADER = b"x-openstack-ironic-api-version"
DOT_JSON_UNTIL = 90  # the last minor version that strips .json


def versioned(path: str) -> str:
    rest = path[len(PREFIX):] if path.startswith(PREFIX) else None
    if not rest or rest == "v1" or rest.startswith("v1/"):
        return path
    return f"{PREFIX}v1/{rest}"


def _strips_json(scope) -> bool:
    """Only an explicit X-OpenStack-Ironic-API-Version below 1.91 does, as in Ironic."""
    for name, value in scope.get("headers") or ():
        if name.lower() == _HEADER:
            match = _VERSION.match(value)
            return bool(match) and 0 < int(match.group(1)) <= DOT_JSON_UNTIL
    return False


class BaremetalPathsMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            path = versioned(scope["path"])
            trimmed = path.rstrip("/")
            if trimmed.endswith(".json") and _strips_json(scope):
                path = trimmed[:-len(".json")]
            if path != scope["path"]:
                scope = {**scope, "path": path, "raw_path": path.encode("latin-1")}
        await self.app(scope, receive, send)
