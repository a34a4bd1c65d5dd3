"""The conductor's side of a compute's power-state report (Nova's
_sync_power_states), on the fake driver."""
from __future__ import annotations

import time

from sqlalchemy import update

from taskvisor.conductor.power_sync import sync_power_states
from taskvisor.db.models import servers
from taskvisor.states import power


def test_report_fixes_servers_with_no_task_only(cloud):
    db = cloud.node.db
    gone, off, busy, stale = (cloud.boot(name=n) for n in ("gone", "off", "busy", "stale"))
    cloud.act(off, {"os-stop": None})
    with db.write() as conn:
        conn.execute(update(servers).where(servers.c.id == busy).values(task_state="rebooting"))
    report = {off: power.RUNNING, busy: power.SHUTDOWN, stale: power.RUNNING}
    changes = sync_power_states(db, "localhost", report, time.time())
    assert {c["server"]: c["to"]["vm_state"] for c in changes} == {gone: "stopped", off: "active"}
    assert cloud.server(gone)["status"] == "SHUTOFF" and cloud.server(gone)["OS-EXT-STS:power_state"] == 4
    assert cloud.server(off)["status"] == "ACTIVE" and cloud.server(off)["OS-EXT-STS:power_state"] == 1
    assert cloud.vm_state(busy) == "active" and cloud.vm_state(stale) == "active"
    # a report taken before a server last changed is ignored for that server
    assert sync_power_states(db, "localhost", {}, time.time() - 3600) == []
    assert cloud.vm_state(stale) == "active"
