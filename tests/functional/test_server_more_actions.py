"""lock/unlock, os-resetState, injectNetworkInfo, createImage, createBackup,
rebuild and soft delete through HTTP: happy paths, wrong state → 409,
locked → 409, other project → 404, bad input → 400."""
from __future__ import annotations

OTHER = {"X-Project-Id": "other", "X-User-Id": "bob", "X-Roles": "member"}
MEMBER = {"X-Project-Id": "demo", "X-User-Id": "demo", "X-Roles": "member"}


def _member_cloud(cloud):
    """Boot as a project member (the default caller is the admin)."""
    resp = cloud.post("/servers", {"server": {"name": "m", "flavorRef": "1", "imageRef": cloud.image_id}},
                      headers=MEMBER)
    assert resp.status_code == 202, resp.text
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    return resp.json()["server"]["id"]


def test_lock_refuses_a_members_actions_until_unlocked(cloud):
    server_id = _member_cloud(cloud)
    v = {**MEMBER, "X-OpenStack-Nova-API-Version": "2.73"}
    assert cloud.action(server_id, {"lock": {"locked_reason": "maintenance"}}, v).status_code == 202
    server = cloud.get(f"/servers/{server_id}", headers=v).json()["server"]
    assert server["locked"] is True and server["locked_reason"] == "maintenance"
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"rebuild": {"imageRef": cloud.image_id}}):
        resp = cloud.action(server_id, body, MEMBER)
        assert resp.status_code == 409, resp.text
        assert resp.json()["conflictingRequest"]["message"] == f"Instance {server_id} is locked"
    assert cloud.delete(f"/servers/{server_id}", headers=MEMBER).status_code == 409
    m = f"/compute/v2.1/servers/{server_id}/metadata"
    assert cloud.client.post(m, json={"metadata": {"a": "b"}}, headers=MEMBER).status_code == 409
    assert cloud.action(server_id, {"lock": {"bad": 1}}, v).status_code == 400
    assert cloud.action(server_id, {"unlock": None}, OTHER).status_code == 404
    assert cloud.action(server_id, {"unlock": None}, MEMBER).status_code == 202
    assert cloud.get(f"/servers/{server_id}", headers=v).json()["server"]["locked"] is False
    cloud.act(server_id, {"os-stop": None}, MEMBER)


def test_an_admins_lock_needs_the_override_to_unlock(cloud):
    server_id = _member_cloud(cloud)
    assert cloud.action(server_id, {"lock": None}).status_code == 202  # the admin: locked_by admin
    assert cloud.action(server_id, {"unlock": None}, MEMBER).status_code == 403
    resp, task = cloud.act(server_id, {"os-stop": None})  # an admin may act on a locked server
    assert task["status"] == "succeeded"
    assert cloud.action(server_id, {"unlock": None}).status_code == 202


def test_reset_state_is_instant_and_recorded_as_a_task(cloud):
    server_id = cloud.boot()
    resp = cloud.action(server_id, {"os-resetState": {"state": "error"}})
    assert resp.status_code == 202, resp.text
    server = cloud.server(server_id)
    assert server["status"] == "ERROR" and server["OS-EXT-STS:task_state"] is None
    task = cloud.task(resp.headers["X-Taskvisor-Task"])
    assert task["status"] == "succeeded" and task["action"] == "resetState"
    assert cloud.action(server_id, {"os-resetState": {"state": "bogus"}}).status_code == 400
    assert cloud.action(server_id, {"os-resetState": {"state": "active"}}, MEMBER).status_code in (403, 404)
    cloud.action(server_id, {"os-resetState": {"state": "active"}})
    assert cloud.server(server_id)["status"] == "ACTIVE"


def test_inject_network_info_is_an_admin_task(cloud):
    server_id = cloud.boot()
    resp, task = cloud.act(server_id, {"injectNetworkInfo": None}, expect=202)
    assert task["status"] == "succeeded"
    assert cloud.server(server_id)["status"] == "ACTIVE"


def test_create_image_makes_an_active_image_and_keeps_the_state(cloud):
    server_id = cloud.boot()
    cloud.act(server_id, {"pause": None})
    resp, task = cloud.act(server_id, {"createImage": {"name": "snap", "metadata": {"k": "v"}}}, expect=202)
    assert task["status"] == "succeeded", task
    image_id = resp.headers["Location"].rsplit("/", 1)[1]
    image = cloud.client.get(f"/image/v2/images/{image_id}").json()
    assert image["status"] == "active" and image["name"] == "snap" and image["k"] == "v"
    assert cloud.server(server_id)["status"] == "PAUSED"
    resp = cloud.action(server_id, {"createImage": {"name": "s2"}}, {"X-OpenStack-Nova-API-Version": "2.45"})
    assert resp.status_code == 202 and "image_id" in resp.json()
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert cloud.action(server_id, {"createImage": {}}).status_code == 400
    assert cloud.action(server_id, {"createImage": {"name": "x"}}, OTHER).status_code == 404
    cloud.act(server_id, {"unpause": None})
    cloud.act(server_id, {"rescue": None})
    assert cloud.action(server_id, {"createImage": {"name": "x"}}).status_code == 409


def test_create_backup_rotates(cloud):
    server_id = cloud.boot()
    made = []
    for n in range(3):
        resp, task = cloud.act(server_id, {"createBackup": {"name": f"b{n}", "backup_type": "daily",
                                                            "rotation": 2}}, expect=202)
        assert task["status"] == "succeeded", task
        made.append(resp.headers["Location"].rsplit("/", 1)[1])
    assert cloud.client.get(f"/image/v2/images/{made[0]}").status_code == 404
    assert all(cloud.client.get(f"/image/v2/images/{i}").status_code == 200 for i in made[1:])
    assert cloud.action(server_id, {"createBackup": {"name": "b", "backup_type": "daily"}}).status_code == 400


def test_rebuild_from_active_and_stopped(cloud):
    server_id = cloud.boot()
    resp = cloud.action(server_id, {"rebuild": {"imageRef": cloud.image_id, "name": "rebuilt",
                                                "metadata": {"r": "1"}, "adminPass": "pw"}})
    assert resp.status_code == 202, resp.text
    body = resp.json()["server"]
    assert body["name"] == "rebuilt" and body["adminPass"] == "pw" and body["status"] == "REBUILD"
    assert cloud.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    server = cloud.server(server_id)
    assert server["status"] == "ACTIVE" and server["metadata"] == {"r": "1"}
    cloud.act(server_id, {"os-stop": None})
    resp, task = cloud.act(server_id, {"rebuild": {"imageRef": cloud.image_id}}, expect=202)
    assert task["status"] == "succeeded" and cloud.server(server_id)["status"] == "SHUTOFF"
    assert cloud.action(server_id, {"rebuild": {"imageRef": "nope"}}).status_code == 400
    assert cloud.action(server_id, {"rebuild": {}}).status_code == 400
    assert cloud.action(server_id, {"rebuild": {"imageRef": cloud.image_id}}, OTHER).status_code == 404
    cloud.act(server_id, {"os-start": None})
    cloud.act(server_id, {"pause": None})
    assert cloud.action(server_id, {"rebuild": {"imageRef": cloud.image_id}}).status_code == 409


def test_soft_delete_restore_and_force_delete(cloud_factory):
    cloud = cloud_factory(DEFAULT__reclaim_instance_interval=3600)
    server_id = cloud.boot()
    resp = cloud.delete(f"/servers/{server_id}")
    assert resp.status_code == 204
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert cloud.server(server_id)["status"] == "SOFT_DELETED"
    assert cloud.action(server_id, {"os-stop": None}).status_code == 409
    resp, task = cloud.act(server_id, {"restore": None}, expect=202)
    assert task["status"] == "succeeded" and cloud.server(server_id)["status"] == "ACTIVE"
    assert cloud.action(server_id, {"restore": None}).status_code == 409
    cloud.wait_task(cloud.delete(f"/servers/{server_id}").headers["X-Taskvisor-Task"])
    resp, task = cloud.act(server_id, {"forceDelete": None}, expect=202)
    assert cloud.get(f"/servers/{server_id}").status_code == 404


def test_a_soft_deleted_server_is_reclaimed_after_the_interval(cloud_factory):
    from tests.procs import poll_until
    cloud = cloud_factory(DEFAULT__reclaim_instance_interval=1, conductor__periodic_interval=0.2)
    server_id = cloud.boot()
    cloud.wait_task(cloud.delete(f"/servers/{server_id}").headers["X-Taskvisor-Task"])
    poll_until(lambda: cloud.get(f"/servers/{server_id}").status_code, lambda code: code == 404, 30,
               lambda code: f"server still answers {code}", 0.1)
    assert server_id not in cloud.driver.list_guests()


def test_resize_keeps_the_requested_disk_config(cloud):
    server_id = cloud.boot()
    assert cloud.server(server_id)["OS-DCF:diskConfig"] == "MANUAL"
    resp, task = cloud.act(server_id, {"resize": {"flavorRef": "3", "OS-DCF:diskConfig": "AUTO"}})
    assert task["status"] == "succeeded"
    assert cloud.server(server_id)["OS-DCF:diskConfig"] == "AUTO"


def test_cold_migrate_to_another_compute_then_confirm_and_revert(cloud):
    from taskvisor.compute.service import ComputeService
    from taskvisor.virt import load_driver
    from tests.procs import wait_for
    node = cloud.node
    conf2 = node.conf.copy(DEFAULT__host="compute-2")
    second = ComputeService(conf2, node.transport, load_driver(conf2, node.transport))
    second.start()
    try:
        wait_for(lambda: any(s["host"] == "compute-2" and s["state"] == "up"
                             for s in cloud.get("/os-services").json()["services"]), 30, "compute-2 to report")
        server_id = cloud.boot()
        drivers = {node.conf.DEFAULT.host: cloud.driver, "compute-2": second.driver}
        source = cloud.server(server_id)["OS-EXT-SRV-ATTR:host"]
        assert cloud.action(server_id, {"migrate": None}, MEMBER).status_code in (403, 404)
        resp, task = cloud.act(server_id, {"migrate": None}, expect=202)
        assert task["status"] == "succeeded", task
        server = cloud.server(server_id)
        dest = server["OS-EXT-SRV-ATTR:host"]
        assert server["status"] == "VERIFY_RESIZE" and dest != source
        assert drivers[dest].list_guests()[server_id] == 1 and server_id in drivers[source].list_guests()
        v223 = {"X-OpenStack-Nova-API-Version": "2.23"}
        listed = cloud.get(f"/os-migrations?instance_uuid={server_id}", headers=v223).json()["migrations"]
        assert [(m["migration_type"], m["status"], m["source_compute"], m["dest_compute"]) for m in listed] == \
            [("migration", "finished", source, dest)]
        cloud.act(server_id, {"confirmResize": None}, expect=204)
        assert cloud.server(server_id)["status"] == "ACTIVE" and server_id not in drivers[source].list_guests()
        listed = cloud.get(f"/os-migrations?instance_uuid={server_id}", headers=v223).json()["migrations"]
        assert [m["status"] for m in listed] == ["confirmed"]
        # back to the first host, named (2.56), then reverted: the guest stays where it was
        v256 = {"X-OpenStack-Nova-API-Version": "2.56"}
        assert cloud.action(server_id, {"migrate": {"host": dest}}, v256).status_code == 400  # its own host
        assert cloud.action(server_id, {"migrate": {"host": "nowhere"}}, v256).status_code == 400
        resp, task = cloud.act(server_id, {"migrate": {"host": source}}, v256, expect=202)
        assert task["status"] == "succeeded" and cloud.server(server_id)["OS-EXT-SRV-ATTR:host"] == source
        cloud.act(server_id, {"revertResize": None})
        server = cloud.server(server_id)
        assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == dest
        assert drivers[dest].list_guests()[server_id] == 1 and server_id not in drivers[source].list_guests()
    finally:
        second.stop()


def test_migrate_without_another_compute_fails_back_to_active(cloud):
    server_id = cloud.boot()
    resp, task = cloud.act(server_id, {"migrate": None}, expect=202)
    assert task["status"] in ("failed", "reverted") and "No valid host" in task["error"]["message"]
    assert cloud.server(server_id)["status"] == "ACTIVE"


def test_security_groups_are_names_on_the_server(cloud):
    server_id = cloud.boot()
    assert cloud.server(server_id)["security_groups"] == [{"name": "default"}]
    assert cloud.action(server_id, {"removeSecurityGroup": {"name": "default"}}).status_code == 202
    assert "security_groups" not in cloud.server(server_id)
    assert cloud.action(server_id, {"removeSecurityGroup": {"name": "default"}}).status_code == 400
    assert cloud.action(server_id, {"addSecurityGroup": {"name": "web"}}).status_code == 404
    assert cloud.action(server_id, {"addSecurityGroup": {"name": "default"}}).status_code == 202
    assert cloud.server(server_id)["security_groups"] == [{"name": "default"}]
    assert cloud.action(server_id, {"addSecurityGroup": {"name": "default"}}, OTHER).status_code == 404


def test_create_image_answer_from_2_45_is_the_whole_body(cloud):
    server_id = cloud.boot()
    resp = cloud.action(server_id, {"createImage": {"name": "s"}}, {"X-OpenStack-Nova-API-Version": "2.47"})
    assert resp.status_code == 202 and int(resp.headers["content-length"]) == len(resp.content)
    assert list(resp.json()) == ["image_id"] and "Location" not in resp.headers
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])


def test_backups_are_found_by_their_properties_in_glance(cloud):
    server_id = cloud.boot()
    for n in range(2):
        cloud.act(server_id, {"createBackup": {"name": f"b{n}", "backup_type": "daily", "rotation": 3}})
    resp = cloud.client.get(f"/image/v2/images?image_type=backup&backup_type=daily&instance_uuid={server_id}"
                            "&status=active&sort_key=created_at&sort_dir=asc")
    assert [i["name"] for i in resp.json()["images"]] == ["b0", "b1"]
    assert cloud.client.get("/image/v2/images?sort_key=bogus").status_code == 400
