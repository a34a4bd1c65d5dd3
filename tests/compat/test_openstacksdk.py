"""openstacksdk, unmodified and in this process, drives a real all-in-one:
the compute proxy's server calls and the bare-metal proxy's node calls."""
from __future__ import annotations

import pytest

from tests.compat.conftest import start_cloud

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, client_home):
    yield from start_cloud(tmp_path_factory, client_home, "compat-sdk")


@pytest.fixture(scope="module")
def conn(cloud):
    pytest.importorskip("openstack")
    connection = cloud.sdk()
    yield connection
    connection.close()


def test_connection_lists_flavors_images_and_services(conn):
    flavors = {f.name: f for f in conn.compute.flavors()}
    assert flavors["m1.small"].ram == 2048 and flavors["m1.small"].vcpus == 1
    assert [i.name for i in conn.image.images()] == ["cirros"]
    assert {s.binary for s in conn.compute.services()} >= {"nova-compute", "nova-conductor"}


def test_server_lifecycle(conn, cloud):
    from openstack import exceptions

    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    image = conn.image.find_image("cirros", ignore_missing=False)
    server = conn.compute.create_server(name="sdk-vm", flavor_id=flavor.id, image_id=image.id, networks="auto")
    assert server.id and server.admin_password
    server = conn.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=30)
    assert server.status == "ACTIVE" and server.flavor.original_name == "m1.tiny" and server.image.id == image.id
    assert server.vm_state == "active" and server.power_state == 1

    conn.compute.stop_server(server)
    server = conn.compute.wait_for_server(server, status="SHUTOFF", interval=0.2, wait=30)
    assert cloud.server(server.id)["OS-EXT-STS:power_state"] == 4

    with pytest.raises(exceptions.ConflictException) as conflict:
        conn.compute.stop_server(server)
    assert f"Cannot 'stop' instance {server.id} while it is in vm_state stopped" in str(conflict.value)
    assert conflict.value.status_code == 409

    conn.compute.start_server(server)
    server = conn.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=30)

    # wait_for_server trusts the object it is given when its status already
    # matches, so after a reboot of an ACTIVE server read it back first
    for kind in ("HARD", "SOFT"):
        conn.compute.reboot_server(server, kind)
        server = conn.compute.wait_for_server(conn.compute.get_server(server.id), status="ACTIVE",
                                              interval=0.2, wait=30)
        assert cloud.server(server.id)["OS-EXT-STS:task_state"] is None

    actions = list(conn.compute.server_actions(server))
    assert [a.action for a in actions] == ["reboot", "reboot", "start", "stop", "create"]
    shown = conn.compute.get_server_action(actions[0].request_id, server, ignore_missing=False)
    assert shown.events and all(e.result == "Success" for e in shown.events)

    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.2, wait=30)
    assert cloud.server_status(server.id) == 404
    assert conn.compute.find_server("sdk-vm") is None

    with pytest.raises(exceptions.NotFoundException) as missing:
        conn.compute.get_server(server.id)
    assert f"Instance {server.id} could not be found." in str(missing.value)


def test_force_delete_server(conn, cloud):
    server = conn.compute.create_server(name="sdk-force", flavor_id="1", image_id=cloud.http.get(
        "/image/v2/images?name=cirros").json()["images"][0]["id"], networks="auto")
    conn.compute.wait_for_server(server, interval=0.2, wait=30)
    conn.compute.delete_server(server, force=True)
    conn.compute.wait_for_delete(server, interval=0.2, wait=30)
    assert [a.action for a in conn.compute.server_actions(server.id)] == ["delete", "create"]


def test_node_lifecycle(conn, cloud):
    from openstack import exceptions

    bm = conn.baremetal
    node = bm.create_node(driver="fake-hardware", name="sdk-node")
    assert node.provision_state == "enroll" and node.driver == "fake-hardware"
    assert "sdk-node" in {n.name for n in bm.nodes()}

    node = bm.set_node_provision_state(node, "manage", wait=True, timeout=30)
    assert node.provision_state == "manageable"
    node = bm.set_node_provision_state(
        node, "clean", wait=True, timeout=30,
        clean_steps=[{"interface": "deploy", "step": "erase_devices"},
                     {"interface": "management", "step": "set_boot_device", "args": {"device": "pxe"}}])
    assert node.provision_state == "manageable" and node.last_error is None

    with pytest.raises(exceptions.BadRequestException) as bad:
        bm.set_node_provision_state(node, "clean", clean_steps=[{"interface": "deploy", "step": "no_such_step"}])
    assert "no_such_step" in str(bad.value)

    node = bm.set_node_provision_state(node, "provide", wait=True, timeout=30)
    assert node.provision_state == "available"

    bm.set_node_power_state(node, "power on", wait=True, timeout=30)
    assert bm.get_node(node.id).power_state == "power on"
    bm.set_node_power_state(node, "power off", wait=True, timeout=30)
    assert bm.get_node(node.id).power_state == "power off"

    bm.set_node_maintenance(node, reason="fan replacement")
    shown = bm.get_node(node.id)
    assert shown.is_maintenance and shown.maintenance_reason == "fan replacement"
    bm.unset_node_maintenance(node)
    assert not bm.get_node(node.id).is_maintenance

    node = bm.set_node_provision_state(node, "active", wait=True, timeout=30)
    assert node.provision_state == "active" and cloud.node(node.id)["power_state"] == "power on"
    node = bm.set_node_provision_state(node, "deleted", wait=True, timeout=30)
    assert node.provision_state == "available"

    bm.delete_node(node)
    assert bm.find_node("sdk-node") is None
    with pytest.raises(exceptions.NotFoundException) as missing:
        bm.get_node("sdk-node")
    assert "Node sdk-node could not be found." in str(missing.value)
