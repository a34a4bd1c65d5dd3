"""The hardened edge: every request passes here before any route runs.

- a request id and the microversion (bounded parse: 400/406, never a 500),
  echoed on every answer with the version headers;
- bodies above ``[oslo_middleware] max_request_body_size`` → 413, counted as
  they arrive (a lying or missing Content-Length changes nothing);
- a body on a JSON route needs a JSON Content-Type → 415 (as Nova);
- the JSON is parsed once here: invalid UTF-8, lone surrogates or NUL in a
  string, non-finite or out-of-range numbers, nesting deeper than
  ``[api] max_json_depth`` → 400. Routes read the parsed value from the
  scope (``taskvisor.api.validation.json_body``).
Image data uploads (PUT /image/v2/images/{id}/file) stream through
unbounded and need application/octet-stream.
"""
from __future__ import annotations

import json
import re
import uuid

from taskvisor.api import microversion
from taskvisor.api.errors import ApiError, api_of
from taskvisor.api.middleware.common import Headers, header, send_error

JSON_KEY = "taskvisor.json"
CONTEXT_KEY = "taskvisor.request"  # (request id, microversion) for the auth middleware
_UPLOAD = re.compile(r"^/image/v2/images/[^/]+/file$")
_JSON_TYPES = re.compile(r"^application/(json|[a-z0-9.+-]*\+json|openstack-images-v2\.[01]-json-patch)$")
# Ironic serves a path without a version as its default version, v1
# (/baremetal/nodes is /baremetal/v1/nodes); the root document stays itself.
_UNVERSIONED_BAREMETAL = re.compile(r"^/baremetal/(?!v1(/|$))[^/]")
GLANCE_PATCH = "application/openstack-images-v2.1-json-patch"  # Glance names it in Accept-Patch on a 415
INT_BOUND = 2 ** 63


class BadJson(ValueError):
    pass


def _bounded_int(text: str) -> int:
    value = int(text)
    if not -INT_BOUND <= value < INT_BOUND:
        raise BadJson("Malformed request body: a number is out of range (at most 64-bit integers)")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadJson("Malformed request body: a number is out of range")
    return value


def _no_constant(name: str):
    raise BadJson(f"Malformed request body: {name} is not valid JSON")


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise BadJson("Malformed request body: strings may not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadJson("Malformed request body: strings must be valid unicode (lone surrogate)") from None


def parse_json(raw: bytes, max_depth: int):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJson("Malformed request body: not valid UTF-8") from None
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)
    except RecursionError:
        raise BadJson(f"Malformed request body: JSON nested deeper than {max_depth} levels") from None
    except BadJson:
        raise
    except ValueError:
        raise BadJson("Malformed request body") from None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_string(item)
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                raise BadJson(f"Malformed request body: JSON nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, member in item.items():
                    _check_string(key)
                    stack.append((member, depth + 1))
            else:
                stack.extend((member, depth + 1) for member in item)
    return value


class TooLarge(Exception):
    pass


class EdgeMiddleware:
    def __init__(self, app, conf):
        self.app, self.conf = app, conf
        self.max_body = conf.oslo_middleware.max_request_body_size
        self.max_depth = conf.api.max_json_depth

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if _UNVERSIONED_BAREMETAL.match(path):
            path = "/baremetal/v1" + path[len("/baremetal"):]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        api = api_of(path)
        request_id = f"req-{uuid.uuid4()}"
        extra = {"x-openstack-request-id": request_id}
        version = None
        try:
            if api == "compute":
                extra["x-compute-request-id"] = request_id
                version = microversion.parse(Headers(scope))
                text = microversion.fmt(version)
                extra.update({"OpenStack-API-Version": f"compute {text}", "X-OpenStack-Nova-API-Version": text,
                              "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"})
            elif api == "baremetal":
                from taskvisor.api.baremetal import versions as ironic
                extra.update(ironic.range_headers())
                version = ironic.parse(Headers(scope))
                extra[ironic.HEADER] = ironic.fmt(version)
        except ApiError as exc:
            return await send_error(send, path, exc.status, exc.message, {**extra, **exc.headers})
        scope.setdefault("state", {})[CONTEXT_KEY] = (request_id, version)
        raw_extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {k for k, _ in raw_extra}
                message["headers"] = [h for h in message.get("headers", []) if h[0].lower() not in names] + raw_extra
            await send(message)

        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS") and not header(scope, b"content-length") \
                and not header(scope, b"transfer-encoding"):
            return await self.app(scope, receive, send_with_headers)
        if _UPLOAD.match(path):
            ctype = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if scope["method"] == "PUT" and ctype not in ("", "application/octet-stream"):
                return await send_error(send_with_headers, path, 415,
                                        "Image data must be sent as application/octet-stream.")
            return await self.app(scope, receive, send_with_headers)
        try:
            body = await self._read(scope, receive)
        except TooLarge:
            return await send_error(send_with_headers, path, 413,
                                    f"Request is too large: the limit is {self.max_body} bytes.")
        if body:
            ctype = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if not _JSON_TYPES.match(ctype):
                shown = ctype[:40] or "none"
                hint = {"Accept-Patch": GLANCE_PATCH} if api == "image" and scope["method"] == "PATCH" else {}
                return await send_error(send_with_headers, path, 415,
                                        f"Unsupported Content-Type ({shown}): send application/json.", hint)
            try:
                scope["state"][JSON_KEY] = parse_json(body, self.max_depth)
            except BadJson as exc:
                return await send_error(send_with_headers, path, 400, str(exc))
        else:
            scope["state"][JSON_KEY] = None

        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)

    async def _read(self, scope, receive) -> bytes:
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit() or len(declared) > 18:
                raise TooLarge()
            if int(declared) > self.max_body:
                raise TooLarge()
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise TooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)
