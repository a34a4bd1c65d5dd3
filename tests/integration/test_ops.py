"""What operators and monitoring read, against real processes: /metrics
parsed with prometheus-client's own parser after a known workload (exact
counts), /healthcheck as oslo.middleware answers it (200, 204 to HEAD, 503
when the database or the bus is down), JSON access and task-transition
logs with Nova-style request ids, and no secret in any log line."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.procs import TaskvisorProcess, all_in_one, free_port, wait_for

pytestmark = pytest.mark.slow
B = "/compute/v2.1"
SECRET_PASS = "Pa55-word-never-logged-7731"
SECRET_TOKEN = "gAAAAA-token-never-logged-9924"


def samples(base: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} from /metrics."""
    resp = httpx.get(f"{base}/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def boot(base: str, name: str, **extra) -> tuple[str, str]:
    image = httpx.get(f"{base}/image/v2/images?name=cirros").json()["images"][0]["id"]
    resp = httpx.post(f"{base}{B}/servers", json={"server": {"name": name, "flavorRef": "1", "imageRef": image,
                                                             **extra}},
                      headers={"X-Auth-Token": SECRET_TOKEN})
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]["id"], resp.headers["X-Taskvisor-Task"]


def wait_task(url: str) -> dict:
    return wait_for(lambda: (t := httpx.get(url).json()["task"])["status"] in ("succeeded", "failed", "reverted")
                    and t, 60, f"task {url}")


@pytest.fixture
def aio(tmp_path, procs):
    proc = all_in_one(str(tmp_path), extra=["--log-format", "json"]).start()
    procs.append(proc)
    return proc


def test_metrics_after_a_known_workload(aio):
    base = aio.base_url
    a, url_a = boot(base, "a")
    b, url_b = boot(base, "b")
    wait_task(url_a), wait_task(url_b)
    stop = httpx.post(f"{base}{B}/servers/{a}/action", json={"os-stop": None})
    wait_task(stop.headers["X-Taskvisor-Task"])
    too_big = httpx.post(f"{base}{B}/servers", json={"server": {"name": "c", "flavorRef": "4", "imageRef": "nope"}})
    assert too_big.status_code == 400  # refused by the API: no task

    m = samples(base)
    srv = ("resource_type", "server")
    assert m[("taskvisor_tasks_started_total", (("action", "create"), srv))] == 2
    assert m[("taskvisor_tasks_started_total", (("action", "stop"), srv))] == 1
    assert m[("taskvisor_tasks_finished_total", (("action", "create"), ("outcome", "succeeded"), srv))] == 2
    assert m[("taskvisor_tasks_finished_total", (("action", "stop"), ("outcome", "succeeded"), srv))] == 1
    assert not any(k[0] == "taskvisor_tasks_active" for k in m)
    assert m[("taskvisor_task_queue_depth", ())] == 0
    assert m[("taskvisor_task_oldest_queued_age_seconds", ())] == 0
    assert m[("taskvisor_task_takeovers_total", ())] == 0
    assert not any(k[0] == "taskvisor_tasks_dead_lettered" for k in m)
    ok = ("status", "succeeded")
    for step, count in (("schedule", 2), ("allocate_network", 2), ("spawn", 2), ("power_off", 1)):
        assert m[("taskvisor_step_duration_seconds_count", (("status", "succeeded"), ("step", step)))] == count
        assert m[("taskvisor_step_duration_seconds_bucket", (("le", "+Inf"), ok, ("step", step)))] == count
    assert m[("taskvisor_shutdowns_total", (("path", "clean"),))] == 1
    assert ("taskvisor_shutdowns_total", (("path", "forced"),)) not in m
    assert m[("taskvisor_service_up", (("binary", "taskvisor-compute"), ("host", "localhost")))] == 1
    assert m[("taskvisor_service_up", (("binary", "taskvisor-conductor"), ("host", "localhost")))] == 1
    posted = (("method", "POST"), ("route", "/compute/v2.1/servers"))
    assert m[("taskvisor_api_requests_total", (*posted, ("status", "202")))] == 2
    assert m[("taskvisor_api_requests_total", (*posted, ("status", "400")))] == 1
    assert m[("taskvisor_api_request_duration_seconds_count", posted)] == 3
    # RPC calls this process made (the all-in-one makes every call): the first call of an
    # operation goes to compute.<host>, later ones to compute-alt.<host>
    rpc = "taskvisor_rpc_call_duration_seconds_count"
    assert m[(rpc, (("method", "spawn"), ("outcome", "ok"), ("target", "compute")))] == 2
    assert m[(rpc, (("method", "power_state"), ("outcome", "ok"), ("target", "compute")))] == 1
    assert m[(rpc, (("method", "power_off"), ("outcome", "ok"), ("target", "compute-alt")))] == 1
    assert m[(rpc, (("method", "report_service"), ("outcome", "ok"), ("target", "conductor")))] == 1
    assert not any(k[0] == rpc and ("outcome", "ok") not in k[1] for k in m)  # no error, no timeout


def test_healthcheck_answers_as_oslo_middleware(aio):
    base = aio.base_url
    ok = httpx.get(f"{base}/healthcheck")
    assert ok.status_code == 200 and ok.text == "OK" and ok.headers["content-type"].startswith("text/plain")
    assert httpx.head(f"{base}/healthcheck").status_code == 204
    detailed = httpx.get(f"{base}/healthcheck", headers={"Accept": "application/json"})
    assert detailed.json() == {"detailed": False, "reasons": ["OK"]}


def test_healthcheck_503_when_database_and_bus_are_unreachable(tmp_path, procs):
    dead = free_port()
    api = TaskvisorProcess(["api", "--port", str(free_port()), "--data-dir", str(tmp_path),
                            "--database", f"postgresql+psycopg://postgres@127.0.0.1:{dead}/none",
                            "--transport-url", f"amqp://guest:guest@127.0.0.1:{dead}//"],
                           str(tmp_path / "api.log"), port=None)
    api.port = int(api.args[2])
    procs.append(api)
    api.start(wait_http=False)
    resp = wait_for(lambda: _try(f"{api.base_url}/healthcheck"), 60, "the API to answer")
    assert resp.status_code == 503
    assert "database unreachable" in resp.text and "message bus unreachable" in resp.text
    assert httpx.head(f"{api.base_url}/healthcheck").status_code == 503


def _try(url):
    try:
        return httpx.get(url, timeout=20)
    except httpx.HTTPError:
        return None


def test_json_logs_request_ids_transitions_and_no_secrets(aio):
    base = aio.base_url
    global_id = f"req-{uuid.uuid4()}"
    server_id, url = boot(base, "logged", adminPass=SECRET_PASS)
    wait_task(url)
    resp = httpx.get(f"{base}{B}/servers/{server_id}?password={SECRET_PASS}",
                     headers={"X-Openstack-Request-Id": global_id, "X-Auth-Token": SECRET_TOKEN})
    local_id = resp.headers["x-openstack-request-id"]
    assert local_id.startswith("req-") and local_id != global_id
    bogus = httpx.get(f"{base}{B}/servers", headers={"X-Openstack-Request-Id": "not-an-id"})
    assert bogus.headers["x-openstack-request-id"].startswith("req-")

    def lines():
        return [json.loads(line) for line in open(aio.log_path) if line.startswith("{")]

    wait_for(lambda: any(r.get("request_id") == local_id for r in lines()), 30, "the access line")
    records = lines()
    access = [r for r in records if r["logger"] == "taskvisor.api.access"]
    shown = [r for r in access if r["request_id"] == local_id][0]
    assert shown["method"] == "GET" and shown["path"] == f"{B}/servers/{server_id}" and shown["status"] == 200
    assert shown["global_request_id"] == global_id and shown["project_id"] == "admin" and shown["duration"] >= 0
    assert "password=%2A%2A%2A" in shown["message"] or "password=***" in shown["message"]
    assert not any(r.get("global_request_id") == "not-an-id" for r in access)
    created = [r for r in access if r["method"] == "POST" and r["path"] == f"{B}/servers"][0]
    assert created["status"] == 202
    task = httpx.get(url).json()["task"]
    assert task["request_id"] == created["request_id"]  # the task names the request that made it
    steps = [r for r in records if r.get("task_id") == task["id"]]
    assert [(r.get("step"), r["status"]) for r in steps] == [
        (None, "running"), ("schedule", "succeeded"), ("allocate_network", "succeeded"), ("spawn", "succeeded"),
        (None, "succeeded")]
    assert all(r["resource_id"] == server_id and r["host"] == "localhost" for r in steps)
    text = open(aio.log_path).read()
    assert SECRET_PASS not in text and SECRET_TOKEN not in text
