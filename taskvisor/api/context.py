"""Who is asking, and at which microversion.

No Keystone: identity comes from X-Project-Id / X-User-Id / X-Roles (the
headers keystonemiddleware would set after validating a token) or, when a
request names none, the configured defaults ([api] default_*).
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field

from fastapi import Request


@dataclass
class RequestContext:
    project_id: str
    user_id: str
    roles: list[str]
    request_id: str = field(default_factory=lambda: f"req-{uuid.uuid4()}")
    microversion: tuple[int, int] = (2, 1)
    global_request_id: str | None = None  # the caller's X-Openstack-Request-Id, when well formed

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def at_least(self, version: str) -> bool:
        return self.microversion >= _version(version)


@functools.lru_cache(maxsize=256)
def _version(version: str) -> tuple[int, int]:
    """"2.47" → (2, 47), parsed once: views ask for every item of a list."""
    major, minor = version.split(".")
    return int(major), int(minor)


def get_context(request: Request) -> RequestContext:
    return request.state.context


def build_context(request: Request, conf) -> RequestContext:
    headers = request.headers
    roles = headers.get("x-roles")
    role_list = [r.strip() for r in (roles if roles is not None else conf.api.default_roles).split(",") if r.strip()]
    ids = {}
    state = request.scope.get("state", {})
    if state.get("request_id"):  # set by middleware/request_id.py
        ids = {"request_id": state["request_id"], "global_request_id": state.get("global_request_id")}
    return RequestContext(
        project_id=headers.get("x-project-id") or headers.get("x-tenant-id") or conf.api.default_project_id,
        user_id=headers.get("x-user-id") or conf.api.default_user_id,
        roles=role_list, **ids,
    )
