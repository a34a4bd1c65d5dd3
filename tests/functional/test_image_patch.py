"""Glance's image PATCH through the real API: RFC 6902 on the image as the
API shows it (custom properties are top-level members), Glance's errors,
and a patch that fails part-way changes nothing."""
from __future__ import annotations

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


def new_image(cloud) -> str:
    resp = cloud.client.post("/image/v2/images", json={"name": "p", "disk_format": "qcow2",
                                                       "container_format": "bare", "os_distro": "cirros"})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def patch(cloud, image_id, ops):
    return cloud.client.patch(f"/image/v2/images/{image_id}", json=ops, headers=PATCH)


def test_add_replace_remove_on_core_fields_and_properties(cloud):
    image_id = new_image(cloud)
    resp = patch(cloud, image_id, [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/min_ram", "value": 64},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "replace", "path": "/os_distro", "value": "fedora"},
        {"op": "add", "path": "/tags", "value": ["a", "b"]}])
    assert resp.status_code == 200, resp.text
    image = resp.json()
    assert (image["name"], image["min_ram"], image["hw_disk_bus"], image["os_distro"], image["tags"]) == \
        ("renamed", 64, "virtio", "fedora", ["a", "b"])
    resp = patch(cloud, image_id, [{"op": "remove", "path": "/hw_disk_bus"},
                                   {"op": "replace", "path": "/tags", "value": []}])
    assert resp.status_code == 200, resp.text
    shown = cloud.client.get(f"/image/v2/images/{image_id}").json()
    assert "hw_disk_bus" not in shown and shown["tags"] == [] and shown["os_distro"] == "fedora"


def test_glance_errors_and_nothing_half_applied(cloud):
    image_id = new_image(cloud)
    cases = [
        ([{"op": "replace", "path": "/status", "value": "active"}], 403, "read-only"),
        ([{"op": "remove", "path": "/name"}], 403, "cannot be removed"),
        ([{"op": "replace", "path": "/nothing_here", "value": "x"}], 409, "does not exist"),
        ([{"op": "remove", "path": "/nothing_here"}], 409, "does not exist"),
        ([{"op": "move", "path": "/name", "from": "/os_distro"}], 400, "Invalid operation"),
        ([{"op": "add", "path": "/a/b", "value": 1}], 400, "Invalid JSON pointer"),
        ([{"op": "add", "path": "/a~x", "value": 1}], 400, "Invalid JSON pointer"),  # no such escape (fuzz)
        ([{"op": "add", "path": "/min_disk", "value": -1}], 400, "non-negative"),
        ([{"op": "add", "path": "/hw_qemu_guest_agent", "value": "yes"},
          {"op": "remove", "path": "/nothing_here"}], 409, "does not exist"),
    ]
    for ops, status, text in cases:
        resp = patch(cloud, image_id, ops)
        assert resp.status_code == status and text in resp.text, (ops, resp.status_code, resp.text)
    shown = cloud.client.get(f"/image/v2/images/{image_id}").json()
    assert "hw_qemu_guest_agent" not in shown and shown["name"] == "p" and shown["min_disk"] == 0
