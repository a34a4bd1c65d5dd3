"""Compute shapes Tempest's compute suite relies on (issue 18), one test per fixed cause."""
from __future__ import annotations


def test_image_proxy_filters_by_server_link_and_type(cloud):
    server_id = cloud.boot()
    resp, task = cloud.act(server_id, {"createImage": {"name": "snap"}}, expect=202)
    snapshot_id = resp.headers["Location"].rsplit("/", 1)[1]
    server = cloud.client.get(f"/compute/v2.1/servers/{server_id}").json()["server"]
    for link in server["links"]:
        images = cloud.client.get("/compute/v2.1/images", params={"server": link["href"]}).json()["images"]
        assert [i["id"] for i in images] == [snapshot_id]
    for path in ("/compute/v2.1/images", "/compute/v2.1/images/detail"):
        ids = [i["id"] for i in cloud.client.get(path, params={"type": "snapshot"}).json()["images"]]
        assert ids == [snapshot_id]
        assert cloud.client.get(path, params={"type": "backup"}).json()["images"] == []


def test_access_ips_given_at_create_are_shown(cloud):
    server_id = cloud.boot(accessIPv4="1.1.1.1", accessIPv6="0000:0000:0000:0000:0000:babe:220.12.22.2",
                           **{"OS-DCF:diskConfig": "AUTO", "adminPass": "pw", "metadata": {"hello": "world"}})
    server = cloud.server(server_id)
    assert server["accessIPv4"] == "1.1.1.1"
    assert server["accessIPv6"] == "::babe:dc0c:1602"


def test_os_networks_shows_the_simulated_private_network_until_2_35(cloud):
    networks = cloud.get("/os-networks").json()["networks"]
    assert [n["label"] for n in networks] == ["private"] and networks[0]["cidr"] == "10.0.0.0/8"
    assert "bridge" in networks[0]  # an admin sees the nova-network era fields (null)
    member = {"X-Project-Id": "projA", "X-User-Id": "alice", "X-Roles": "member"}
    shown = cloud.get(f"/os-networks/{networks[0]['id']}", headers=member).json()["network"]
    assert shown["label"] == "private" and "bridge" not in shown
    assert cloud.get("/os-networks/nope").status_code == 404
    assert cloud.get("/os-networks", headers={"X-OpenStack-Nova-API-Version": "2.36"}).status_code == 404
