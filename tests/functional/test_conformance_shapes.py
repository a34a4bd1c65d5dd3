"""Small shapes Tempest checks, found by the
conformance baseline (docs/conformance.md): the service id from 2.53, the
server's trusted_image_certificates from 2.63, bare metal paths without /v1."""
from __future__ import annotations

import uuid


def mv(version: str) -> dict:
    return {"OpenStack-API-Version": f"compute {version}"}


def test_services_are_named_by_uuid_from_2_53(cloud):
    old = cloud.get("/os-services", headers=mv("2.52")).json()["services"]
    new = cloud.get("/os-services", headers=mv("2.53")).json()["services"]
    assert all(isinstance(s["id"], int) for s in old)
    assert all(str(uuid.UUID(s["id"])) == s["id"] for s in new)
    # stable: the same service keeps its UUID
    assert [s["id"] for s in cloud.get("/os-services", headers=mv("2.53")).json()["services"]] == \
        [s["id"] for s in new]

    compute = next(s for s in new if s["binary"] == "nova-compute")
    resp = cloud.client.put(f"/compute/v2.1/os-services/{compute['id']}", headers=mv("2.53"),
                            json={"status": "disabled", "disabled_reason": "maintenance"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["service"]["id"] == compute["id"] and resp.json()["service"]["status"] == "disabled"
    resp = cloud.client.put(f"/compute/v2.1/os-services/{compute['id']}", headers=mv("2.53"),
                            json={"status": "enabled"})
    assert resp.status_code == 200 and resp.json()["service"]["status"] == "enabled"


def test_service_update_from_2_53_wants_a_known_uuid(cloud):
    old_id = cloud.get("/os-services", headers=mv("2.52")).json()["services"][0]["id"]
    resp = cloud.client.put(f"/compute/v2.1/os-services/{old_id}", headers=mv("2.53"), json={"status": "enabled"})
    assert resp.status_code == 400 and "badRequest" in resp.json()
    resp = cloud.client.put(f"/compute/v2.1/os-services/{uuid.uuid4()}", headers=mv("2.53"),
                            json={"status": "enabled"})
    assert resp.status_code == 404 and "itemNotFound" in resp.json()
    # below 2.53 the integer id still works
    resp = cloud.client.put(f"/compute/v2.1/os-services/{old_id}", json={"status": "enabled"})
    assert resp.status_code == 200, resp.text


def test_server_shows_trusted_image_certificates_from_2_63(cloud):
    server_id = cloud.boot("certs")
    assert "trusted_image_certificates" not in cloud.get(f"/servers/{server_id}", headers=mv("2.62")).json()["server"]
    shown = cloud.get(f"/servers/{server_id}", headers=mv("2.63")).json()["server"]
    assert shown["trusted_image_certificates"] is None
    listed = cloud.get("/servers/detail", headers=mv("2.63")).json()["servers"]
    assert [s["trusted_image_certificates"] for s in listed if s["id"] == server_id] == [None]


def test_baremetal_path_without_a_version_is_served_as_v1(cloud):
    latest = {"X-OpenStack-Ironic-API-Version": "latest"}
    chassis = cloud.client.post("/baremetal/v1/chassis", json={"description": "rack 9"}, headers=latest).json()
    plain = cloud.client.get(f"/baremetal/chassis/{chassis['uuid']}", headers=latest)
    assert plain.status_code == 200 and plain.json()["description"] == "rack 9"
    assert "X-OpenStack-Ironic-API-Version" in plain.headers
    assert cloud.client.get("/baremetal/chassis/no-such", headers=latest).status_code == 404
    # the root document and v1's own document stay what they were
    assert "default_version" in cloud.client.get("/baremetal/").json()
    assert cloud.client.get("/baremetal/v1").json()["id"] == "v1"
