"""Shared set-up for distributed tests: a Cluster on a fresh PostgreSQL
database and the real RabbitMQ, plus an HTTP client with waiting helpers."""
from __future__ import annotations

import time

import httpx
import pytest

from tests.dbs import create_postgres_database, drop_postgres_database
from tests.procs import Cluster
from tests.services import require_rabbitmq

COMPUTE = "/compute/v2.1"
TERMINAL = ("succeeded", "failed", "reverted", "cancelled")


class Api:
    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=20)
        self.base_url = base_url

    def image(self) -> str:
        return self.http.get("/image/v2/images?name=cirros").json()["images"][0]["id"]

    def boot(self, name: str, flavor: str = "1", **extra) -> tuple[str, str]:
        resp = self.http.post(f"{COMPUTE}/servers", json={"server": {"name": name, "flavorRef": flavor,
                                                                       "imageRef": self.image(), **extra}})
        assert resp.status_code == 202, resp.text
        return resp.json()["server"]["id"], self.rel(resp.headers["X-Taskvisor-Task"])

    def rel(self, url: str) -> str:
        return "/" + url.split("://", 1)[1].split("/", 1)[1]

    def task(self, url: str) -> dict:
        return self.http.get(url).json()["task"]

    def wait_task(self, url: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(url)
            if task["status"] in TERMINAL:
                return task
            assert time.monotonic() < deadline, f"task still {task['status']}: {task}"
            time.sleep(0.1)

    def wait_step(self, url: str, step: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(url)
            if task["current_step"] == step:
                return task
            assert task["status"] not in TERMINAL, f"task ended before step {step}: {task}"
            assert time.monotonic() < deadline, f"task never reached {step}: {task}"
            time.sleep(0.05)

    def server(self, server_id: str) -> dict:
        return self.http.get(f"{COMPUTE}/servers/{server_id}").json()["server"]

    def services(self) -> list[dict]:
        return self.http.get(f"{COMPUTE}/os-services").json()["services"]

    def wait_services_up(self, computes: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            up = [s for s in self.services() if s["binary"] == "nova-compute" and s["state"] == "up"]
            if len(up) >= computes:
                return
            assert time.monotonic() < deadline, self.services()
            time.sleep(0.2)


@pytest.fixture
def cluster_factory(tmp_path):
    rabbit = require_rabbitmq()
    made: list[tuple[Cluster, str]] = []

    def make(conductors: int = 2, computes: int = 2, env: dict | None = None, driver: str = "fake") -> Cluster:
        url = create_postgres_database()
        cluster = Cluster(str(tmp_path / f"cluster{len(made)}"), url, rabbit, env=env, driver=driver)
        made.append((cluster, url))
        cluster.start(conductors, computes)
        return cluster

    yield make
    for cluster, url in made:
        cluster.stop()
        drop_postgres_database(url)
