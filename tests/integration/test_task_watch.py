"""The task event stream against a real all-in-one: events arrive as tasks
change, and a client that reconnects with Last-Event-ID misses nothing."""
from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.procs import all_in_one, wait_for

pytestmark = pytest.mark.slow
B = "/compute/v2.1"


class Stream:
    """Reads one SSE stream in a thread, keeping every event it parsed."""

    def __init__(self, url: str, headers: dict | None = None):
        self.events: list[dict] = []
        self.ids: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self.thread.start()

    def _read(self, url, headers):
        with httpx.stream("GET", url, headers={"Accept": "text/event-stream", **headers}, timeout=60) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
            event: dict = {}
            for line in resp.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("id: "):
                    event["id"] = line[4:]
                elif line.startswith("data: "):
                    event["data"] = json.loads(line[6:])["task"]
                elif line == "" and "data" in event:
                    self.ids.append(event["id"])
                    self.events.append(event["data"])
                    event = {}

    def close(self):
        self.stop.set()

    def states(self, task_id: str) -> list[str]:
        return [e["status"] for e in self.events if e["id"] == task_id]


@pytest.fixture
def aio(tmp_path, procs):
    proc = all_in_one(str(tmp_path)).start()
    procs.append(proc)
    return proc


def act(base: str, server_id: str, body: dict) -> str:
    resp = httpx.post(f"{base}{B}/servers/{server_id}/action", json=body)
    assert resp.status_code == 202, resp.text
    return resp.headers["X-Taskvisor-Task"].rsplit("/", 1)[1]


def task(base: str, task_id: str) -> dict:
    return httpx.get(f"{base}{B}/tasks/{task_id}").json()["task"]


def test_watch_streams_and_resumes_with_last_event_id(aio):
    base = aio.base_url
    resp = httpx.post(f"{base}{B}/servers", json={"server": {"name": "w", "flavorRef": "1", "imageRef": _image(base)}})
    server_id = resp.json()["server"]["id"]
    watch_url = f"{base}{B}/tasks?watch=true&resource_id={server_id}"
    first = Stream(watch_url, {"Last-Event-ID": "2000-01-01T00:00:00.000000Z"})  # from the beginning
    create_id = resp.headers["X-Taskvisor-Task"].rsplit("/", 1)[1]
    wait_for(lambda: "succeeded" in first.states(create_id), 60, "the boot to stream to its end")
    last_id = first.ids[-1]
    first.close()

    # while nobody watches: stop, then start
    stop_id = act(base, server_id, {"os-stop": None})
    wait_for(lambda: task(base, stop_id)["status"] == "succeeded", 60, "stop")
    start_id = act(base, server_id, {"os-start": None})
    wait_for(lambda: task(base, start_id)["status"] == "succeeded", 60, "start")

    resumed = Stream(watch_url, {"Last-Event-ID": last_id})
    wait_for(lambda: "succeeded" in resumed.states(start_id), 60, "the missed start to arrive")
    assert "succeeded" in resumed.states(stop_id)           # nothing missed
    finished = [e for e in resumed.events if e["id"] == stop_id and e["status"] == "succeeded"][0]
    assert [s["status"] for s in finished["steps"]] == ["succeeded"] and finished["steps"][0]["details"]

    # and live: a reboot streams as it happens, step by step, to a watcher already connected
    reboot_id = act(base, server_id, {"reboot": {"type": "HARD"}})
    wait_for(lambda: "succeeded" in resumed.states(reboot_id), 60, "the live reboot")
    resumed.close()
    # other resources' tasks are filtered out
    assert {e["resource_id"] for e in resumed.events} == {server_id}


def test_watch_shows_a_project_only_its_own(aio):
    base = aio.base_url
    member = {"X-Project-Id": "other", "X-User-Id": "bob", "X-Roles": "member"}
    theirs = Stream(f"{base}{B}/tasks?watch=true", member)
    admin_all = Stream(f"{base}{B}/tasks?watch=true&all_tenants=1")
    resp = httpx.post(f"{base}{B}/servers", json={"server": {"name": "a", "flavorRef": "1", "imageRef": _image(base)}})
    admin_task = resp.headers["X-Taskvisor-Task"].rsplit("/", 1)[1]
    wait_for(lambda: "succeeded" in admin_all.states(admin_task), 60, "the admin's boot")
    resp = httpx.post(f"{base}{B}/servers", headers=member,
                      json={"server": {"name": "b", "flavorRef": "1", "imageRef": _image(base)}})
    member_task = resp.headers["X-Taskvisor-Task"].rsplit("/", 1)[1]
    wait_for(lambda: "succeeded" in theirs.states(member_task), 60, "the member's boot")
    assert theirs.states(admin_task) == []
    denied = httpx.get(f"{base}{B}/tasks?watch=true&all_tenants=1", headers=member)
    assert denied.status_code == 403
    theirs.close()
    admin_all.close()


def _image(base: str) -> str:
    return httpx.get(f"{base}/image/v2/images?name=cirros").json()["images"][0]["id"]
