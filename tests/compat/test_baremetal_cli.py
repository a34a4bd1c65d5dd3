"""The unmodified `baremetal` CLI (--os-auth-type none --os-endpoint …) and
`openstack baremetal` (the clouds.yaml's baremetal_endpoint_override) drive
nodes through every provision state on a real all-in-one.

Both CLIs poll every 10 s for provide/clean/deploy/undeploy --wait, so the
two node lifecycles run side by side (two users at once), each asserting
on its own node.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.compat.conftest import start_cloud

pytestmark = pytest.mark.slow

CLEAN_STEPS = json.dumps([{"interface": "deploy", "step": "erase_devices"},
                          {"interface": "management", "step": "set_boot_device", "args": {"device": "pxe"}}])
HOLD = json.dumps([{"interface": "deploy", "step": "hold"}])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, client_home):
    yield from start_cloud(tmp_path_factory, client_home, "compat-baremetal")


def node_lifecycle(cloud, run, name: str) -> list[str]:
    """Every node command of the issue through one CLI; returns the states seen."""
    def out(*args):
        return run(*args).stdout

    def as_json(*args):
        return json.loads(run(*args, "-f", "json").stdout)

    created = as_json("node", "create", "--driver", "fake-hardware", "--name", name)
    uuid = created["uuid"]
    assert created["name"] == name and created["provision_state"] == "enroll" and created["driver"] == "fake-hardware"
    seen = [created["provision_state"]]

    listed = {n["name"]: n for n in as_json("node", "list")}
    assert listed[name]["uuid"] == uuid and listed[name]["provision_state"] == "enroll"

    assert "Waiting for provision state manageable" in out("node", "manage", "--wait", "60", name)
    seen.append(cloud.node(uuid)["provision_state"])

    assert "Waiting for provision state manageable" in out("node", "clean", "--clean-steps", CLEAN_STEPS,
                                                           "--wait", "60", name)
    after_clean = cloud.node(uuid)
    assert after_clean["provision_state"] == "manageable" and after_clean["last_error"] is None
    seen.append("cleaned")

    # a held clean, aborted: clean failed with the abort as last_error, then back to manageable
    run("node", "clean", "--clean-steps", HOLD, name)
    cloud.wait_node(uuid, "clean hold")
    run("node", "abort", name)
    aborted = cloud.wait_node(uuid, "clean failed")
    assert "aborted" in aborted["last_error"]
    seen.append(aborted["provision_state"])
    run("node", "manage", "--wait", "60", name)

    assert "Waiting for provision state available" in out("node", "provide", "--wait", "60", name)
    shown = as_json("node", "show", name)
    assert shown["provision_state"] == "available" and shown["power_state"] == "power off"
    seen.append(shown["provision_state"])

    run("node", "power", "on", name)
    assert cloud.wait_node_power(uuid, "power on")["power_state"] == "power on"
    run("node", "power", "off", name)
    assert cloud.wait_node_power(uuid, "power off")["power_state"] == "power off"

    run("node", "maintenance", "set", "--reason", "fan replacement", name)
    shown = cloud.node(uuid)
    assert shown["maintenance"] is True and shown["maintenance_reason"] == "fan replacement"
    run("node", "maintenance", "unset", name)
    shown = cloud.node(uuid)
    assert shown["maintenance"] is False and shown["maintenance_reason"] is None

    assert "Waiting for provision state active" in out("node", "deploy", "--wait", "60", name)
    deployed = cloud.node(uuid)
    assert deployed["provision_state"] == "active" and deployed["power_state"] == "power on"
    seen.append(deployed["provision_state"])

    assert "Waiting for provision state available" in out("node", "undeploy", "--wait", "60", name)
    undeployed = cloud.node(uuid)
    assert undeployed["provision_state"] == "available" and undeployed["power_state"] == "power off"
    seen.append(undeployed["provision_state"])

    assert f"Deleted node {name}" in out("node", "delete", name)
    assert cloud.http.get(f"/baremetal/v1/nodes/{uuid}").status_code == 404
    return seen


def test_node_lifecycle_through_both_clis(cloud):
    def openstack_baremetal(*args):
        return cloud.openstack("baremetal", *args)

    expected = ["enroll", "manageable", "cleaned", "clean failed", "available", "active", "available"]
    with ThreadPoolExecutor(2) as pool:
        via_baremetal = pool.submit(node_lifecycle, cloud, cloud.baremetal, "bm-node")
        via_openstack = pool.submit(node_lifecycle, cloud, openstack_baremetal, "osc-node")
        assert via_baremetal.result() == expected
        assert via_openstack.result() == expected


def test_errors_read_well(cloud):
    missing = cloud.baremetal("node", "show", "no-such-node", check=False)
    assert missing.returncode == 1 and "Node no-such-node could not be found." in missing.stderr
    missing = cloud.openstack("baremetal", "node", "show", "no-such-node", check=False)
    assert missing.returncode == 1 and "Node no-such-node could not be found." in missing.stderr

    uuid = cloud.baremetal_json("node", "create", "--driver", "fake-hardware", "--name", "errs")["uuid"]
    # not a transition from enroll: Ironic's 400, in Ironic's words
    bad = cloud.baremetal("node", "deploy", "errs", check=False)
    assert bad.returncode == 1
    assert f'The requested action "active" can not be performed on node "{uuid}" while it is in state "enroll".' \
        in bad.stderr and "(HTTP 400)" in bad.stderr
    bad = cloud.openstack("baremetal", "node", "clean", "--clean-steps", HOLD, "errs", check=False)
    assert bad.returncode == 1
    assert f'The requested action "clean" can not be performed on node "{uuid}" while it is in state "enroll".' \
        in bad.stderr
    assert cloud.node(uuid)["provision_state"] == "enroll"
    cloud.baremetal("node", "delete", "errs")


def test_deploy_templates_and_runbooks_through_the_cli(cloud):
    """`baremetal deploy template …` and `baremetal runbook …` (1.115: runbook traits)."""
    steps = json.dumps([{"interface": "bios", "step": "factory_reset", "args": {}, "priority": 150}])
    made = cloud.baremetal_json("deploy", "template", "create", "CUSTOM_CLI", "--steps", steps)
    assert made["name"] == "CUSTOM_CLI" and made["steps"][0]["priority"] == 150
    cloud.baremetal("deploy", "template", "set", "CUSTOM_CLI", "--name", "CUSTOM_CLI2")
    assert [t["name"] for t in cloud.baremetal_json("deploy", "template", "list")] == ["CUSTOM_CLI2"]
    bad = cloud.baremetal("deploy", "template", "create", "not-a-trait", "--steps", steps, check=False)
    assert bad.returncode == 1 and "(HTTP 400)" in bad.stderr
    cloud.baremetal("deploy", "template", "delete", "CUSTOM_CLI2")

    rb_steps = json.dumps([{"interface": "bios", "step": "factory_reset", "args": {}, "order": 1}])
    runbook = cloud.baremetal_json("runbook", "create", "--name", "wipe", "--steps", rb_steps)
    assert runbook["name"] == "wipe" and runbook["traits"] == [] and runbook["steps"][0]["order"] == 1
    cloud.baremetal("runbook", "trait", "add", "wipe", "CUSTOM_A", "CUSTOM_B")
    cloud.baremetal("runbook", "trait", "remove", "wipe", "CUSTOM_B")
    # Ironic lets only a system-scoped member publish a runbook; this CLI is a project admin (noauth2's default)
    refused = cloud.baremetal("runbook", "set", "wipe", "--public", check=False)
    assert refused.returncode == 1 and "(HTTP 403)" in refused.stderr
    assert "baremetal:runbook:update:public" in refused.stderr
    shown = cloud.baremetal_json("runbook", "show", "wipe")
    assert shown["traits"] == ["CUSTOM_A"] and shown["public"] is False and shown["owner"] == "admin"
    cloud.baremetal("runbook", "delete", "wipe")
    assert cloud.baremetal_json("runbook", "list") == []


def test_ports_port_groups_and_chassis(cloud):
    """The port, port group and chassis commands, with what they print."""
    chassis = cloud.baremetal_json("chassis", "create", "--description", "rack 9")["uuid"]
    node = cloud.baremetal_json("node", "create", "--driver", "fake-hardware", "--name", "ports-node",
                                "--chassis-uuid", chassis)["uuid"]
    group = cloud.baremetal_json("port", "group", "create", "--node", node, "--name", "bond0",
                                 "--address", "52:54:00:12:34:50")
    assert group["name"] == "bond0" and group["mode"] == "active-backup"
    port = cloud.baremetal_json("port", "create", "--node", node, "--port-group", group["uuid"], "--physical-network",
                                "physnet1", "--local-link-connection", "switch_id=0a:1b:2c:3d:4e:5f",
                                "--local-link-connection", "port_id=Eth1/1", "52:54:00:12:34:56")
    assert port["portgroup_uuid"] == group["uuid"] and port["physical_network"] == "physnet1"
    listed = cloud.baremetal_json("port", "list", "--node", "ports-node")
    assert [p["address"] for p in listed] == ["52:54:00:12:34:56"], listed
    cloud.baremetal("port", "set", "--extra", "rack=9", port["uuid"])
    assert cloud.baremetal_json("port", "show", port["uuid"])["extra"] == {"rack": 9}  # the CLI sends JSON values
    in_chassis = cloud.baremetal_json("node", "list", "--chassis", chassis)
    assert [n.get("uuid", n.get("UUID")) for n in in_chassis] == [node], in_chassis
    dup = cloud.baremetal("port", "create", "--node", node, "52:54:00:12:34:56", check=False)
    assert dup.returncode == 1 and "A port with MAC address 52:54:00:12:34:56 already exists." in dup.stderr
    cloud.openstack("baremetal", "port", "delete", port["uuid"])
    cloud.baremetal("port", "group", "delete", "bond0")
    cloud.baremetal("node", "delete", "ports-node")
    cloud.baremetal("chassis", "delete", chassis)
