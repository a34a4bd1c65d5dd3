"""The edge's 413 / 415 / malformed-JSON answers, in each API's own shape
(shapes as the real projects render them):

- Nova: ``wsgi.Fault`` — ``{"overLimit"|"badMediaType"|"badRequest": {"code": N, "message": …}}``;
- Glance: webob's JSON error body — ``{"code": "415 Unsupported Media Type",
  "title": "Unsupported Media Type", "message": …}``, and ``Accept-Patch`` on a
  PATCH answered 415;
- Ironic: ``ParsableErrorMiddleware`` — ``{"error_message": "<JSON string of
  faultstring, faultcode, debuginfo>"}``.
Each test also checks nothing was created or changed."""
from __future__ import annotations

import json

import pytest

from tests.functional.baremetal import BM, LATEST, fault

C = "/compute/v2.1"
IMAGES = "/image/v2/images"
BIG = 200 * 1024  # above oslo.middleware's default 114,688 bytes
MALFORMED = b'{"name": "x", '


def nova(resp, status: int, kind: str) -> str:
    body = resp.json()
    assert resp.status_code == status and set(body) == {kind}, (resp.status_code, body)
    assert set(body[kind]) == {"code", "message"} and body[kind]["code"] == status, body
    return body[kind]["message"]


def glance(resp, status: int, title: str) -> str:
    body = resp.json()
    assert resp.status_code == status, (resp.status_code, body)
    assert body == {"code": f"{status} {title}", "title": title, "message": body["message"]}, body
    return body["message"]


def ironic(resp, status: int) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text)
    return fault(resp)


def server_body(cloud, **extra) -> dict:
    return {"server": {"name": "edge", "flavorRef": "1", "imageRef": cloud.image_id, **extra}}


def image_names(cloud) -> list[str]:
    return [i["name"] for i in cloud.client.get(IMAGES).json()["images"]]


def node_names(cloud) -> list[str]:
    return [n["name"] for n in cloud.client.get(f"{BM}/nodes", headers=LATEST).json()["nodes"]]


# -- Nova ---------------------------------------------------------------------

def test_compute_413_is_overlimit(cloud):
    resp = cloud.post("/servers", server_body(cloud, user_data="x" * BIG))
    assert "114688" in nova(resp, 413, "overLimit")
    assert cloud.get("/servers").json()["servers"] == []


def test_compute_415_is_badmediatype(cloud):
    resp = cloud.client.post(f"{C}/servers", content=json.dumps(server_body(cloud)).encode(),
                             headers={"Content-Type": "text/plain"})
    assert "text/plain" in nova(resp, 415, "badMediaType")
    assert cloud.get("/servers").json()["servers"] == []


def test_compute_malformed_json_is_badrequest(cloud):
    resp = cloud.client.post(f"{C}/servers", content=MALFORMED, headers={"Content-Type": "application/json"})
    assert "Malformed request body" in nova(resp, 400, "badRequest")
    assert cloud.get("/servers").json()["servers"] == []


def test_compute_unsupported_microversion_is_a_406_computefault(cloud):
    """Nova's Fault has no name for 406: an out-of-range version is a computeFault."""
    resp = cloud.get("/servers", headers={"OpenStack-API-Version": "compute 2.999"})
    nova(resp, 406, "computeFault")


# -- Glance -------------------------------------------------------------------

def test_image_413_is_glance_request_entity_too_large(cloud):
    resp = cloud.client.post(IMAGES, json={"name": "big", "disk_format": "raw", "container_format": "bare",
                                           "blob": "x" * BIG})
    assert "114688" in glance(resp, 413, "Request Entity Too Large")
    assert "big" not in image_names(cloud)


@pytest.mark.parametrize("ctype", ["text/plain", "application/json"])
def test_image_patch_415_names_the_patch_type_in_accept_patch(cloud, ctype):
    """text/plain is refused at the edge, plain JSON by the route: both as Glance does."""
    ops = [{"op": "replace", "path": "/name", "value": "renamed"}]
    resp = cloud.client.patch(f"{IMAGES}/{cloud.image_id}", content=json.dumps(ops).encode(),
                              headers={"Content-Type": ctype})
    glance(resp, 415, "Unsupported Media Type")
    assert resp.headers["Accept-Patch"] == "application/openstack-images-v2.1-json-patch"
    assert cloud.client.get(f"{IMAGES}/{cloud.image_id}").json()["name"] == "cirros"


def test_image_create_415_is_glance_unsupported_media_type(cloud):
    body = json.dumps({"name": "typed", "disk_format": "raw", "container_format": "bare"}).encode()
    resp = cloud.client.post(IMAGES, content=body, headers={"Content-Type": "text/plain"})
    glance(resp, 415, "Unsupported Media Type")
    assert "typed" not in image_names(cloud)


def test_image_malformed_json_is_glance_bad_request(cloud):
    resp = cloud.client.post(IMAGES, content=MALFORMED, headers={"Content-Type": "application/json"})
    assert "Malformed request body" in glance(resp, 400, "Bad Request")
    assert image_names(cloud) == ["cirros"]


# -- Ironic -------------------------------------------------------------------

def test_baremetal_413_is_an_ironic_client_fault(cloud):
    resp = cloud.client.post(f"{BM}/nodes", json={"driver": "fake-hardware", "name": "big",
                                                  "extra": {"blob": "x" * BIG}}, headers=LATEST)
    assert "114688" in ironic(resp, 413)
    assert node_names(cloud) == []


def test_baremetal_415_is_an_ironic_client_fault(cloud):
    body = json.dumps({"driver": "fake-hardware", "name": "typed"}).encode()
    resp = cloud.client.post(f"{BM}/nodes", content=body, headers={**LATEST, "Content-Type": "text/plain"})
    assert "text/plain" in ironic(resp, 415)
    assert node_names(cloud) == []


def test_baremetal_malformed_json_is_an_ironic_client_fault(cloud):
    resp = cloud.client.post(f"{BM}/nodes", content=MALFORMED,
                             headers={**LATEST, "Content-Type": "application/json"})
    assert "Malformed request body" in ironic(resp, 400)
    assert node_names(cloud) == []
