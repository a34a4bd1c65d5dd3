"""One test per finding of issue 12 (each failed before the identity and
edge work), through the real app over HTTP with noauth2 identities."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from tests.functional.baremetal import BM, LATEST, Baremetal, fault

C = "/compute/v2.1"
ADMIN = {"X-Project-Id": "admin", "X-User-Id": "admin", "X-Roles": "admin"}
MEMBER_B = {"X-Project-Id": "projB", "X-User-Id": "bob", "X-Roles": "member"}
READER_A = {"X-Project-Id": "projA", "X-User-Id": "rita", "X-Roles": "reader"}
MEMBER_A = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def bm(cloud):
    return Baremetal(cloud)


def test_member_of_another_project_cannot_see_or_touch_an_admin_node(cloud, bm):
    node = bm.create("admins", driver_info={"redfish_address": "http://10.0.0.1", "redfish_password": "pw"})
    h = {**LATEST, **MEMBER_B}
    one = f"{BM}/nodes/{node['uuid']}"
    assert cloud.client.get(one, headers=h).status_code == 404
    patch = [{"op": "replace", "path": "/driver_info/redfish_address", "value": "http://127.0.0.1:1"}]
    assert cloud.client.patch(one, json=patch, headers=h).status_code == 404
    assert cloud.client.put(f"{one}/maintenance", json={}, headers=h).status_code == 404
    assert cloud.client.put(f"{one}/states/provision", json={"target": "manage"}, headers=h).status_code == 404
    assert cloud.client.get(f"{one}/tasks", headers=h).status_code == 404
    assert cloud.client.delete(one, headers=h).status_code == 404
    assert cloud.client.get(f"{BM}/nodes", headers=h).json()["nodes"] == []
    after = bm.node(node["uuid"])
    assert after["driver_info"]["redfish_address"] == "http://10.0.0.1" and after["provision_state"] == "enroll"


def test_owner_member_cannot_repoint_driver_info_but_owner_admin_can(cloud, bm):
    node = bm.create("owned", owner="projB", driver_info={"redfish_address": "http://10.0.0.1"})
    one = f"{BM}/nodes/{node['uuid']}"
    patch = [{"op": "replace", "path": "/driver_info/redfish_address", "value": "http://127.0.0.1:1"}]
    resp = cloud.client.patch(one, json=patch, headers={**LATEST, **MEMBER_B})
    assert resp.status_code == 403 and "baremetal:node:update:driver_info" in fault(resp)
    assert cloud.client.get(one, headers={**LATEST, **MEMBER_B}).status_code == 200  # the owner sees it
    owner_admin = {**LATEST, "X-Project-Id": "projB", "X-Roles": "admin"}
    assert cloud.client.patch(one, json=patch, headers=owner_admin).status_code == 200
    # the owner may not delete (admin only) nor give the node away
    assert cloud.client.delete(one, headers={**LATEST, **MEMBER_B}).status_code == 403
    give = [{"op": "replace", "path": "/owner", "value": "projB2"}]
    assert cloud.client.patch(one, json=give, headers={**LATEST, **MEMBER_B}).status_code == 403


def test_lessee_reads_but_cannot_read_driver_info(cloud, bm):
    node = bm.create("leased", lessee="projB", driver_info={"redfish_username": "root"})
    resp = cloud.client.get(f"{BM}/nodes/{node['uuid']}", headers={**LATEST, **MEMBER_B})
    assert resp.status_code == 200
    assert "Redacted" in resp.json()["driver_info"]["content"]
    assert [n["uuid"] for n in cloud.client.get(f"{BM}/nodes", headers={**LATEST, **MEMBER_B}).json()["nodes"]] \
        == [node["uuid"]]


def test_driver_info_secrets_are_masked_whatever_their_case_or_depth(bm):
    secrets = {"REDFISH_PASSWORD": "a", "auth_token": "b", "secret": "c", "snmp_auth_key": "d",
               "snmp_priv_key": "e", "bmc": {"password": "f", "host": "10.0.0.9"}, "ipmi_username": "root"}
    node = bm.create("masked", driver_info=secrets)
    for shown in (node["driver_info"], bm.node("masked")["driver_info"]):
        text = json.dumps(shown)
        assert not any(f'"{v}"' in text for v in "abcdef"), shown
        assert shown["ipmi_username"] == "root" and shown["bmc"]["host"] == "10.0.0.9"


def test_name_filter_is_linear_time_re2(cloud):
    cloud.boot(name="a" * 28 + "!")
    resp = cloud.get("/servers?name=^(a%2B)%2B$")  # catastrophic for a backtracking engine
    assert resp.status_code == 200 and resp.json()["servers"] == []
    assert len(cloud.get("/servers?name=^a%2B!").json()["servers"]) == 1
    # RE2 has no backreferences: proof the filter is not Python's re
    resp = cloud.get("/servers?name=(a)%5C1")
    assert resp.status_code == 400 and "regular expression" in resp.json()["badRequest"]["message"]


@pytest.mark.parametrize("path,api", [(f"{C}/servers", "compute"), (f"{BM}/nodes", "baremetal"),
                                      ("/image/v2/images", "image")])
def test_deeply_nested_json_is_a_400(cloud, path, api):
    for depth in (1000, 50_000):
        resp = cloud.client.post(path, content=nested(depth).encode(), headers={**JSON, **LATEST})
        assert resp.status_code == 400, (depth, resp.text)


def test_lone_surrogate_in_a_name_is_a_400(cloud):
    raw = '"bad\\ud800name"'
    bodies = [(f"{C}/servers", '{"server": {"name": %s, "flavorRef": "1", "imageRef": "%s"}}' % (raw, cloud.image_id)),
              (f"{C}/flavors", '{"flavor": {"name": %s, "ram": 64, "vcpus": 1, "disk": 1}}' % raw),
              ("/image/v2/images", '{"name": %s}' % raw)]
    for path, body in bodies:
        resp = cloud.client.post(path, content=body.encode(), headers=JSON)
        assert resp.status_code == 400, (path, resp.text)


def test_huge_limit_on_nodes_is_capped_not_an_overflow(cloud, bm):
    bm.create("n1")
    for huge in ("9223372036854775808", "9" * 40):
        resp = cloud.client.get(f"{BM}/nodes?limit={huge}", headers=LATEST)
        assert resp.status_code == 200 and len(resp.json()["nodes"]) == 1, resp.text
    resp = cloud.client.get(f"{BM}/nodes?limit=922337203685477580", headers=LATEST)
    assert resp.status_code == 200 and len(resp.json()["nodes"]) == 1


def test_huge_microversions_are_client_errors(cloud):
    nines = "9" * 5000
    resp = cloud.client.get(f"{C}/servers", headers={"OpenStack-API-Version": f"compute 2.{nines}"})
    assert resp.status_code == 400 and len(resp.text) < 500
    resp = cloud.client.get(f"{C}/servers", headers={"X-OpenStack-Nova-API-Version": f"2.{nines}"})
    assert resp.status_code == 400
    resp = cloud.client.get(f"{BM}/nodes", headers={"X-OpenStack-Ironic-API-Version": f"1.{nines}"})
    assert resp.status_code == 406 and len(resp.text) < 500


def test_bodies_over_the_limit_are_413_and_nothing_is_stored(cloud, bm):
    big = "x" * (10 * 1024 * 1024)
    resp = cloud.post("/servers", {"server": {"name": "big", "flavorRef": "1", "imageRef": cloud.image_id,
                                              "user_data": big}})
    assert resp.status_code == 413 and "overLimit" in resp.json()
    resp = bm.req("POST", "/nodes", {"driver": "fake-hardware", "name": "bigextra", "extra": {"blob": big}})
    assert resp.status_code == 413
    assert cloud.get("/servers").json()["servers"] == []
    assert bm.req("GET", "/nodes/bigextra").status_code == 404


def test_a_chunked_body_without_length_is_counted_too(cloud):
    def chunks():
        for _ in range(200):
            yield b"x" * 4096
    resp = cloud.client.post(f"{C}/servers", content=chunks(), headers=JSON)
    assert resp.status_code == 413


def test_errors_echo_only_a_short_prefix(cloud):
    name = "n" * 100_000  # under the body limit, over the name's 255
    resp = cloud.post("/servers", {"server": {"name": name, "flavorRef": "1", "imageRef": cloud.image_id}})
    assert resp.status_code == 400 and len(resp.text) < 500, len(resp.text)


@pytest.mark.parametrize("name", ["nul\u0000inside", " leading", "trailing ", "   ", "tab\tinside"])
def test_server_and_flavor_names_follow_nova_rules(cloud, name):
    resp = cloud.post("/servers", {"server": {"name": name, "flavorRef": "1", "imageRef": cloud.image_id}})
    assert resp.status_code == 400, resp.text
    resp = cloud.post("/flavors", {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 1}})
    assert resp.status_code == 400, resp.text


def test_node_names_follow_ironic_rules(bm):
    for name in ("trailing\n", "has space", "nul\u0000"):
        assert bm.req("POST", "/nodes", {"driver": "fake-hardware", "name": name}).status_code == 400, name


@pytest.mark.parametrize("ctype", ["text/plain", None])
def test_body_without_json_content_type_is_415(cloud, ctype):
    body = json.dumps({"server": {"name": "x", "flavorRef": "1", "imageRef": cloud.image_id}}).encode()
    headers = {"Content-Type": ctype} if ctype else {}
    resp = cloud.client.post(f"{C}/servers", content=body, headers=headers)
    assert resp.status_code == 415 and "badMediaType" in resp.json(), resp.text
    assert cloud.get("/servers").json()["servers"] == []


def test_members_cannot_list_services_or_hypervisors(cloud):
    for path in ("/os-services", "/os-hypervisors", "/os-hypervisors/detail"):
        resp = cloud.get(path, headers=MEMBER_A)
        assert resp.status_code == 403 and "forbidden" in resp.json(), path
        assert cloud.get(path, headers=ADMIN).status_code == 200


def test_reader_reads_but_cannot_act(cloud):
    server_id = cloud.boot(name="r", wait=False)
    # the admin booted it in project admin; make one in projA as a member
    body = {"server": {"name": "mine", "flavorRef": "1", "imageRef": cloud.image_id}}
    resp = cloud.post("/servers", body, headers=MEMBER_A)
    assert resp.status_code == 202, resp.text
    mine = resp.json()["server"]["id"]
    cloud.wait_task(resp.headers["X-Taskvisor-Task"])
    assert cloud.get(f"/servers/{mine}", headers=READER_A).status_code == 200
    for action in ({"os-stop": None}, {"reboot": {"type": "SOFT"}}, {"shelve": None}):
        resp = cloud.action(mine, action, headers=READER_A)
        assert resp.status_code == 403, (action, resp.text)
    assert cloud.delete(f"/servers/{mine}", headers=READER_A).status_code == 403
    assert cloud.post("/servers", body, headers=READER_A).status_code == 403
    assert cloud.vm_state(mine) == "active"
    assert cloud.get(f"/servers/{server_id}", headers=READER_A).status_code == 404


def test_server_lists_are_capped_with_next_links(cloud_factory):
    cloud = cloud_factory(api__max_limit=2)
    ids = {cloud.boot(name=f"s{i}", wait=False) for i in range(3)}
    page = cloud.get("/servers").json()
    assert len(page["servers"]) == 2 and page["servers_links"][0]["rel"] == "next"
    href = page["servers_links"][0]["href"]
    rest = cloud.client.get(href.split("://", 1)[1].split("/", 1)[1].join(["/", ""])).json()
    assert len(rest["servers"]) == 1 and "servers_links" not in rest
    assert {s["id"] for s in page["servers"] + rest["servers"]} == ids
    assert len(cloud.get("/servers?limit=5000").json()["servers"]) == 2


def test_sqlite_files_and_data_dir_are_private(tmp_path):
    from taskvisor.db.session import Database
    data = tmp_path / "fresh" / "data"
    db = Database(f"sqlite:///{data}/taskvisor.sqlite")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    db.dispose()
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    for name in os.listdir(data):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600, name


def test_the_service_creates_private_files(tmp_path):
    """What `taskvisor` itself creates (umask 077): a fresh data dir from `db upgrade`."""
    data = tmp_path / "svc"
    subprocess.run([sys.executable, "-m", "taskvisor.cli", "db", "upgrade", "--data-dir", str(data)],
                   check=True, capture_output=True, timeout=120)
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(data / "taskvisor.sqlite").st_mode) == 0o600


def test_noauth2_refuses_a_public_listen_address(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "taskvisor.cli", "all-in-one", "--listen", "0.0.0.0",
                           "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--insecure-noauth" in proc.stderr and "noauth2" in proc.stderr


def test_policy_file_overrides_a_rule(cloud_factory, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"os_compute_api:os-services:list": "role:member"\n')
    cloud = cloud_factory(oslo_policy__policy_file=str(policy))
    assert cloud.get("/os-services", headers=MEMBER_A).status_code == 200
    assert cloud.get("/os-hypervisors", headers=MEMBER_A).status_code == 403


def test_policy_list_prints_every_rule_with_its_default():
    out = subprocess.run([sys.executable, "-m", "taskvisor.cli", "policy", "list"], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    from taskvisor.policies import list_rules
    for rule in list_rules():
        assert f"{rule.name}: {rule.check_str!r}" in out
    assert "os_compute_api:servers:stop: 'rule:project_member_api or rule:context_is_admin'" in out
    assert "baremetal:node:update:driver_info:" in out


def test_hosts_are_shown_only_where_the_policy_allows(cloud_factory, tmp_path):
    cloud = cloud_factory()
    resp = cloud.post("/servers", {"server": {"name": "h", "flavorRef": "1", "imageRef": cloud.image_id}},
                      headers=MEMBER_A)
    server_id, task_url = resp.json()["server"]["id"], resp.headers["X-Taskvisor-Task"]
    cloud.wait_task(task_url)
    task_path = "/" + task_url.split("://", 1)[1].split("/", 1)[1]
    assert "OS-EXT-SRV-ATTR:host" not in cloud.get(f"/servers/{server_id}", headers=MEMBER_A).json()["server"]
    assert "OS-EXT-SRV-ATTR:host" in cloud.get(f"/servers/{server_id}", headers=ADMIN).json()["server"]
    member_steps = cloud.client.get(task_path, headers=MEMBER_A).json()["task"]["steps"]
    admin_steps = cloud.client.get(task_path, headers=ADMIN).json()["task"]["steps"]
    assert all("traceback" not in s for s in member_steps) and all("traceback" in s for s in admin_steps)


def test_task_list_is_capped_by_api_max_limit(cloud_factory):
    cloud = cloud_factory(api__max_limit=2)
    for i in range(3):
        cloud.boot(name=f"t{i}", wait=False)
    assert len(cloud.get("/tasks").json()["tasks"]) == 2
    page = cloud.get("/tasks?limit=100").json()
    assert len(page["tasks"]) == 2 and "marker=" in page["tasks_links"][0]["href"]
    assert len(cloud.get("/tasks?limit=1").json()["tasks"]) == 1
    assert len(cloud.get("/tasks?limit=" + "9" * 30).json()["tasks"]) == 2
    resp = cloud.get("/tasks?limit=many")
    assert resp.status_code == 400 and "badRequest" in resp.json()
