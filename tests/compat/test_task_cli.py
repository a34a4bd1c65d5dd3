"""The taskvisor openstackclient plugin, through the real `openstack` command
against a real all-in-one whose fake guests take seconds to spawn (so a
watch sees steps run)."""
from __future__ import annotations

import pytest

from tests.compat.conftest import start_cloud

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory, client_home):
    yield from start_cloud(tmp_path_factory, client_home, "compat-task-cli",
                           env={"TASKVISOR_FAKE__SPAWN_SECONDS": "8"})


def test_server_task_watch_follows_the_boot_to_its_end(cli):
    server = cli.openstack_json("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "watched")
    watched = cli.openstack("server", "task", "watch", "watched", timeout=120)
    lines = watched.stdout.splitlines()
    assert lines[0].startswith("task ") and f"create of server {server['id']}" in lines[0]
    assert any("spawn" in line and "running" in line for line in lines), watched.stdout  # seen live
    assert any("3/3 spawn" in line and "succeeded" in line for line in lines), watched.stdout
    assert lines[-1].strip() == "[####################] 100% succeeded"
    # watch returned because the task ended: the server is ACTIVE now
    assert cli.server(server["id"])["status"] == "ACTIVE"

    listed = cli.openstack_json("server", "task", "list", "watched")
    assert [(t["Action"], t["Status"], t["Progress"]) for t in listed] == [("create", "succeeded", 100)]
    shown = cli.openstack_json("server", "task", "show", "watched", listed[0]["ID"])
    assert [s["name"] for s in shown["steps"]] == ["schedule", "allocate_network", "spawn"]
    assert all(s["host"] == "localhost" and s["status"] == "succeeded" for s in shown["steps"])
    value = cli.openstack("server", "task", "show", "watched", listed[0]["ID"], "-f", "value", "-c", "status")
    assert value.stdout.strip() == "succeeded"
    # a finished task: watch prints it and ends at once
    again = cli.openstack("server", "task", "watch", "watched")
    assert again.stdout.splitlines()[-1].strip().endswith("100% succeeded")


def test_task_list_filters_cancel_and_event_details(cli):
    server = cli.openstack_json("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "other")
    cli.openstack("server", "stop", "other")
    cli.wait_server(server["id"], "SHUTOFF")
    stops = cli.openstack_json("task", "list", "--action", "stop", "--status", "succeeded")
    assert [t["Resource ID"] for t in stops] == [server["id"]]
    assert cli.openstack_json("task", "list", "--status", "queued", "--all-projects") == []
    everything = cli.openstack_json("task", "list", "--all-projects", "--resource", server["id"])
    assert [t["Action"] for t in everything] == ["stop", "create"]
    one = cli.openstack_json("task", "list", "--resource", server["id"], "--limit", "1")
    assert [t["Action"] for t in one] == ["stop"]
    rest = cli.openstack_json("task", "list", "--resource", server["id"], "--marker", one[0]["ID"])
    assert [t["Action"] for t in rest] == ["create"]
    shown = cli.openstack_json("task", "show", stops[0]["ID"])
    assert shown["steps"][0]["details"]["shutdown"] == "clean"

    denied = cli.openstack("task", "cancel", stops[0]["ID"], check=False)
    assert denied.returncode != 0 and "409" in denied.stderr and "already ended (succeeded)" in denied.stderr

    events = cli.openstack_json("--os-compute-api-version", "2.84", "server", "event", "show", "other",
                                shown["request_id"])
    (event,) = events["events"]
    assert event["event"] == "compute_power_off" and "shutdown=clean" in event["details"]


def test_baremetal_node_task_list_by_name(cli):
    cli.baremetal("node", "create", "--driver", "fake-hardware", "--name", "rack1-u9")
    cli.baremetal("node", "manage", "--wait", "60", "rack1-u9")
    tasks = cli.openstack_json("baremetal", "node", "task", "list", "rack1-u9")
    assert [(t["Resource Type"], t["Action"], t["Status"]) for t in tasks] == [("node", "manage", "succeeded")]
