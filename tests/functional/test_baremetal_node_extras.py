"""A node's RAID configuration, console, boot mode and secure boot, BIOS
settings, firmware, history, virtual media, indicators, vendor passthru
methods and the ramdisk heartbeat: shapes, microversion gates and policy as
Ironic answers them, through the API, the conductor and the node flows."""
from __future__ import annotations

import pytest

from tests.functional.baremetal import Baremetal, fault

OTHER = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member"}
READER = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}
MEMBER = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
RAID = {"logical_disks": [{"size_gb": 100, "raid_level": "1"}]}


@pytest.fixture
def bm(cloud) -> Baremetal:
    return Baremetal(cloud)


def v(minor: int) -> dict:
    return {"X-OpenStack-Ironic-API-Version": f"1.{minor}"}


def test_raid_config_is_checked_and_saved(bm):
    uuid = bm.create("raid", owner="projA")["uuid"]
    assert bm.req("PUT", f"/nodes/{uuid}/states/raid", RAID).status_code == 204
    assert bm.node(uuid)["target_raid_config"] == RAID
    assert bm.req("GET", f"/nodes/{uuid}/states").json()["target_raid_config"] == RAID
    bad = bm.req("PUT", f"/nodes/{uuid}/states/raid", {"logical_disks": [{"size_gb": 1, "raid_level": "7"}]})
    assert bad.status_code == 400 and fault(bad).startswith("RAID config validation error")
    two_roots = {"logical_disks": [{"size_gb": 1, "raid_level": "0", "is_root_volume": True}] * 2}
    assert bm.req("PUT", f"/nodes/{uuid}/states/raid", two_roots).status_code == 400
    assert bm.req("PUT", f"/nodes/{uuid}/states/raid", {}).status_code == 204  # clears it
    assert bm.node(uuid)["target_raid_config"] == {}
    assert bm.req("PUT", f"/nodes/{uuid}/states/raid", RAID, headers=v(11)).status_code == 406
    assert bm.req("PUT", f"/nodes/{uuid}/states/raid", RAID, headers=OTHER).status_code == 404
    assert bm.req("PUT", f"/nodes/{uuid}/states/raid", RAID, headers=READER).status_code == 403
    assert bm.req("PUT", f"/nodes/{uuid}/states/raid", RAID, headers=MEMBER).status_code == 204
    no_raid = bm.create("noraid", raid_interface="no-raid")["uuid"]
    assert bm.req("PUT", f"/nodes/{no_raid}/states/raid", RAID).status_code == 404
    # any other state action is Ironic's 405, before any lookup
    assert bm.req("PUT", f"/nodes/{uuid}/states/target_raid_config", {"raid": 1}, headers=OTHER).status_code == 405


def test_console_is_a_task_on_the_node(bm):
    uuid = bm.create("con", owner="projA")["uuid"]
    assert bm.req("GET", f"/nodes/{uuid}/states/console").json() == {"console_enabled": False,
                                                                      "console_info": None}
    resp = bm.req("PUT", f"/nodes/{uuid}/states/console", {"enabled": True})
    assert resp.status_code == 202, resp.text
    task = bm.wait_task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded" and task["action"] == "set_console"
    assert bm.node(uuid)["console_enabled"] is True
    assert bm.req("GET", f"/nodes/{uuid}/states/console").json() == {"console_enabled": True, "console_info": {}}
    # the path Ironic's pecan routing also serves (ironic-tempest-plugin's client uses it)
    assert bm.req("GET", f"/nodes/states/console/{uuid}").json()["console_enabled"] is True
    listed = [t["action"] for t in bm.req("GET", f"/nodes/{uuid}/tasks").json()["tasks"]]
    assert "set_console" in listed
    resp = bm.req("PUT", f"/nodes/{uuid}/states/console", {"enabled": "false"})
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    assert bm.node(uuid)["console_enabled"] is False
    assert bm.req("PUT", f"/nodes/{uuid}/states/console", {"enabled": "maybe"}).status_code == 400
    assert bm.req("PUT", f"/nodes/{uuid}/states/console", {}).status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/states/console", headers=OTHER).status_code == 404
    assert bm.req("GET", f"/nodes/{uuid}/states/console", headers=READER).status_code == 403
    none = bm.create("nocon", console_interface="no-console")["uuid"]
    refused = bm.req("PUT", f"/nodes/{none}/states/console", {"enabled": True})
    assert refused.status_code == 400 and "does not support console" in fault(refused)


def test_boot_mode_and_secure_boot(bm):
    uuid = bm.create("bmode", owner="projA")["uuid"]
    resp = bm.req("PUT", f"/nodes/{uuid}/states/boot_mode", {"target": "uefi"})
    assert resp.status_code == 202, resp.text
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    resp = bm.req("PUT", f"/nodes/{uuid}/states/secure_boot", {"target": True})
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    node = bm.node(uuid)
    assert node["boot_mode"] == "uefi" and node["secure_boot"] is True
    assert bm.req("PUT", f"/nodes/{uuid}/states/boot_mode", {"target": "efi"}).status_code == 400
    assert bm.req("PUT", f"/nodes/{uuid}/states/secure_boot", {"target": "x"}).status_code == 400
    assert bm.req("PUT", f"/nodes/{uuid}/states/boot_mode", {"target": "uefi"}, headers=v(75)).status_code == 404
    assert bm.req("PUT", f"/nodes/{uuid}/states/boot_mode", {"target": "bios"}, headers=OTHER).status_code == 404
    assert bm.req("PUT", f"/nodes/{uuid}/states/boot_mode", {"target": "bios"}, headers=READER).status_code == 403


def test_bios_settings_cached_after_a_bios_step(bm):
    node = bm.manageable("bios", owner="projA")
    uuid = node["uuid"]
    assert bm.req("GET", f"/nodes/{uuid}/bios").json() == {"bios": []}
    settings = [{"name": "LogicalProc", "value": "Enabled"}, {"name": "ProcVirtualization", "value": "Disabled"}]
    bm.act(uuid, "clean", clean_steps=[{"interface": "bios", "step": "apply_configuration",
                                        "args": {"settings": settings}}])
    listed = bm.req("GET", f"/nodes/{uuid}/bios").json()["bios"]
    assert [(s["name"], s["value"]) for s in listed] == [("LogicalProc", "Enabled"),
                                                         ("ProcVirtualization", "Disabled")]
    assert set(listed[0]) == {"name", "value", "created_at", "updated_at", "links"}
    assert listed[0]["links"][0]["href"].endswith(f"/v1/nodes/{uuid}/bios/LogicalProc")
    detail = bm.req("GET", f"/nodes/{uuid}/bios?detail=true").json()["bios"][0]
    assert detail["attribute_type"] is None and "read_only" in detail
    one = bm.req("GET", f"/nodes/{uuid}/bios/LogicalProc").json()
    assert one["LogicalProc"]["value"] == "Enabled"
    missing = bm.req("GET", f"/nodes/{uuid}/bios/Nope")
    assert missing.status_code == 404 and fault(missing) == f"Node {uuid} doesn't have a BIOS setting 'Nope'"
    assert bm.req("GET", f"/nodes/{uuid}/bios?detail=true", headers=v(73)).status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/bios?detail=true&fields=name").status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/bios", headers=v(39)).status_code == 404
    assert bm.req("GET", f"/nodes/{uuid}/bios", headers=READER).status_code == 200
    assert bm.req("GET", f"/nodes/{uuid}/bios", headers=OTHER).status_code == 404
    bm.act(uuid, "clean", clean_steps=[{"interface": "bios", "step": "factory_reset"}])
    assert bm.req("GET", f"/nodes/{uuid}/bios").json() == {"bios": []}


def test_firmware_list(bm):
    uuid = bm.create("fw", owner="projA")["uuid"]
    assert bm.req("GET", f"/nodes/{uuid}/firmware").json() == {"firmware": []}
    assert bm.req("GET", f"/nodes/{uuid}/firmware", headers=v(85)).status_code == 404
    early = bm.req("GET", f"/nodes/{uuid}/firmware?fields=vendor", headers=v(113))
    assert early.status_code == 400 and "1.114" in fault(early)
    assert bm.req("GET", f"/nodes/{uuid}/firmware?fields=nope").status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/firmware", headers=OTHER).status_code == 404
    assert bm.req("GET", f"/nodes/{uuid}/firmware", headers=READER).status_code == 200


def test_history_records_a_failed_task(bm):
    uuid = bm.create("hist", owner="projA", driver_info={"fake_power_fail": True})["uuid"]
    assert bm.req("GET", f"/nodes/{uuid}/history").json() == {"history": []}
    resp = bm.power(uuid, "power on")
    assert bm.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "failed"
    events = bm.req("GET", f"/nodes/{uuid}/history").json()["history"]
    assert len(events) == 1 and events[0]["severity"] == "ERROR" and "fake power failure" in events[0]["event"]
    assert set(events[0]) == {"uuid", "created_at", "severity", "event", "links"}
    one = bm.req("GET", f"/nodes/{uuid}/history/{events[0]['uuid']}").json()
    assert one["event_type"] == "power" and one["project"] == "admin" and "duration_seconds" in one
    detail = bm.req("GET", f"/nodes/{uuid}/history?detail=true", headers=v(112)).json()["history"][0]
    assert "event_type" in detail and "project" not in detail
    assert bm.req("GET", f"/nodes/{uuid}/history/nope").status_code == 404
    assert bm.req("GET", f"/nodes/{uuid}/history?sort_dir=up").status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/history", headers=v(77)).status_code == 404
    assert bm.req("GET", f"/nodes/{uuid}/history", headers=OTHER).status_code == 404
    assert bm.req("GET", f"/nodes/{uuid}/history", headers=READER).status_code == 200
    assert bm.req("DELETE", f"/nodes/{uuid}").status_code == 204


def test_vmedia_attach_and_detach(bm):
    uuid = bm.create("vm", owner="projA")["uuid"]
    media = {"device_type": "cdrom", "image_url": "http://images.example/boot.iso"}
    resp = bm.req("POST", f"/nodes/{uuid}/vmedia", media)
    assert resp.status_code == 204, resp.text
    assert bm.task(resp.headers["X-Taskvisor-Task"])["action"] == "vmedia"
    assert bm.req("GET", f"/nodes/{uuid}/vmedia").json() == {"vmedia": [media]}
    assert bm.req("DELETE", f"/nodes/{uuid}/vmedia?device_types=cdrom").status_code == 204
    assert bm.req("GET", f"/nodes/{uuid}/vmedia").json() == {"vmedia": []}
    assert bm.req("DELETE", f"/nodes/{uuid}/vmedia?device_types=tape").status_code == 400
    assert bm.req("POST", f"/nodes/{uuid}/vmedia", {**media, "image_url": "ftp://x/y.iso"}).status_code == 400
    assert bm.req("POST", f"/nodes/{uuid}/vmedia", {"device_type": "CDROM", "image_url": "http://x"}
                  ).status_code == 400
    assert bm.req("POST", f"/nodes/{uuid}/vmedia", media, headers=v(88)).status_code == 404
    assert bm.req("PUT", f"/nodes/{uuid}/vmedia", media, headers=v(88)).status_code == 404
    assert bm.req("PUT", f"/nodes/{uuid}/vmedia", media).status_code == 405
    assert bm.req("GET", f"/nodes/{uuid}/vmedia", headers=v(92)).status_code == 404
    assert bm.req("POST", f"/nodes/{uuid}/vmedia", media, headers=OTHER).status_code == 404
    assert bm.req("POST", f"/nodes/{uuid}/vmedia", media, headers=READER).status_code == 403


def test_indicators(bm):
    uuid = bm.create("led", owner="projA")["uuid"]
    listed = bm.req("GET", f"/nodes/{uuid}/management/indicators").json()["indicators"]
    assert {i["name"] for i in listed} == {"led-0@chassis", "led@system"}
    assert bm.req("GET", f"/nodes/{uuid}/management/indicators/led@system").json() == {"state": "ON"}
    resp = bm.req("PUT", f"/nodes/{uuid}/management/indicators/led@system", {"state": "BLINKING"})
    assert resp.status_code == 204, resp.text
    assert bm.req("GET", f"/nodes/{uuid}/management/indicators/led@system").json() == {"state": "BLINKING"}
    assert bm.req("PUT", f"/nodes/{uuid}/management/indicators/led-0@chassis", {"state": "OFF"}).status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/management/indicators/led").status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/management/indicators/fan@system").status_code == 400
    assert bm.req("GET", f"/nodes/{uuid}/management/indicators/led@system", headers=READER).status_code == 200
    assert bm.req("GET", f"/nodes/{uuid}/management/indicators", headers=OTHER).status_code == 404
    assert bm.req("PUT", f"/nodes/{uuid}/management/indicators/led@system", {"state": "ON"},
                  headers=READER).status_code == 403


def test_vendor_passthru_methods(bm):
    uuid = bm.create("vendor", owner="projA")["uuid"]
    assert bm.req("GET", f"/nodes/{uuid}/vendor_passthru/methods").json() == {}
    assert bm.req("GET", "/drivers/fake-hardware/vendor_passthru/methods").json() == {}
    assert bm.req("GET", "/drivers/nope/vendor_passthru/methods").status_code == 404
    assert bm.req("GET", f"/nodes/{uuid}/vendor_passthru/methods", headers=MEMBER).status_code == 403
    assert bm.req("GET", f"/nodes/{uuid}/vendor_passthru/methods", headers=OTHER).status_code == 404


def test_heartbeat_of_a_node_waiting_for_no_agent(bm):
    uuid = bm.create("hb")["uuid"]
    beat = {"callback_url": "http://10.0.0.5:9999", "agent_token": "t", "agent_version": "9.0"}
    resp = bm.req("POST", f"/heartbeat/{uuid}", beat)
    assert resp.status_code == 400 and fault(resp) == "Invalid or missing agent token received."
    assert bm.req("POST", "/heartbeat", {**beat, "node_ident": uuid}).status_code == 400
    assert fault(bm.req("POST", f"/heartbeat/{uuid}", {**beat, "agent_token": None})) == \
        "Agent token is required for heartbeat processing."
    assert bm.req("POST", f"/heartbeat/{uuid}", {**beat, "callback_url": "ftp://x"}).status_code == 400
    assert bm.req("POST", f"/heartbeat/{uuid}", beat, headers=v(35)).status_code == 400  # agent_version: 1.36
    assert bm.req("POST", f"/heartbeat/{uuid}", beat, headers=v(21)).status_code == 404
    assert bm.req("POST", "/heartbeat/nope", beat).status_code == 404
