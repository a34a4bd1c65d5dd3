"""A bare-metal client for functional tests: Ironic's API over the
in-process cloud's HTTP client, waiting as ``baremetal … --wait`` does."""
from __future__ import annotations

import json

from tests.procs import poll_until

BM = "/baremetal/v1"
LATEST = {"X-OpenStack-Ironic-API-Version": "1.115"}


def fault(resp) -> str:
    """The faultstring of an Ironic error (a JSON string inside JSON)."""
    body = resp.json()
    assert set(body) == {"error_message"}, body
    inner = json.loads(body["error_message"])
    assert set(inner) == {"faultstring", "faultcode", "debuginfo"} and inner["debuginfo"] is None, inner
    assert inner["faultcode"] == ("Client" if resp.status_code < 500 else "Server")
    return inner["faultstring"]


class Baremetal:
    def __init__(self, cloud, version: str = "1.115"):
        self.cloud, self.client = cloud, cloud.client
        self.headers = {"X-OpenStack-Ironic-API-Version": version}

    def req(self, method: str, path: str, json=None, headers: dict | None = None):
        return self.client.request(method, BM + path, json=json, headers={**self.headers, **(headers or {})})

    def create(self, name: str | None = None, driver: str = "fake-hardware", **fields) -> dict:
        body = {"driver": driver, **({"name": name} if name else {}), **fields}
        resp = self.req("POST", "/nodes", body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def node(self, ident: str) -> dict:
        resp = self.req("GET", f"/nodes/{ident}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def provision(self, ident: str, target: str, **extra):
        return self.req("PUT", f"/nodes/{ident}/states/provision", {"target": target, **extra})

    def power(self, ident: str, target: str, **extra):
        return self.req("PUT", f"/nodes/{ident}/states/power", {"target": target, **extra})

    def task(self, url: str) -> dict:
        return self.cloud.task(url)

    def wait_task(self, url: str, timeout: float = 120) -> dict:
        return self.cloud.wait_task(url, timeout)

    def act(self, ident: str, target: str, **extra) -> dict:
        """A provision action that must be accepted and succeed; returns its task."""
        resp = self.provision(ident, target, **extra)
        assert resp.status_code == 202, resp.text
        task = self.wait_task(resp.headers["X-Taskvisor-Task"])
        assert task["status"] == "succeeded", task
        return task

    def wait_state(self, ident: str, state: str, timeout: float = 60) -> dict:
        return poll_until(lambda: self.node(ident),
                          lambda node: node["provision_state"] == state and node["reservation"] is None, timeout,
                          lambda node: f"node is {node['provision_state']}, not {state}: {node}", 0.02)

    def wait_for(self, ident: str, predicate, timeout: float = 60) -> dict:
        return poll_until(lambda: self.node(ident), predicate, timeout, lambda node: f"node never matched: {node}", 0.01)

    def available(self, name: str = "n", **fields) -> dict:
        node = self.create(name, **fields)
        self.act(node["uuid"], "manage")
        self.act(node["uuid"], "provide")
        return self.node(node["uuid"])

    def manageable(self, name: str = "n", **fields) -> dict:
        node = self.create(name, **fields)
        self.act(node["uuid"], "manage")
        return self.node(node["uuid"])
