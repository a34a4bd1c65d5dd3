"""Quotas over HTTP: quota sets (show, defaults, detail, update with force,
delete), quota classes, /limits, and enforcement at server create and resize
in Nova's words, race-free on SQLite and PostgreSQL."""
from __future__ import annotations

import threading

QS = "/compute/v2.1/os-quota-sets"
ALICE = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
READER = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}
BOB = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member"}


def fault(resp) -> str:
    return next(iter(resp.json().values()))["message"]


def _put(cloud, project, values, query=""):
    resp = cloud.client.put(f"{QS}/{project}{query}", json={"quota_set": values})
    assert resp.status_code == 200, resp.text
    return resp.json()["quota_set"]


def _boot(cloud, flavor="1", headers=ALICE, **extra):
    body = {"server": {"name": "vm", "flavorRef": flavor, "imageRef": cloud.image_id, **extra}}
    return cloud.post("/servers", body, headers=headers)


def test_show_defaults_update_delete(cloud):
    shown = cloud.get("/os-quota-sets/projA", headers=READER).json()["quota_set"]
    assert shown["id"] == "projA" and shown["instances"] == 10 and shown["cores"] == 20 and shown["ram"] == 51200
    assert shown["fixed_ips"] == -1 and shown["key_pairs"] == 100 and shown["server_group_members"] == 10
    v257 = cloud.get("/os-quota-sets/projA", headers={**READER, "X-OpenStack-Nova-API-Version": "2.57"})
    assert "fixed_ips" not in v257.json()["quota_set"] and "injected_files" not in v257.json()["quota_set"]
    assert cloud.get("/os-quota-sets/projA", headers=BOB).status_code == 403
    updated = _put(cloud, "projA", {"ram": "5120", "cores": 4, "force": True})
    assert updated["ram"] == 5120 and updated["cores"] == 4 and "id" not in updated
    assert cloud.get("/os-quota-sets/projA/defaults", headers=BOB).json()["quota_set"]["ram"] == 51200
    assert cloud.client.put(f"{QS}/projA", json={"quota_set": {"ram": 1}}, headers=ALICE).status_code == 403
    assert cloud.client.put(f"{QS}/projA", json={"quota_set": {"ram": -2}}).status_code == 400
    assert cloud.client.put(f"{QS}/projA", json={"quota_set": {"colour": 1}}).status_code == 400
    user = _put(cloud, "projA", {"ram": 2048}, "?user_id=alice")
    assert user["ram"] == 2048
    assert cloud.get("/os-quota-sets/projA?user_id=alice").json()["quota_set"]["ram"] == 2048
    assert cloud.get("/os-quota-sets/projA").json()["quota_set"]["ram"] == 5120
    assert cloud.client.delete(f"{QS}/projA").status_code == 202
    assert cloud.get("/os-quota-sets/projA").json()["quota_set"]["ram"] == 51200


def test_detail_limits_and_usage(cloud):
    cloud.boot("used", flavor="3")  # m1.medium: 2 vcpus, 4096 MB
    detail = cloud.get("/os-quota-sets/admin/detail").json()["quota_set"]
    assert detail["cores"] == {"limit": 20, "in_use": 2, "reserved": 0}
    assert detail["instances"]["in_use"] == 1
    limits = cloud.get("/limits").json()["limits"]
    assert limits["rate"] == []
    absolute = limits["absolute"]
    assert absolute["totalCoresUsed"] == 2 and absolute["totalRAMUsed"] == 4096 and absolute["maxTotalCores"] == 20
    assert absolute["maxImageMeta"] == 128 and absolute["totalInstancesUsed"] == 1
    v239 = cloud.get("/limits", headers={"X-OpenStack-Nova-API-Version": "2.39"}).json()["limits"]["absolute"]
    assert "maxImageMeta" not in v239 and "maxSecurityGroups" not in v239
    assert cloud.get("/limits?tenant_id=admin", headers=ALICE).status_code == 403
    # lowering a limit under what is in use needs force
    low = cloud.client.put(f"{QS}/admin", json={"quota_set": {"cores": 1}})
    assert low.status_code == 400 and "already used and reserved 2" in fault(low)


def test_quota_classes(cloud):
    shown = cloud.get("/os-quota-class-sets/default").json()["quota_class_set"]
    assert shown["id"] == "default" and shown["cores"] == 20 and "server_groups" not in shown
    updated = cloud.client.put("/compute/v2.1/os-quota-class-sets/default", json={"quota_class_set": {"cores": 7}})
    assert updated.status_code == 200 and updated.json()["quota_class_set"]["cores"] == 7
    assert cloud.get("/os-quota-sets/projB/defaults", headers=BOB).json()["quota_set"]["cores"] == 7
    assert cloud.get("/os-quota-sets/projB", headers=BOB).json()["quota_set"]["cores"] == 7
    v250 = cloud.get("/os-quota-class-sets/default", headers={"X-OpenStack-Nova-API-Version": "2.50"})
    assert "server_groups" in v250.json()["quota_class_set"] and "floating_ips" not in v250.json()["quota_class_set"]
    assert cloud.get("/os-quota-class-sets/default", headers=ALICE).status_code == 403


def test_server_create_and_resize_are_held_to_quota(cloud):
    _put(cloud, "projA", {"cores": 2, "instances": 3, "metadata_items": 1})
    ok = _boot(cloud, "2")  # 1 vcpu
    assert ok.status_code == 202, ok.text
    over = _boot(cloud, "3")  # 2 vcpus
    assert over.status_code == 403
    assert fault(over) == "Quota exceeded for cores: Requested 2, but already used 1 of 2 cores"
    many = _boot(cloud, "1", min_count=3, max_count=3)
    assert many.status_code == 403 and fault(many).startswith("Quota exceeded for cores, instances: Requested 3, 3")
    meta = _boot(cloud, "1", metadata={"a": "1", "b": "2"})
    assert meta.status_code == 403 and fault(meta) == "Maximum number of metadata items exceeds 1"
    # a range boots as many as fit
    assert _boot(cloud, "1", min_count=1, max_count=3).status_code == 202
    assert cloud.get("/os-quota-sets/projA/detail", headers=ALICE).json()["quota_set"]["instances"]["in_use"] == 2
    server_id = ok.json()["server"]["id"]
    cloud.wait_task(ok.headers["X-Taskvisor-Task"])
    resize = cloud.action(server_id, {"resize": {"flavorRef": "3"}}, headers=ALICE)
    assert resize.status_code == 403, resize.text
    assert fault(resize) == "Quota exceeded for cores: Requested 1, but already used 2 of 2 cores"


def test_concurrent_creates_never_exceed_the_quota(any_db_cloud):
    cloud = any_db_cloud
    _put(cloud, "projA", {"instances": 3})
    answers: list[int] = []
    start = threading.Barrier(8)

    def boot():
        start.wait()
        answers.append(_boot(cloud).status_code)
    threads = [threading.Thread(target=boot) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [202] * 3 + [403] * 5
    listed = cloud.get("/servers", headers=ALICE).json()["servers"]
    assert len(listed) == 3


def test_personality_is_held_to_the_injected_file_quotas(cloud):
    import base64
    files = [{"path": f"/f{i}", "contents": base64.b64encode(b"x").decode()} for i in range(6)]
    over = _boot(cloud, personality=files)
    assert over.status_code == 403 and fault(over) == "Personality file limit exceeded"
    assert _boot(cloud, personality=files[:5]).status_code == 202
    big = [{"path": "/big", "contents": base64.b64encode(b"x" * 10241).decode()}]
    assert fault(_boot(cloud, personality=big)) == "Personality file content exceeds maximum 10240"
    assert _boot(cloud, personality=[{"path": "/p", "contents": "%%%"}]).status_code == 400
    v257 = _boot(cloud, personality=files[:1], headers={**ALICE, "X-OpenStack-Nova-API-Version": "2.57"})
    assert v257.status_code == 400


def test_unknown_query_parameters_are_refused_from_2_75(cloud):
    v275 = {"X-OpenStack-Nova-API-Version": "2.75"}
    for path in ("/os-quota-sets/admin?colour=red", "/limits?colour=red", "/os-keypairs?colour=red",
                 "/os-server-groups?colour=red", "/flavors?colour=red"):
        assert cloud.get(path).status_code == 200, path
        refused = cloud.get(path, headers=v275)
        assert refused.status_code == 400 and "colour" in fault(refused), path


def test_usage_follows_resize_and_revert(cloud):
    """Usage sums each server's vcpus and ram columns: a resize switches them
    with the flavor, a revert puts the old ones back."""
    def used() -> tuple[int, int]:
        absolute = cloud.get("/limits", headers=ALICE).json()["limits"]["absolute"]
        return absolute["totalCoresUsed"], absolute["totalRAMUsed"]
    boot = _boot(cloud, "1")  # m1.tiny: 1 vcpu, 512 MB
    assert boot.status_code == 202, boot.text
    server_id = boot.json()["server"]["id"]
    cloud.wait_task(boot.headers["X-Taskvisor-Task"])
    assert used() == (1, 512)
    cloud.act(server_id, {"resize": {"flavorRef": "3"}}, headers=ALICE)  # m1.medium: 2 vcpus, 4096 MB
    assert used() == (2, 4096)
    cloud.act(server_id, {"revertResize": None}, headers=ALICE)
    assert used() == (1, 512)
