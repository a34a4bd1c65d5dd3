"""Who is asking, and at which microversion.

The auth middleware (``taskvisor.api.middleware.auth``) fills in the
identity: from a Keystone token validated by keystonemiddleware, or, under
noauth2, from X-Project-Id / X-User-Id / X-Roles or the configured defaults.
``is_admin`` is the policy's ``context_is_admin`` rule, as in Nova.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

# Keystone's default role implications (admin implies member implies reader):
# Keystone puts the implied roles in the token; noauth2 applies them to the headers.
IMPLIED = {"admin": ("member", "reader"), "member": ("reader",)}


def with_implied(roles: list[str]) -> list[str]:
    out = list(dict.fromkeys(r.lower() for r in roles))
    for role in list(out):
        for implied in IMPLIED.get(role, ()):
            if implied not in out:
                out.append(implied)
    return out


@dataclass
class RequestContext:
    project_id: str | None = None
    user_id: str | None = None
    roles: list[str] = field(default_factory=list)
    request_id: str = field(default_factory=lambda: f"req-{uuid.uuid4()}")
    microversion: tuple[int, int] = (2, 1)
    system_scope: str | None = None
    authenticated: bool = False
    enforcer: Any = None
    _is_admin: bool | None = None

    @property
    def is_admin(self) -> bool:
        if self._is_admin is None:
            from taskvisor.api.policy import allowed
            self._is_admin = self.authenticated and self.enforcer is not None and allowed(self, "context_is_admin")
        return self._is_admin

    def policy_creds(self) -> dict:
        return {"project_id": self.project_id, "user_id": self.user_id, "roles": self.roles,
                "system_scope": self.system_scope}

    def at_least(self, version: str) -> bool:
        return self.microversion >= _version(version)


@functools.lru_cache(maxsize=256)
def _version(version: str) -> tuple[int, int]:
    """"2.47" → (2, 47), parsed once: views ask for every item of a list."""
    major, minor = version.split(".")
    return int(major), int(minor)


async def get_context(request: Request) -> RequestContext:
    # async: a plain def dependency would cost a thread hand-off on every request
    return request.state.context


def context_of(request: Request) -> RequestContext:
    """``get_context`` called in the handler: the hot routes (server create,
    show and delete, task polls) skip FastAPI's solving of one more
    dependency per request (about a tenth of a DELETE's CPU)."""
    return request.scope["state"]["context"]
