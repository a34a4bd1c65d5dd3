"""What of a node a caller may read: driver_info secrets masked for all but
admins (oslo.utils' ``mask_dict_password`` plus every key a driver marks
secret, case-insensitive, nested), and Ironic's redaction of driver_info,
driver_internal_info, last_error and reservation for callers whose policy
does not allow them."""
from __future__ import annotations

import functools

from oslo_utils import strutils

from taskvisor.api.policy import allowed

MASK = "******"
# Parts of key names real drivers mark secret (ipmi_password, redfish_password,
# snmp_auth_key, snmp_priv_key, snmp_community, ilo_password, drac_password,
# irmc_password, auth_token, client_secret, kg/encryption keys ...).
SECRET_PARTS = ("password", "passwd", "secret", "token", "auth_key", "priv_key", "private_key", "community",
                "credential", "passphrase", "kg_key", "encryption_key", "api_key", "_key")


@functools.lru_cache(maxsize=4096)  # a node list asks the same few key names of every node
def _is_secret(key) -> bool:
    name = str(key).lower()
    return any(part in name for part in SECRET_PARTS) or name == "key"


@functools.lru_cache(maxsize=4096)
def _masked_by_oslo(key: str) -> bool:
    """Whether ``mask_dict_password`` masks a key's value whatever it is
    (asked through its public API, with a value it leaves alone)."""
    return strutils.mask_dict_password({key: "x"}, secret=MASK)[key] == MASK


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _mask_flat(value: dict) -> dict:
    """``mask_secrets`` of a dict of str keys and scalar values (a driver_info,
    usually), with the key tests cached: a node list masks 1,000 of them."""
    out = {}
    for key, item in value.items():
        if _masked_by_oslo(key):
            out[key] = MASK
            continue
        if type(item) is str:
            item = strutils.mask_password(item, secret=MASK)
        out[key] = MASK if item not in (None, "") and _is_secret(key) else item
    return out


def mask_secrets(value):
    """A copy of ``value`` with every secret-named member masked, at any depth."""
    if isinstance(value, dict):
        if all(type(k) is str for k in value) and all(type(v) in _SCALARS for v in value.values()):
            return _mask_flat(value)
        value = strutils.mask_dict_password(value, secret=MASK)
        return {k: (MASK if _is_secret(k) and v not in (None, "") else mask_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def node_target(node: dict) -> dict:
    from taskvisor.policies.base import NO_PROJECT
    return {"node.owner": node.get("owner") or NO_PROJECT, "node.lessee": node.get("lessee") or NO_PROJECT,
            "project_id": node.get("owner") or NO_PROJECT}


REDACTED = {"driver_info": "baremetal:node:get:driver_info",
            "driver_internal_info": "baremetal:node:get:driver_internal_info",
            "last_error": "baremetal:node:get:last_error", "reservation": "baremetal:node:get:reservation"}


def shows_stored_driver_info(row: dict, check) -> bool:
    """Whether ``redact`` will put the node's stored driver_info in the answer
    (it may read it and its passwords): then masking it first is wasted."""
    if "content" in (row.get("driver_info") or {}):  # redact leaves such a (masked) dict as it is
        return False
    target = node_target(row)
    return check(REDACTED["driver_info"], target) and check("show_password", target)


def redact(rendered: dict, row: dict, ctx, check=None) -> dict:
    """Apply the caller's field policies to one rendered node (in place);
    ``check``: ``policy.memo_allowed(ctx)`` when redacting many nodes."""
    allowed_ = check or (lambda rule, target: allowed(ctx, rule, target))
    target = node_target(row)
    for field, rule in REDACTED.items():
        if field in rendered and rendered[field] not in (None, {}) and not allowed_(rule, target):
            text = f"** Value Redacted - Requires {rule} permission. **"
            rendered[field] = {"content": text} if isinstance(rendered[field], dict) else text
    if isinstance(rendered.get("driver_info"), dict) and "content" not in rendered["driver_info"] \
            and allowed_("show_password", target):
        rendered["driver_info"] = row.get("driver_info") or {}
    return rendered
