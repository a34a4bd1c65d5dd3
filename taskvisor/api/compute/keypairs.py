"""Keypairs (``os-keypairs``): per user; created from a given public key or
generated (until 2.92); types ssh and x509 (2.2); an admin may act for
another user (2.10). Nova's shapes, codes and messages."""
from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, func, insert, select

from taskvisor.api import openapi
from taskvisor.api.compute import quota
from taskvisor.api.context import RequestContext, get_context
from taskvisor.api.errors import BadRequest, Conflict, NotFound
from taskvisor.api.policy import authorize
from taskvisor.api.responses import JsonResponse
from taskvisor.api.validation import json_body, page_limit, strict_query, validate
from taskvisor.db.models import key_pairs
from taskvisor.db.session import utcnow

router = APIRouter(prefix="/compute/v2.1")

NAME_OLD = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[_\\- a-zA-Z0-9]+$"}
NAME_V292 = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[_\\-@. a-zA-Z0-9]+$"}
CREATE_BODY = {  # what /openapi.json declares: the union of the bands below
    "type": "object", "required": ["keypair"], "additionalProperties": False,
    "properties": {"keypair": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255},
                       "type": {"type": "string", "enum": ["ssh", "x509"]},
                       "public_key": {"type": "string"}, "user_id": {"type": "string"}}}},
}


def _band_schema(name: dict, fields: tuple[str, ...], required: list[str]) -> dict:
    props = {"name": name, "public_key": {"type": "string"}, "type": {"type": "string", "enum": ["ssh", "x509"]},
             "user_id": {"type": "string"}}
    return {"type": "object", "required": ["keypair"], "additionalProperties": False, "properties": {
        "keypair": {"type": "object", "required": required, "additionalProperties": False,
                    "properties": {k: v for k, v in props.items() if k in fields}}}}


# Nova's body schema per microversion band: type at 2.2, user_id at 2.10, import only (and @ .) at 2.92
SCHEMAS = [("2.92", _band_schema(NAME_V292, ("name", "public_key", "type", "user_id"), ["name", "public_key"])),
           ("2.10", _band_schema(NAME_OLD, ("name", "public_key", "type", "user_id"), ["name"])),
           ("2.2", _band_schema(NAME_OLD, ("name", "public_key", "type"), ["name"])),
           ("2.1", _band_schema(NAME_OLD, ("name", "public_key"), ["name"]))]


def _schema(ctx: RequestContext) -> dict:
    return next(schema for version, schema in SCHEMAS if ctx.at_least(version))


def _colons(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_fingerprint(public_key: str) -> str:
    """MD5 of the key blob, as Nova shows it; 400 for anything that is not an OpenSSH public key."""
    from cryptography.hazmat.primitives import serialization  # here: ~50 modules an idle API never needs
    try:
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1])
    except (ValueError, IndexError, binascii.Error, TypeError) as exc:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from exc
    return _colons(hashlib.md5(blob).digest())


def x509_fingerprint(public_key: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    try:
        cert = x509.load_pem_x509_certificate(public_key.encode())
    except ValueError as exc:
        raise BadRequest("Keypair data is invalid: failed to generate X509 fingerprint") from exc
    return _colons(cert.fingerprint(hashes.SHA1()))  # noqa: S303 (Nova's fingerprint)


def generate(key_type: str, user_id: str) -> tuple[str, str]:
    """A new key: (public key, private key in PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    if key_type == "ssh":
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
        return f"{public} Generated-by-Nova", private
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id or "taskvisor")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), private


def _view(row: dict, fields: tuple[str, ...], ctx: RequestContext) -> dict:
    out = {f: row[f] for f in fields}
    if ctx.at_least("2.2"):
        out["type"] = row["type"]
    return out


BRIEF = ("name", "public_key", "fingerprint")
CREATED = BRIEF + ("user_id",)


def _show_view(row: dict, ctx: RequestContext) -> dict:
    out = _view(row, CREATED, ctx)
    out.update(id=row["id"], created_at=row["created_at"].isoformat(), deleted=False, deleted_at=None,
               updated_at=None)
    return out


def _target_user(request: Request, ctx: RequestContext, body_user: str | None = None) -> str:
    """2.10: an admin names another user (``user_id`` in the body or the query)."""
    if not ctx.at_least("2.10"):
        return ctx.user_id
    return body_user or request.query_params.get("user_id") or ctx.user_id


def _get(conn, user_id: str, name: str) -> dict:
    row = conn.execute(select(key_pairs).where(key_pairs.c.user_id == user_id, key_pairs.c.name == name)
                       ).mappings().first()
    if row is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return dict(row)


@router.post("/os-keypairs", openapi_extra=openapi.body(CREATE_BODY))
def create_keypair(request: Request, body=Depends(json_body), ctx: RequestContext = Depends(get_context)):
    spec = validate(body, _schema(ctx))["keypair"]
    user_id = _target_user(request, ctx, spec.get("user_id"))
    authorize(ctx, "os_compute_api:os-keypairs:create", {"user_id": user_id})
    name, key_type = spec["name"], spec.get("type", "ssh")
    if not ctx.at_least("2.92") and (name != name.strip() or not name.strip()):
        raise BadRequest("Invalid input for field/attribute name. Value: %s. It must not have leading or "
                         "trailing whitespace." % name)
    private = None
    if "public_key" in spec:
        public = spec["public_key"]
        if not public.strip():
            raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    else:
        public, private = generate(key_type, user_id)
    fingerprint = x509_fingerprint(public) if key_type == "x509" else ssh_fingerprint(public)
    row = {"name": name, "user_id": user_id, "project_id": ctx.project_id if user_id == ctx.user_id else None,
           "fingerprint": fingerprint, "public_key": public, "type": key_type, "created_at": utcnow()}
    conf = request.app.state.tv.conf
    with request.app.state.tv.db.write() as conn:
        quota.lock_project(conn, f"user:{user_id}")
        if conn.execute(select(key_pairs.c.id).where(key_pairs.c.user_id == user_id,
                                                     key_pairs.c.name == name)).first():
            raise Conflict(f"Key pair '{name}' already exists.")
        owned = conn.execute(select(func.count()).select_from(key_pairs)
                             .where(key_pairs.c.user_id == user_id)).scalar()
        quota.check_count(conn, conf, ctx.project_id, user_id, "key_pairs", 1,
                          "Quota exceeded, too many key pairs.", current=owned)
        row["id"] = conn.execute(insert(key_pairs).values(**row)).inserted_primary_key[0]
    out = _view(row, CREATED, ctx)
    if private is not None:
        out["private_key"] = private
    return JsonResponse({"keypair": out}, status_code=201 if ctx.at_least("2.2") else 200)


@router.get("/os-keypairs", openapi_extra=openapi.query(openapi.LIMIT, openapi.MARKER, ("user_id", openapi.STRING)))
def list_keypairs(request: Request, ctx: RequestContext = Depends(get_context)):
    strict_query(request.query_params, ctx, ("user_id", "limit", "marker"))
    user_id = _target_user(request, ctx)
    authorize(ctx, "os_compute_api:os-keypairs:index", {"user_id": user_id})
    query = select(key_pairs).where(key_pairs.c.user_id == user_id).order_by(key_pairs.c.name)
    paged = ctx.at_least("2.35")
    limit = page_limit(request.query_params, request.app.state.tv.conf.api.max_limit) if paged else None
    marker = request.query_params.get("marker") if paged else None
    with request.app.state.tv.db.read() as conn:
        if marker:
            if conn.execute(select(key_pairs.c.id).where(key_pairs.c.user_id == user_id,
                                                         key_pairs.c.name == marker)).first() is None:
                raise BadRequest(f"Marker {marker} could not be found.")
            query = query.where(key_pairs.c.name > marker)
        if limit is not None:
            query = query.limit(limit)
        rows = [dict(r) for r in conn.execute(query).mappings()]
    out: dict = {"keypairs": [{"keypair": _view(r, BRIEF, ctx)} for r in rows]}
    if paged and rows and len(rows) == limit:
        args = [(k, v) for k, v in request.query_params.multi_items() if k not in ("marker", "limit")]
        args += [("limit", str(limit)), ("marker", rows[-1]["name"])]
        base = str(request.base_url).rstrip("/")
        out["keypairs_links"] = [{"rel": "next", "href": f"{base}/compute/v2.1/os-keypairs?{urlencode(args)}"}]
    return out


@router.get("/os-keypairs/{keypair_name}", openapi_extra=openapi.query(("user_id", openapi.STRING)))
def show_keypair(keypair_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    strict_query(request.query_params, ctx, ("user_id",))
    user_id = _target_user(request, ctx)
    authorize(ctx, "os_compute_api:os-keypairs:show", {"user_id": user_id})
    with request.app.state.tv.db.read() as conn:
        return {"keypair": _show_view(_get(conn, user_id, keypair_name), ctx)}


@router.delete("/os-keypairs/{keypair_name}", status_code=204,
               openapi_extra=openapi.query(("user_id", openapi.STRING)))
def delete_keypair(keypair_name: str, request: Request, ctx: RequestContext = Depends(get_context)):
    strict_query(request.query_params, ctx, ("user_id",))
    user_id = _target_user(request, ctx)
    authorize(ctx, "os_compute_api:os-keypairs:delete", {"user_id": user_id})
    with request.app.state.tv.db.write() as conn:
        row = _get(conn, user_id, keypair_name)
        conn.execute(delete(key_pairs).where(key_pairs.c.id == row["id"]))
    return Response(status_code=204 if ctx.at_least("2.2") else 202)


def public_key_of(conn, user_id: str, name: str) -> dict | None:
    """The user's keypair named ``name`` (for server create), or None."""
    row = conn.execute(select(key_pairs).where(key_pairs.c.user_id == user_id, key_pairs.c.name == name)
                       ).mappings().first()
    return dict(row) if row else None

