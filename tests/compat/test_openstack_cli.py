"""The unmodified `openstack` CLI drives servers on a real all-in-one.

The all-in-one keeps shelved guests on their host ([DEFAULT]
shelved_offload_time = -1), so `server shelve` ends SHELVED and
`server shelve --offload` goes on through the shelveOffload action.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.compat.conftest import start_cloud

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory, client_home):
    yield from start_cloud(tmp_path_factory, client_home, "compat-cli",
                           env={"TASKVISOR_DEFAULT__SHELVED_OFFLOAD_TIME": "-1"})


def boot(cli, name: str, flavor: str = "m1.tiny") -> str:
    """`server create` without --wait, then wait by reading the server back."""
    server = cli.openstack_json("server", "create", "--flavor", flavor, "--image", "cirros", name)
    assert server["name"] == name
    cli.wait_server(server["id"], "ACTIVE")
    return server["id"]


def test_flavor_image_and_service_lists(cli):
    flavors = {f["Name"]: f for f in cli.openstack_json("flavor", "list")}
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large"} <= set(flavors)
    assert (flavors["m1.tiny"]["RAM"], flavors["m1.tiny"]["VCPUs"], flavors["m1.tiny"]["Disk"]) == (512, 1, 1)

    images = cli.openstack_json("image", "list")
    assert [(i["Name"], i["Status"]) for i in images] == [("cirros", "active")]

    services = {s["Binary"]: s for s in cli.openstack_json("compute", "service", "list")}
    assert services["nova-compute"]["State"] == "up" and services["nova-compute"]["Status"] == "enabled"
    assert services["nova-compute"]["Zone"] == "nova"
    assert "nova-conductor" in services


def create_list_show_stop_start_reboot_events_delete(cli):
    server = cli.openstack_json("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--wait", "web")
    sid = server["id"]
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:vm_state"] == "active"
    assert server["flavor"]["original_name"] == "m1.tiny"
    assert server["image"].startswith("cirros (")

    listed = {s["Name"]: s for s in cli.openstack_json("server", "list")}
    assert listed["web"]["ID"] == sid and listed["web"]["Status"] == "ACTIVE"
    assert listed["web"]["Flavor"] == "m1.tiny" and listed["web"]["Image"] == "cirros"

    stop = cli.openstack("server", "stop", "web")
    assert stop.stdout == ""  # os-stop answers 202 with no body, as Nova's does
    assert cli.wait_server(sid, "SHUTOFF")["OS-EXT-STS:power_state"] == 4
    shown = cli.openstack_json("server", "show", "web")
    assert shown["id"] == sid and shown["status"] == "SHUTOFF" and shown["OS-EXT-STS:power_state"] == 4

    assert cli.openstack("server", "start", "web").stdout == ""
    cli.wait_server(sid, "ACTIVE")

    # 409: the CLI prints our message, not just "Conflict"
    again = cli.openstack("server", "start", "web", check=False)
    assert again.returncode == 1
    assert f"Cannot 'start' instance {sid} while it is in vm_state active" in again.stderr

    cli.openstack("server", "reboot", "--soft", "--wait", "web")
    assert cli.server(sid)["status"] == "ACTIVE"
    cli.openstack("server", "reboot", "--hard", "--wait", "web")
    assert cli.server(sid)["status"] == "ACTIVE"

    events = cli.openstack_json("server", "event", "list", "web")
    assert [e["Action"] for e in events] == ["reboot", "reboot", "start", "stop", "create"]  # newest first
    assert {e["Server ID"] for e in events} == {sid}
    stop_event = events[3]
    shown = cli.openstack_json("server", "event", "show", "web", stop_event["Request ID"])
    assert shown["action"] == "stop" and shown["request_id"] == stop_event["Request ID"]
    assert shown["message"] is None
    assert [e["event"] for e in shown["events"]] == ["compute_power_off"]
    assert shown["events"][0]["result"] == "Success" and shown["events"][0]["host"] == "localhost"

    # 404 on a request id the server never had: our message reaches stderr
    missing = cli.openstack("server", "event", "show", "web", "req-nonexistent", check=False)
    assert missing.returncode == 1
    assert f"Action for request_id req-nonexistent on instance {sid} not found" in missing.stderr

    cli.openstack("server", "delete", "--wait", "web")
    assert cli.server_status(sid) == 404
    assert [a["action"] for a in cli.instance_actions(sid)][0] == "delete"


def test_not_found_errors_read_well(cli):
    # `server show NAME` looks the name up client-side (GET /servers/NAME 404s, then
    # a ?name= list comes back empty), so the CLI words this message itself, as with Nova.
    show = cli.openstack("server", "show", "nonexistent", check=False)
    assert show.returncode == 1 and "No Server found for nonexistent" in show.stderr

    # where the CLI passes the API's 404 on, our message is what the user reads
    gone = "00000000-0000-4000-8000-000000000000"
    events = cli.openstack("server", "event", "list", gone, check=False)
    assert events.returncode == 1
    assert f"Instance {gone} could not be found." in events.stderr


def rescue_shelve_force_delete(cli):
    sid = boot(cli, "keeper")

    cli.openstack("server", "rescue", "keeper")
    assert cli.wait_server(sid, "RESCUE")["OS-EXT-STS:vm_state"] == "rescued"
    cli.openstack("server", "unrescue", "keeper")
    cli.wait_server(sid, "ACTIVE")

    cli.openstack("server", "shelve", "keeper")
    assert cli.wait_server(sid, "SHELVED")["OS-EXT-SRV-ATTR:host"] == "localhost"  # the guest stays
    cli.openstack("server", "unshelve", "keeper")
    cli.wait_server(sid, "ACTIVE")

    # shelve, wait for SHELVED, then the shelveOffload action
    cli.openstack("server", "shelve", "--offload", "keeper")
    assert cli.wait_server(sid, "SHELVED_OFFLOADED")["OS-EXT-SRV-ATTR:host"] is None
    cli.openstack("server", "unshelve", "keeper")
    assert cli.wait_server(sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == "localhost"

    # the forceDelete action; recorded as "delete", as Nova does
    cli.openstack("server", "delete", "--force", "--wait", "keeper")
    assert cli.server_status(sid) == 404
    assert [a["action"] for a in cli.instance_actions(sid)] == [
        "delete", "unshelve", "shelveOffload", "shelve", "unshelve", "shelve", "unrescue", "rescue", "create"]


def resize_confirm_revert(cli):
    sid = boot(cli, "grower")

    cli.openstack("server", "resize", "--flavor", "m1.small", "--wait", "grower")
    assert cli.wait_server(sid, "VERIFY_RESIZE")["flavor"]["original_name"] == "m1.small"
    cli.openstack("server", "resize", "confirm", "grower")
    assert cli.wait_server(sid, "ACTIVE")["flavor"]["original_name"] == "m1.small"

    cli.openstack("server", "resize", "--flavor", "m1.medium", "--wait", "grower")
    assert cli.wait_server(sid, "VERIFY_RESIZE")["flavor"]["original_name"] == "m1.medium"
    cli.openstack("server", "resize", "revert", "grower")
    assert cli.wait_server(sid, "ACTIVE")["flavor"]["original_name"] == "m1.small"

    # resizing to the flavor it has: our 400 message
    same = cli.openstack("server", "resize", "--flavor", "m1.small", "grower", check=False)
    assert same.returncode == 1 and "When resizing, instances must change flavor!" in same.stderr

    cli.openstack("server", "delete", "grower")
    cli.wait_gone(sid)
    assert [a["action"] for a in cli.instance_actions(sid)] == [
        "delete", "revertResize", "resize", "confirmResize", "resize", "create"]


def test_three_users_side_by_side(cli):
    """Three users at once: one walks a server through create/stop/start/reboot/
    events/delete, one rescues and shelves, one resizes. The CLI's --wait polls
    every 5 s, so side by side costs the longest walk, not the sum."""
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(walk, cli) for walk in (create_list_show_stop_start_reboot_events_delete,
                                                       rescue_shelve_force_delete, resize_confirm_revert)]
        for future in futures:
            future.result()
