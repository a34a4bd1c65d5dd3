"""Server groups over HTTP: Nova's shapes before and after 2.64, members
added by a boot with the group hint, the scheduler honouring hard and soft
policies, quotas, and other projects' groups hidden."""
from __future__ import annotations

ALICE = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
BOB = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member"}
V264 = {"X-OpenStack-Nova-API-Version": "2.64"}


def fault(resp) -> str:
    return next(iter(resp.json().values()))["message"]


def _group(cloud, policy, headers=ALICE, **rules):
    body = {"server_group": {"name": f"g-{policy}", "policy": policy, **({"rules": rules} if rules else {})}}
    resp = cloud.post("/os-server-groups", body, headers={**headers, **V264})
    assert resp.status_code == 200, resp.text
    return resp.json()["server_group"]


def _boot(cloud, group_id, name="vm"):
    body = {"server": {"name": name, "flavorRef": "1", "imageRef": cloud.image_id},
            "os:scheduler_hints": {"group": group_id}}
    resp = cloud.post("/servers", body, headers=ALICE)
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"], cloud.wait_task(resp.headers["X-Taskvisor-Task"])


def test_crud_and_shapes_by_microversion(cloud):
    old = cloud.post("/os-server-groups", {"server_group": {"name": "a", "policies": ["anti-affinity"]}},
                     headers=ALICE)
    assert old.status_code == 200, old.text
    body = old.json()["server_group"]
    assert body == {"id": body["id"], "name": "a", "policies": ["anti-affinity"], "members": [], "metadata": {}}
    # soft policies need 2.15; 2.64 takes policy + rules
    soft = {"server_group": {"name": "s", "policies": ["soft-affinity"]}}
    assert cloud.post("/os-server-groups", soft, headers=ALICE).status_code == 400
    v215 = cloud.post("/os-server-groups", soft, headers={**ALICE, "X-OpenStack-Nova-API-Version": "2.15"})
    assert v215.status_code == 200 and v215.json()["server_group"]["user_id"] == "alice"
    new = _group(cloud, "anti-affinity", max_server_per_host=2)
    assert new["policy"] == "anti-affinity" and new["rules"] == {"max_server_per_host": 2}
    assert "policies" not in new and new["project_id"] == "projA"
    bad = cloud.post("/os-server-groups", {"server_group": {"name": "x", "policy": "affinity",
                                                            "rules": {"max_server_per_host": 2}}},
                     headers={**ALICE, **V264})
    assert bad.status_code == 400 and fault(bad) == "Only anti-affinity policy supports rules."
    assert cloud.post("/os-server-groups", {"server_group": {"name": "x", "policies": ["nope"]}},
                      headers=ALICE).status_code == 400
    listed = [g["id"] for g in cloud.get("/os-server-groups", headers=ALICE).json()["server_groups"]]
    assert body["id"] in listed and new["id"] in listed
    assert cloud.get("/os-server-groups", headers=BOB).json()["server_groups"] == []
    assert cloud.get(f"/os-server-groups/{body['id']}", headers=BOB).status_code == 404
    assert cloud.delete(f"/os-server-groups/{body['id']}", headers=BOB).status_code == 404
    everyone = cloud.get("/os-server-groups?all_projects=1").json()["server_groups"]
    assert {g["id"] for g in everyone} >= set(listed)
    assert cloud.delete(f"/os-server-groups/{body['id']}", headers=ALICE).status_code == 204
    gone = cloud.get(f"/os-server-groups/{body['id']}", headers=ALICE)
    assert gone.status_code == 404 and fault(gone) == f"Instance group {body['id']} could not be found."


def test_affinity_members_share_a_host(cloud):
    group = _group(cloud, "affinity")
    first, _ = _boot(cloud, group["id"], "a")
    second, task = _boot(cloud, group["id"], "b")
    assert task["status"] == "succeeded", task
    shown = cloud.get(f"/os-server-groups/{group['id']}", headers=ALICE).json()["server_group"]
    assert sorted(shown["members"]) == sorted([first, second])
    hosts = {cloud.server(s)["OS-EXT-SRV-ATTR:host"] for s in (first, second)}
    assert len(hosts) == 1


def test_hard_anti_affinity_with_one_host_fails_the_second_boot(cloud):
    hosts = cloud.get("/os-hypervisors").json()["hypervisors"]
    assert len(hosts) == 1  # the in-process cloud has one compute
    group = _group(cloud, "anti-affinity")
    _, task = _boot(cloud, group["id"], "a")
    assert task["status"] == "succeeded"
    second, task = _boot(cloud, group["id"], "b")
    assert task["status"] != "succeeded"
    server = cloud.server(second)
    assert server["status"] == "ERROR"
    assert "No valid host was found. There are not enough hosts available." in server["fault"]["message"]


def test_soft_anti_affinity_is_best_effort(cloud):
    group = _group(cloud, "soft-anti-affinity")
    for name in ("a", "b"):
        _, task = _boot(cloud, group["id"], name)
        assert task["status"] == "succeeded"


def test_bad_group_hint_and_member_quota(cloud):
    body = {"server": {"name": "vm", "flavorRef": "1", "imageRef": cloud.image_id},
            "os:scheduler_hints": {"group": "00000000-0000-0000-0000-000000000000"}}
    assert cloud.post("/servers", body, headers=ALICE).status_code == 400
    other = _group(cloud, "soft-affinity", headers=BOB)
    body["os:scheduler_hints"]["group"] = other["id"]
    assert cloud.post("/servers", body, headers=ALICE).status_code == 400  # another project's group
    cloud.client.put("/compute/v2.1/os-quota-sets/projA", json={"quota_set": {"server_group_members": 1,
                                                                              "server_groups": 1}})
    group = _group(cloud, "soft-affinity")
    _boot(cloud, group["id"], "a")
    body["os:scheduler_hints"]["group"] = group["id"]
    over = cloud.post("/servers", body, headers=ALICE)
    assert over.status_code == 403 and fault(over) == "Quota exceeded, too many servers in group"
    more = cloud.post("/os-server-groups", {"server_group": {"name": "x", "policies": ["affinity"]}}, headers=ALICE)
    assert more.status_code == 403 and fault(more) == "Quota exceeded, too many server groups."


def test_members_booted_together_still_keep_apart(any_db_cloud):
    """Two members of a hard anti-affinity group scheduled at the same moment
    (one request, max_count 2) on a one-host cloud: exactly one gets the host,
    on SQLite and on PostgreSQL."""
    cloud = any_db_cloud
    group = _group(cloud, "anti-affinity")
    body = {"server": {"name": "pair", "flavorRef": "1", "imageRef": cloud.image_id, "min_count": 2,
                       "max_count": 2}, "os:scheduler_hints": {"group": group["id"]}}
    resp = cloud.post("/servers", body, headers=ALICE)
    assert resp.status_code == 202, resp.text
    members = cloud.get(f"/os-server-groups/{group['id']}", headers=ALICE).json()["server_group"]["members"]
    assert len(members) == 2
    statuses = sorted(_settle(cloud, m) for m in members)
    assert statuses == ["ACTIVE", "ERROR"], statuses
    errored = [m for m in members if cloud.server(m)["status"] == "ERROR"][0]
    assert cloud.server(errored)["OS-EXT-SRV-ATTR:host"] is None  # a member that lost holds no host


def _settle(cloud, server_id: str) -> str:
    from tests.procs import poll_until
    return poll_until(lambda: cloud.server(server_id)["status"], lambda s: s in ("ACTIVE", "ERROR"), 30,
                      lambda s: f"server {server_id} still {s}", 0.05)
