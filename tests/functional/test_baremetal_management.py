"""Node validate, boot device and supported boot devices: answered at once
by a conductor over RPC, as Ironic's conductor answers them."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

OTHER = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member"}
READER = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def test_validate_names_every_interface(bm):
    node = bm.create("val")
    resp = bm.req("GET", f"/nodes/{node['uuid']}/validate")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {"power", "deploy", "management", "boot", "console", "raid", "network", "storage"} <= set(body)
    assert body["power"] == {"result": True, "reason": None}
    # by name too
    assert bm.req("GET", "/nodes/val/validate").json() == body


def test_validate_reports_a_failing_interface(bm):
    node = bm.create("val-bad", driver="redfish", driver_info={})
    body = bm.req("GET", f"/nodes/{node['uuid']}/validate").json()
    assert body["power"]["result"] is False and body["power"]["reason"]


def test_boot_device_and_supported(bm):
    node = bm.create("boot")
    resp = bm.req("GET", f"/nodes/{node['uuid']}/management/boot_device")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"boot_device": "disk", "persistent": False}
    supported = bm.req("GET", f"/nodes/{node['uuid']}/management/boot_device/supported").json()
    assert "pxe" in supported["supported_boot_devices"]


def test_missing_node_and_policy(bm):
    assert bm.req("GET", "/nodes/nope/validate").status_code == 404
    node = bm.create("pol")
    uuid = node["uuid"]
    assert bm.req("GET", f"/nodes/{uuid}/management/boot_device", headers=OTHER).status_code in (403, 404)
    resp = bm.req("GET", f"/nodes/{uuid}/validate", headers=READER)
    assert resp.status_code in (403, 404) and fault(resp)


def test_set_boot_device_is_a_task_answered_when_done(bm):
    node = bm.create("setboot")
    uuid = node["uuid"]
    resp = bm.req("PUT", f"/nodes/{uuid}/management/boot_device", {"boot_device": "pxe", "persistent": True})
    assert resp.status_code == 204, resp.text
    assert bm.task(resp.headers["X-Taskvisor-Task"])["action"] == "set_boot_device"
    assert bm.req("GET", f"/nodes/{uuid}/management/boot_device").json() == {"boot_device": "pxe",
                                                                              "persistent": True}
    assert bm.node(uuid)["reservation"] is None
    bad = bm.req("PUT", f"/nodes/{uuid}/management/boot_device", {"boot_device": "floppy"})
    assert bad.status_code == 400 and "floppy" in fault(bad)
    assert bm.req("GET", f"/nodes/{uuid}/management/boot_device").json()["boot_device"] == "pxe"
    assert bm.req("PUT", f"/nodes/{uuid}/management/boot_device", {"persistent": True}).status_code == 400
    assert bm.req("PUT", f"/nodes/{uuid}/management/boot_device", {"boot_device": "pxe"},
                  headers=READER).status_code in (403, 404)
