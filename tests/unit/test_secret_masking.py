"""secrets.mask_secrets' flat-dict path masks exactly what the general
path (oslo's mask_dict_password, then the driver key names) masks."""
from __future__ import annotations

import random

from oslo_utils import strutils

from taskvisor.api.baremetal import secrets


def _general(value):
    """The general path: what mask_secrets does for any value."""
    if isinstance(value, dict):
        value = strutils.mask_dict_password(value, secret=secrets.MASK)
        return {k: (secrets.MASK if secrets._is_secret(k) and v not in (None, "") else _general(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_general(v) for v in value]
    return value


KEYS = ["ipmi_address", "ipmi_password", "ipmi_username", "Password", "snmp_auth_key", "key", "kg_key", "token_url",
        "deploy_kernel", "snmp_community", "api_key", "admin_pass", "secret", "auth_token", "passwd", "monkey", "KEY"]
VALUES = [None, "", "10.0.0.1", "password=abc", "--password foo", "admin_password: s3cret",
          "<password>x</password>", "token=1", 3, 0, 1.5, True, False]


def test_flat_path_matches_the_general_path():
    rng = random.Random(15)
    for _ in range(3000):
        info = {rng.choice(KEYS): rng.choice(VALUES) for _ in range(rng.randint(0, 6))}
        masked = secrets.mask_secrets(info)
        assert masked == _general(info) and list(masked) == list(info), info
        assert [type(v) for v in masked.values()] == [type(v) for v in _general(info).values()]


def test_ipmi_driver_info():
    assert secrets.mask_secrets({"ipmi_address": "10.0.0.1", "ipmi_password": "p"}) == \
        {"ipmi_address": "10.0.0.1", "ipmi_password": secrets.MASK}
    nested = {"redfish": {"password": "p", "user": "u"}, "list": [{"token": "t"}]}
    assert secrets.mask_secrets(nested) == _general(nested)
