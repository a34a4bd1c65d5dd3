"""The unmodified `openstack` CLI on keypairs, server groups, quotas, limits
and private flavors (issue 18)."""
from __future__ import annotations

import pytest

from tests.compat.conftest import start_cloud

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory, client_home):
    yield from start_cloud(tmp_path_factory, client_home, "compat-quotas")


def test_keypairs(cli, tmp_path):
    made = cli.openstack("keypair", "create", "--type", "ssh", "k1")  # the CLI makes the key and imports it
    assert "PRIVATE KEY" in made.stdout
    public = tmp_path / "id.pub"
    public.write_text(cli.openstack("keypair", "show", "--public-key", "k1").stdout)
    imported = cli.openstack_json("keypair", "create", "--public-key", str(public), "k2")
    assert imported["fingerprint"] == cli.openstack_json("keypair", "show", "k1")["fingerprint"]
    assert {k["Name"] for k in cli.openstack_json("keypair", "list")} == {"k1", "k2"}
    server = cli.openstack_json("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--key-name", "k1",
                                "--wait", "keyed")
    assert server["key_name"] == "k1"
    cli.openstack("server", "delete", "--wait", "keyed")
    cli.openstack("keypair", "delete", "k1", "k2")
    assert cli.openstack_json("keypair", "list") == []


def test_server_groups(cli):
    group = cli.openstack_json("server", "group", "create", "--policy", "anti-affinity", "spread")
    assert group["policy"] == "anti-affinity"
    server = cli.openstack_json("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                                "--hint", f"group={group['id']}", "--wait", "member")
    shown = cli.openstack_json("server", "group", "show", "spread")
    assert shown["members"] in ([server["id"]], server["id"])
    assert [g["Name"] for g in cli.openstack_json("server", "group", "list")] == ["spread"]
    cli.openstack("server", "delete", "--wait", "member")
    cli.openstack("server", "group", "delete", "spread")


def test_limits_and_private_flavors(cli):
    # `quota set/show` resolve the project through Keystone, which a noauth2 cloud has not: set it over HTTP
    put = cli.http.put("/compute/v2.1/os-quota-sets/admin", json={"quota_set": {"cores": 7, "instances": 4}})
    assert put.status_code == 200, put.text
    limits = {row["Name"]: row["Value"] for row in cli.openstack_json("limits", "show", "--absolute")}
    assert limits["max_total_cores"] == 7 and limits["max_total_instances"] == 4 and limits["total_cores_used"] == 0
    flavor = cli.openstack_json("flavor", "create", "--private", "--ram", "64", "--disk", "1", "--vcpus", "1",
                                "hidden")
    assert flavor["os-flavor-access:is_public"] is False
    assert "hidden" in [f["Name"] for f in cli.openstack_json("flavor", "list", "--all")]
    assert "hidden" not in [f["Name"] for f in cli.openstack_json("flavor", "list")]
    cli.openstack("flavor", "delete", "hidden")
