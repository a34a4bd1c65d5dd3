"""The periodic repair finds a server whose task_state has no live task."""
from __future__ import annotations


from sqlalchemy import update

from taskvisor.db.models import servers
from tests.procs import wait_for


def test_a_server_stuck_in_a_task_state_with_no_live_task_is_repaired(cloud_factory):
    cloud = cloud_factory(conductor__periodic_interval=0.5)
    server_id = cloud.boot("stuck")
    # what Nova leaves behind after a crash: a task_state nothing will ever clear
    with cloud.node.db.write() as conn:
        conn.execute(update(servers).where(servers.c.id == server_id).values(task_state="rescuing"))
    wait_for(lambda: cloud.server(server_id)["OS-EXT-STS:task_state"] is None, 60, "the repair to run", interval=0.1)
    server = cloud.server(server_id)
    tasks = cloud.get(f"/servers/{server_id}/tasks").json()["tasks"]
    assert tasks[0]["action"] == "repair" and tasks[0]["status"] == "failed"
    assert "task_state rescuing" in tasks[0]["error"]["message"]
    # the boot task owned the server: its failure handler decides where it lands
    assert server["status"] == "ERROR" and "rescuing" in server["fault"]["message"]
    # and the server is usable again
    resp = cloud.delete(f"/servers/{server_id}")
    assert resp.status_code == 204
    assert cloud.wait_task(resp.headers["X-Taskvisor-Task"])["status"] == "succeeded"
