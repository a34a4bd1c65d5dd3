"""The console's login under Keystone (``[api] auth_strategy = keystone``).

A browser cannot put a token in an ``X-Auth-Token`` header of a page load or
an EventSource, so the console keeps the user's Keystone token in a cookie:
HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
it) and accepted only on GET and HEAD (reads; a change still needs the
header). The auth middleware validates it exactly as it validates the header,
through keystonemiddleware. The user either signs in with a password, for
which this API asks Keystone for a project-scoped token (keystoneauth1, as
every OpenStack client does), or pastes a token they already have
(``openstack token issue``). Under noauth2 there is nothing to log in to.
"""
from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from taskvisor.api.console.render import e, page
from taskvisor.api.middleware.auth import CONSOLE_COOKIE as COOKIE

LOG = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
LOGIN = "/console/login"
MAX_FORM = 16 * 1024


def _keystone(request: Request) -> bool:
    return request.app.state.tv.conf.api.auth_strategy == "keystone"


def _safe_next(value: str | None) -> str:
    """Only a path of this site (never //host or a scheme: no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _form(next_path: str, error: str = "", status: int = 200) -> HTMLResponse:
    failed = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    body = f"""{failed}
<form method="post" action="{LOGIN}" class="login">
<input type="hidden" name="next" value="{e(next_path)}">
<fieldset><legend>Keystone password</legend>
<label>User <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<label>Project <input name="project"></label>
<label>Domain <input name="domain" value="Default"></label></fieldset>
<fieldset><legend>or a token (<code>openstack token issue</code>)</legend>
<label>Token <input name="token" autocomplete="off"></label></fieldset>
<button type="submit">Log in</button></form>"""
    return HTMLResponse(page("Log in", body), status_code=status, headers={"Cache-Control": "no-store"})


@router.get(LOGIN)
def login_form(request: Request, next: str = "/"):
    if not _keystone(request):
        return RedirectResponse(_safe_next(next), status_code=303)  # noauth2: nothing to log in to
    return _form(_safe_next(next))


def _password_token(conf, username: str, password: str, project: str, domain: str) -> tuple[str, dt.datetime]:
    from keystoneauth1 import session
    from keystoneauth1.identity import generic
    section = conf.keystone_authtoken
    url = section.www_authenticate_uri or section.auth_url
    auth = generic.Password(auth_url=url, username=username, password=password, project_name=project,
                       user_domain_name=domain, project_domain_name=domain)
    verify = section.cafile or (not section.insecure)
    access = auth.get_access(session.Session(verify=verify))
    return access.auth_token, access.expires


@router.post(LOGIN)
async def login(request: Request):
    if not _keystone(request):
        return RedirectResponse("/", status_code=303)
    raw = await request.body()
    if len(raw) > MAX_FORM:
        return _form("/", "The form is too large.", 413)
    fields = {k: v[0].strip() for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    next_path = _safe_next(fields.get("next"))
    token, expires = fields.get("token", ""), None
    if not token:
        missing = [n for n in ("username", "password", "project") if not fields.get(n)]
        if missing:
            return _form(next_path, f"Give a user, password and project, or a token (missing: {', '.join(missing)}).",
                         400)
        from keystoneauth1 import exceptions as ks
        from starlette.concurrency import run_in_threadpool
        try:
            token, expires = await run_in_threadpool(
                _password_token, request.app.state.tv.conf, fields["username"], fields["password"],
                fields["project"], fields.get("domain") or "Default")
        except ks.Unauthorized:
            return _form(next_path, "Keystone refused these credentials.", 401)
        except ks.ClientException as exc:
            LOG.warning("console login: Keystone could not be asked: %s", type(exc).__name__)
            return _form(next_path, "Keystone could not be reached; try again later.", 503)
    # the token is validated by the auth middleware on the next request, like any token
    response = RedirectResponse(next_path, status_code=303)
    max_age = None
    if expires is not None:
        max_age = max(0, int((expires - dt.datetime.now(dt.UTC)).total_seconds()))
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.get("/console/logout")
def logout(request: Request):
    response = RedirectResponse(LOGIN if _keystone(request) else "/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response

