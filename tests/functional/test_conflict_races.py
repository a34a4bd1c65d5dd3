"""The same conflict answers the same status on SQLite and PostgreSQL.

Many identical requests are released at once while the winner's task is
held in flight by the fake drivers (``hold``), so every loser meets the
conflict (whether it lost at the read or at the compare-and-swap) and
none can arrive after the winner finished: exactly one 202, every other
answer a 409 in the API's own shape, on both databases."""
from __future__ import annotations

import json
import threading

import pytest

from taskvisor.baremetal import fake as fake_hardware
from tests.functional.baremetal import Baremetal, fault
from tests.threads import together

N = 8


def terminal(task: dict) -> bool:
    return task["status"] in ("succeeded", "failed", "reverted", "cancelled")


def one_winner(responses) -> tuple:
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * (len(responses) - 1), [(r.status_code, r.text) for r in responses]
    winner = next(r for r in responses if r.status_code == 202)
    return winner, [r for r in responses if r.status_code == 409]


@pytest.mark.parametrize("verb", ["provide", "power on"])
def test_racing_node_actions_one_202_and_ironic_409s(any_db_cloud, verb):
    bm = Baremetal(any_db_cloud)
    node = bm.manageable("race")
    uuid = node["uuid"]
    in_flight = threading.Event()
    fake_hardware.hold(uuid, in_flight)  # the winner's first step waits until every caller has an answer
    try:
        if verb == "provide":
            responses = together(N, lambda: bm.provision(uuid, "provide"))
        else:
            responses = together(N, lambda: bm.power(uuid, "power on"))
        winner, losers = one_winner(responses)
        assert not terminal(bm.task(winner.headers["X-Taskvisor-Task"]))  # the hold held
    finally:
        in_flight.set()
    for resp in losers:
        assert fault(resp) == (f"Node {uuid} is locked by host localhost, please retry after the current "
                               "operation is completed."), resp.text
    assert bm.wait_task(winner.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    tasks = bm.req("GET", f"/nodes/{uuid}/tasks").json()["tasks"]
    started = [t for t in tasks if t["action"] == ("provide" if verb == "provide" else "power")]
    assert len(started) == 1, [(t["action"], t["status"]) for t in tasks]
    after = bm.node(uuid)
    assert after["reservation"] is None
    assert after["provision_state"] == "available" if verb == "provide" else after["power_state"] == "power on"


def test_racing_server_stops_one_202_and_nova_409s(any_db_cloud):
    cloud = any_db_cloud
    server_id = cloud.boot()
    in_flight = threading.Event()
    cloud.driver.inject("request_shutdown", hold=in_flight)  # the winner's stop waits for every answer
    try:
        responses = together(N, lambda: cloud.action(server_id, {"os-stop": None}))
        winner, losers = one_winner(responses)
        assert not terminal(cloud.task(winner.headers["X-Taskvisor-Task"]))  # the hold held
    finally:
        in_flight.set()
    for resp in losers:
        body = resp.json()
        assert set(body) == {"conflictingRequest"} and body["conflictingRequest"]["code"] == 409, body
        assert server_id in body["conflictingRequest"]["message"]
    assert cloud.wait_task(winner.headers["X-Taskvisor-Task"])["status"] == "succeeded"
    tasks = cloud.get(f"/servers/{server_id}/tasks").json()["tasks"]
    assert [t["action"] for t in tasks].count("stop") == 1, json.dumps(tasks)[:500]
    assert cloud.vm_state(server_id) == "stopped"
