"""Fixtures: a whole all-in-one cloud in this process, driven over HTTP.

``cloud`` starts the real services (SQLite in tmp_path, in-process bus,
conductor, compute with the fake driver) and an HTTP client on the real
FastAPI app; helpers wait for servers and tasks by polling the API, as a
user would.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from taskvisor.allinone import AllInOne
from taskvisor.config import Config
from tests.dbs import create_postgres_database, drop_postgres_database
from tests.procs import poll_until, settled_in

COMPUTE = "/compute/v2.1"


class Cloud:
    def __init__(self, node: AllInOne, client: TestClient):
        self.node, self.client = node, client
        self.driver = node.driver
        self.image_id = self.client.get("/image/v2/images?name=cirros").json()["images"][0]["id"]

    # plain HTTP helpers
    def get(self, path: str, **kw):
        return self.client.get(COMPUTE + path, **kw)

    def post(self, path: str, json=None, **kw):
        return self.client.post(COMPUTE + path, json=json, **kw)

    def delete(self, path: str, **kw):
        return self.client.delete(COMPUTE + path, **kw)

    def server(self, server_id: str) -> dict:
        resp = self.get(f"/servers/{server_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()["server"]

    def boot(self, name: str = "vm", flavor: str = "1", image: str | None = None, wait: bool = True,
             **extra) -> str:
        body = {"server": {"name": name, "flavorRef": flavor, "imageRef": image or self.image_id, **extra}}
        resp = self.post("/servers", body)
        assert resp.status_code == 202, resp.text
        server_id = resp.json()["server"]["id"]
        if wait:
            self.wait_task(resp.headers["X-Taskvisor-Task"])
        return server_id

    def action(self, server_id: str, body: dict, headers: dict | None = None):
        return self.post(f"/servers/{server_id}/action", body, headers=headers or {})

    def task(self, url: str) -> dict:
        path = url.split("://", 1)[-1].split("/", 1)[1]
        resp = self.client.get("/" + path)
        assert resp.status_code == 200, resp.text
        return resp.json()["task"]

    # Generous deadlines: a loaded 2-core machine can be many times slower than an idle one;
    # a healthy test returns as soon as the condition holds.
    def wait_task(self, url: str, timeout: float = 120) -> dict:
        """Wait until the task at ``url`` is terminal; returns it."""
        return poll_until(lambda: self.task(url),
                          lambda task: task["status"] in ("succeeded", "failed", "reverted", "cancelled"), timeout,
                          lambda task: f"task still {task['status']} after {timeout}s: {task}", 0.02)

    def wait_status(self, server_id: str, status: str, timeout: float = 120) -> dict:
        return poll_until(lambda: self.server(server_id), lambda server: settled_in(server, status), timeout,
                          lambda server: f"server {server_id} is {server['status']}/"
                                         f"{server['OS-EXT-STS:task_state']}, not {status}, after {timeout}s", 0.02)

    # server actions
    def act(self, server_id: str, body: dict, headers: dict | None = None, expect: int | None = None):
        """POST an action and wait for its task; returns (response, task)."""
        resp = self.action(server_id, body, headers)
        if expect is not None:
            assert resp.status_code == expect, resp.text
        assert resp.status_code < 300, resp.text
        return resp, self.wait_task(resp.headers["X-Taskvisor-Task"])

    def vm_state(self, server_id: str) -> str:
        return self.server(server_id)["OS-EXT-STS:vm_state"]

    def instance_actions(self, server_id: str, headers: dict | None = None) -> list[dict]:
        resp = self.get(f"/servers/{server_id}/os-instance-actions", headers=headers or {})
        assert resp.status_code == 200, resp.text
        return resp.json()["instanceActions"]

    def instance_action(self, server_id: str, request_id: str, headers: dict | None = None) -> dict:
        resp = self.get(f"/servers/{server_id}/os-instance-actions/{request_id}", headers=headers or {})
        assert resp.status_code == 200, resp.text
        return resp.json()["instanceAction"]


def make_conf(tmp_path, **overrides) -> Config:
    base = {"DEFAULT__data_dir": str(tmp_path), "conductor__poll_interval": 0.2, "conductor__lease_seconds": 2.0,
            "conductor__retry_backoff": 0.05, "conductor__compute_down_deadline": 3,
            "DEFAULT__rpc_response_timeout": 10, "DEFAULT__shutdown_timeout": 5,
            "compute__shutdown_retry_interval": 1}
    base.update(overrides)
    return Config().copy(**base)


@pytest.fixture
def cloud_factory(tmp_path) -> Iterator:
    started: list[AllInOne] = []

    def start(**overrides) -> Cloud:
        node = AllInOne(make_conf(tmp_path, **overrides)).start()
        started.append(node)
        return Cloud(node, TestClient(node.app()))

    def stop_all() -> None:
        while started:
            started.pop().stop(wait=1)

    start.stop_all = stop_all  # for a fixture that must stop the clouds before it tears down what they use
    yield start
    stop_all()
    from tests.guests import kill_guests
    kill_guests(tmp_path)  # process guests outlive their compute, never their test


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_cloud(request, cloud_factory):
    """The in-process cloud on SQLite, then on a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield cloud_factory()
        return
    url = create_postgres_database()
    try:
        yield cloud_factory(database__connection=url)
    finally:
        cloud_factory.stop_all()  # before its database goes: a conductor still running would meet a dropped database
        drop_postgres_database(url)


@pytest.fixture
def cloud(cloud_factory) -> Cloud:
    return cloud_factory()


@pytest.fixture
def procs():
    """Register real processes here; any still running at teardown is stopped."""
    started: list = []
    yield started
    for proc in started:
        proc.stop()
