"""taskvisor behind a real Keystone (tests/keystone/fixture.py): tokens
validated by keystonemiddleware, the `openstack` CLI with password auth
through the catalog, project isolation, revoked and expired tokens."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.keystone.fixture import (ADMIN_PASSWORD, USER_PASSWORD, Keystone, keystone_venv, populate,
                                    taskvisor_config, wait_token_expired)
from tests.procs import all_in_one, free_port, wait_for
from tests.services import unavailable

pytestmark = pytest.mark.slow
C = "/compute/v2.1"
BM = "/baremetal/v1"
IRONIC = {"X-OpenStack-Ironic-API-Version": "1.115"}
TOKEN_LIFETIME = 40  # seconds: short, so the expired-token test waits little


@pytest.fixture(scope="module")
def cloud():
    # not under pytest's basetemp: other pytest runs on the machine prune old ones mid-run
    root = Path(tempfile.mkdtemp(prefix="taskvisor-keystone-"))
    keystone = Keystone(root / "keystone", keystone_venv(), expiration=TOKEN_LIFETIME).start()
    port = free_port()
    try:
        ids = populate(keystone, port)
        # no token cache: a revoked token must fail on its next use (with the default
        # 300 s cache, keystonemiddleware - as in Nova - honours revocation after it)
        conf = taskvisor_config(root / "taskvisor.conf", keystone, token_cache_time=-1)
        (root / "data").mkdir()
        proc = all_in_one(str(root / "data"), port=port, extra=["--config-file", str(conf)]).start(timeout=60)
        try:
            yield {"keystone": keystone, "base": proc.base_url, "ids": ids, "root": root, "proc": proc}
        finally:
            proc.stop()
    finally:
        keystone.stop()
        shutil.rmtree(root, ignore_errors=True)


class As:
    """HTTP as one Keystone user (a fresh token each time asked)."""

    def __init__(self, cloud, user: str, password: str, project: str):
        self.token = cloud["keystone"].token(user, password, project)
        self.http = httpx.Client(base_url=cloud["base"], headers={"X-Auth-Token": self.token}, timeout=30)

    def __getattr__(self, name):
        return getattr(self.http, name)


def alice(cloud):
    return As(cloud, "alice", USER_PASSWORD, "projA")


def bob(cloud):
    return As(cloud, "bob", USER_PASSWORD, "projB")


def admin(cloud):
    return As(cloud, "admin", ADMIN_PASSWORD, "admin")


def wait_active(client, server_id: str) -> dict:
    def active():
        server = client.get(f"{C}/servers/{server_id}").json()["server"]
        return server if server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None else None
    return wait_for(active, 60, f"server {server_id} ACTIVE", interval=0.2)


def test_anonymous_gets_401_with_www_authenticate_and_version_documents_stay_open(cloud):
    for path in (f"{C}/servers", "/image/v2/images", f"{BM}/nodes", f"{C}/tasks/x"):
        resp = httpx.get(cloud["base"] + path, timeout=30)
        assert resp.status_code == 401, (path, resp.text)
        assert "www-authenticate" in resp.headers and "Keystone uri=" in resp.headers["www-authenticate"]
    resp = httpx.get(f"{cloud['base']}{C}/servers", headers={"X-Auth-Token": "not-a-token"}, timeout=30)
    assert resp.status_code == 401
    # the noauth2 headers mean nothing here
    resp = httpx.get(f"{cloud['base']}{C}/servers", headers={"X-Project-Id": "admin", "X-Roles": "admin"}, timeout=30)
    assert resp.status_code == 401
    for path in ("/compute/v2.1/", "/compute/", "/image/versions", "/baremetal/", "/baremetal/v1"):
        assert httpx.get(cloud["base"] + path, timeout=30).status_code in (200, 300), path


def _openstack(cloud, user: str, password: str, project: str, *args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("openstack", path=str(Path(sys.executable).parent)) or shutil.which("openstack")
    if tool is None:
        unavailable("the real `openstack` client is not installed (pip install -e '.[test]')")
    home = cloud["root"] / "home"
    (home / ".cache").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update({"OS_AUTH_URL": cloud["keystone"].url, "OS_USERNAME": user, "OS_PASSWORD": password,
                "OS_PROJECT_NAME": project, "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_IDENTITY_API_VERSION": "3", "OS_REGION_NAME": "RegionOne", "OS_INTERFACE": "public",
                "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "PYTHONWARNINGS": "ignore"})
    return subprocess.run([tool, *args], capture_output=True, text=True, env=env, timeout=300)


def test_openstack_cli_with_password_auth_through_the_catalog(cloud):
    def cli(*args):
        result = _openstack(cloud, "alice", USER_PASSWORD, "projA", *args)
        assert result.returncode == 0, (args, result.stderr[-2000:])
        return result.stdout

    assert "cirros" in cli("image", "list", "-f", "value", "-c", "Name")
    created = json.loads(cli("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait",
                             "-f", "json", "cli-demo"))
    assert created["status"] == "ACTIVE"
    assert "cli-demo" in cli("server", "list", "-f", "value", "-c", "Name")
    cli("server", "stop", "cli-demo")
    wait_for(lambda: cli("server", "show", "cli-demo", "-f", "value", "-c", "status").strip() == "SHUTOFF",
             60, "SHUTOFF", interval=0.5)
    # project B's member does not see it through the same CLI
    other = _openstack(cloud, "bob", USER_PASSWORD, "projB", "server", "show", "cli-demo")
    assert other.returncode != 0 and "No Server found" in other.stderr
    cli("server", "delete", "--wait", "cli-demo")
    assert "cli-demo" not in cli("server", "list", "-f", "value", "-c", "Name")


def test_project_b_cannot_see_or_touch_project_a(cloud):
    a, b, adm = alice(cloud), bob(cloud), admin(cloud)
    image = a.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    resp = a.post(f"{C}/servers", json={"server": {"name": "a-vm", "flavorRef": "1", "imageRef": image}})
    assert resp.status_code == 202, resp.text
    server_id, task_url = resp.json()["server"]["id"], resp.headers["X-Taskvisor-Task"]
    wait_active(a, server_id)
    task_id = task_url.rsplit("/", 1)[1]
    request_id = a.get(f"{C}/servers/{server_id}/os-instance-actions").json()["instanceActions"][0]["request_id"]
    private = a.post("/image/v2/images", json={"name": "a-private", "visibility": "private",
                                                "disk_format": "raw", "container_format": "bare"})
    assert private.status_code == 201, private.text
    node = adm.post(f"{BM}/nodes", json={"driver": "fake-hardware", "name": "a-node", "owner": cloud["ids"]["projA"],
                                         "driver_info": {"redfish_password": "bmc-secret"}}, headers=IRONIC)
    assert node.status_code == 201, node.text
    node_id = node.json()["uuid"]

    # B sees none of it ...
    assert server_id not in json.dumps(b.get(f"{C}/servers").json())
    assert b.get(f"{C}/servers/detail?all_tenants=1").status_code == 403
    for path in (f"/servers/{server_id}", f"/servers/{server_id}/os-instance-actions",
                 f"/servers/{server_id}/os-instance-actions/{request_id}", f"/servers/{server_id}/tasks",
                 f"/servers/{server_id}/tasks/{task_id}", f"/tasks/{task_id}"):
        assert b.get(C + path).status_code == 404, path
    assert b.get(f"/image/v2/images/{private.json()['id']}").status_code == 404
    assert "a-private" not in b.get("/image/v2/images").text
    assert b.get(f"{BM}/nodes/{node_id}", headers=IRONIC).status_code == 404
    assert b.get(f"{BM}/nodes/{node_id}/tasks", headers=IRONIC).status_code == 404
    assert b.get(f"{BM}/nodes", headers=IRONIC).json()["nodes"] == []
    # ... and can change none of it
    assert b.post(f"{C}/servers/{server_id}/action", json={"os-stop": None}).status_code == 404
    assert b.delete(f"{C}/servers/{server_id}").status_code == 404
    assert b.delete(f"/image/v2/images/{private.json()['id']}").status_code == 404
    assert b.patch(f"{BM}/nodes/{node_id}", json=[{"op": "replace", "path": "/driver_info/redfish_address",
                                                    "value": "http://127.0.0.1:1"}], headers=IRONIC).status_code == 404
    assert b.put(f"{BM}/nodes/{node_id}/states/provision", json={"target": "manage"},
                 headers=IRONIC).status_code == 404
    assert b.delete(f"{BM}/nodes/{node_id}", headers=IRONIC).status_code == 404
    # A, the owner, sees its node with the BMC password masked; the admin sees every project's server
    shown = a.get(f"{BM}/nodes/{node_id}", headers=IRONIC).json()
    assert shown["owner"] == cloud["ids"]["projA"] and shown["driver_info"]["redfish_password"] == "******"
    assert server_id in adm.get(f"{C}/servers?all_tenants=1").text
    assert a.get(f"{C}/servers/{server_id}").json()["server"]["status"] == "ACTIVE"
    assert a.delete(f"{C}/servers/{server_id}").status_code == 204


def test_reader_reads_and_cannot_act(cloud):
    a = alice(cloud)
    rita = As(cloud, "rita", USER_PASSWORD, "projA")
    image = a.get("/image/v2/images?name=cirros").json()["images"][0]["id"]
    resp = a.post(f"{C}/servers", json={"server": {"name": "ro", "flavorRef": "1", "imageRef": image}})
    server_id = resp.json()["server"]["id"]
    wait_active(a, server_id)
    assert rita.get(f"{C}/servers/{server_id}").status_code == 200
    assert rita.post(f"{C}/servers/{server_id}/action", json={"os-stop": None}).status_code == 403
    assert rita.get(f"{C}/os-services").status_code == 403
    assert a.get(f"{C}/os-services").status_code == 403
    assert admin(cloud).get(f"{C}/os-services").status_code == 200
    a.delete(f"{C}/servers/{server_id}")


def test_revoked_token_gets_401(cloud):
    a = alice(cloud)
    assert a.get(f"{C}/servers").status_code == 200
    cloud["keystone"].revoke(a.token)
    resp = a.get(f"{C}/servers")
    assert resp.status_code == 401 and "unauthorized" in resp.json()


def test_expired_token_gets_401(cloud):
    a = alice(cloud)
    assert a.get(f"{C}/servers").status_code == 200
    wait_token_expired(cloud["keystone"], a.token, timeout=TOKEN_LIFETIME * 4)
    assert a.get(f"{C}/servers").status_code == 401
