"""Identity for every request, two strategies (``[api] auth_strategy``):

- ``keystone``: the token (X-Auth-Token) is validated by keystonemiddleware's
  ``auth_token`` — the same code, options (``[keystone_authtoken]``) and
  token cache Nova and Ironic run. It is a WSGI middleware; the bridge below
  hands it the request's headers only (never the body) in a worker thread and
  reads back the identity it sets, or the 401 and WWW-Authenticate it answers.
- ``noauth2``: no identity service. Identity comes from X-Project-Id /
  X-User-Id / X-Roles (and OpenStack-System-Scope for a system-scoped
  caller), or the ``[api] default_*`` options (admin by default, as Nova's
  noauth2). Only for a loopback listener (see ``check_listen``).

Version documents, ``/``, ``/healthcheck`` and the OpenAPI document need no
identity (``OPEN_PATHS``).
"""
from __future__ import annotations

import ipaddress
import logging

import anyio

from taskvisor.api.context import RequestContext, with_implied
from taskvisor.api.middleware.common import header, send_error
from taskvisor.api.middleware.edge import CONTEXT_KEY

LOG = logging.getLogger(__name__)

OPEN_PATHS = {"/", "/healthcheck", "/openapi.json", "/metrics",
              "/console/static/console.js", "/console/static/console.css", "/console/login", "/console/logout",
              "/compute", "/compute/", "/compute/v2.1", "/compute/v2.1/", "/compute/v2", "/compute/v2/",
              "/image", "/image/", "/image/versions",
              "/baremetal", "/baremetal/", "/baremetal/v1", "/baremetal/v1/"}
STRATEGIES = ("keystone", "noauth2")


class InsecureListen(SystemExit):
    pass


def strategy(conf) -> str:
    name = conf.api.auth_strategy.strip().lower()
    if name == "noauth":  # the old name
        name = "noauth2"
    if name not in STRATEGIES:
        raise SystemExit(f"[api] auth_strategy = {conf.api.auth_strategy!r}: expected one of {', '.join(STRATEGIES)}")
    return name


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_listen(conf, insecure_noauth: bool) -> None:
    """noauth2 trusts whatever identity a request claims: refuse to serve it
    beyond this machine unless the operator says so explicitly."""
    if strategy(conf) == "noauth2" and not is_loopback(conf.api.listen) and not insecure_noauth:
        raise InsecureListen(
            f"refusing to listen on {conf.api.listen}: [api] auth_strategy = noauth2 lets any client act as any "
            "project, user and role (X-Project-Id / X-Roles headers, admin by default). Use auth_strategy = "
            "keystone, listen on 127.0.0.1, or pass --insecure-noauth if the network is yours alone.")


def _base_context(scope, enforcer) -> RequestContext:
    request_id, version = scope.get("state", {}).get(CONTEXT_KEY, (None, None))
    # the edge's id passed in: the field's default would draw a uuid4 only to drop it
    ctx = RequestContext(enforcer=enforcer, request_id=request_id) if request_id else RequestContext(enforcer=enforcer)
    if version:
        ctx.microversion = version
    return ctx


class NoAuth2Middleware:
    def __init__(self, app, conf, enforcer):
        self.app, self.conf, self.enforcer = app, conf, enforcer

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        ctx = _base_context(scope, self.enforcer)
        api = self.conf.api
        roles = header(scope, b"x-roles")
        ctx.roles = with_implied([r.strip() for r in (roles if roles is not None else api.default_roles).split(",")
                                  if r.strip()])
        ctx.project_id = header(scope, b"x-project-id") or header(scope, b"x-tenant-id") or api.default_project_id
        ctx.user_id = header(scope, b"x-user-id") or api.default_user_id
        # keystonemiddleware's header for a system-scoped token (Ironic's system personas)
        ctx.system_scope = header(scope, b"openstack-system-scope")
        ctx.authenticated = True
        scope.setdefault("state", {})["context"] = ctx
        await self.app(scope, receive, send)


def _start_response_capture(box: dict):
    def start_response(status, headers, exc_info=None):
        box["status"], box["headers"] = int(status.split()[0]), dict(headers)
        return lambda data: None
    return start_response


class _Identity:
    """The WSGI app keystonemiddleware wraps: reached only with a valid token."""

    def __call__(self, environ, start_response):
        environ["taskvisor.identity"] = {
            "project_id": environ.get("HTTP_X_PROJECT_ID"), "user_id": environ.get("HTTP_X_USER_ID"),
            "roles": environ.get("HTTP_X_ROLES", ""), "system_scope": environ.get("HTTP_OPENSTACK_SYSTEM_SCOPE"),
            "status": environ.get("HTTP_X_IDENTITY_STATUS")}
        start_response("200 OK", [])
        return [b""]


def authtoken_options(conf) -> dict:
    """``[keystone_authtoken]`` as keystonemiddleware's paste options (Nova's names)."""
    section = conf.keystone_authtoken
    names = ("www_authenticate_uri", "auth_url", "auth_type", "username", "password", "project_name",
             "user_domain_name", "project_domain_name", "region_name", "interface", "memcached_servers",
             "token_cache_time", "cafile", "insecure", "service_token_roles_required")
    options = {name: str(getattr(section, name)) for name in names if getattr(section, name) not in ("", None)}
    options["delay_auth_decision"] = "false"
    options["log_name"] = "taskvisor.keystonemiddleware"
    return options


class KeystoneMiddleware:
    def __init__(self, app, conf, enforcer):
        from keystonemiddleware import auth_token
        self.app, self.conf, self.enforcer = app, conf, enforcer
        self.protocol = auth_token.AuthProtocol(_Identity(), authtoken_options(conf))
        self.limiter = anyio.CapacityLimiter(16)

    def _validate(self, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
        import io
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
                   "SERVER_NAME": "taskvisor", "SERVER_PORT": "0", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO()}
        for key, value in headers:
            name = key.decode("latin-1").upper().replace("-", "_")
            if name in ("X_AUTH_TOKEN", "X_SERVICE_TOKEN", "X_STORAGE_TOKEN"):
                environ[f"HTTP_{name}"] = value.decode("latin-1")
        box: dict = {}
        self.protocol(environ, _start_response_capture(box))
        return {"status": box.get("status", 500), "headers": box.get("headers", {}),
                "identity": environ.get("taskvisor.identity")}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        ctx = _base_context(scope, self.enforcer)
        scope.setdefault("state", {})["context"] = ctx
        path = scope["path"]
        console = is_console_page(path)
        if path in OPEN_PATHS and not console:
            return await self.app(scope, receive, send)
        headers = scope["headers"]
        if header(scope, b"x-auth-token") is None and scope["method"] in ("GET", "HEAD"):
            # the console's browser: its token is a cookie (reads only; see api/console/login.py)
            token = console_token(scope)
            if token:
                headers = [*headers, (b"x-auth-token", token.encode("latin-1"))]
            elif console:
                return await send_login_redirect(scope, send)
        result = await anyio.to_thread.run_sync(self._validate, scope["method"], path, headers,
                                                limiter=self.limiter)
        identity = result["identity"]
        if result["status"] != 200 or not identity or identity.get("status") != "Confirmed":
            if result["status"] >= 500:
                return await send_error(send, path, 503, "The identity service could not validate the token.")
            if console:  # an expired or revoked console token: sign in again
                return await send_login_redirect(scope, send)
            www = {k: v for k, v in result["headers"].items() if k.lower() == "www-authenticate"}
            return await send_error(send, path, 401, "The request you have made requires authentication.", www)
        ctx.project_id, ctx.user_id = identity["project_id"], identity["user_id"]
        ctx.roles = [r.strip().lower() for r in identity["roles"].split(",") if r.strip()]
        ctx.system_scope = identity["system_scope"]
        ctx.authenticated = True
        await self.app(scope, receive, send)


CONSOLE_COOKIE = "taskvisor_token"  # set by /console/login, HttpOnly and SameSite=Strict


def is_console_page(path: str) -> bool:
    """A console page or fragment (HTML for a browser), not its assets or login."""
    return path == "/" or (path.startswith("/console/") and not path.startswith("/console/static/")
                           and path not in ("/console/login", "/console/logout"))


def console_token(scope) -> str | None:
    from http.cookies import CookieError, SimpleCookie
    raw = header(scope, b"cookie")
    if not raw:
        return None
    try:
        morsel = SimpleCookie(raw).get(CONSOLE_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel is not None and morsel.value else None


async def send_login_redirect(scope, send) -> None:
    from urllib.parse import quote
    target = scope["path"] + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
    location = f"/console/login?next={quote(target, safe='')}"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0"),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": b""})


def auth_middleware(conf):
    return KeystoneMiddleware if strategy(conf) == "keystone" else NoAuth2Middleware
