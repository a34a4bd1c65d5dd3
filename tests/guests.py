"""Helpers for tests with process guests: no guest may outlive its test."""
from __future__ import annotations

import json
import os
import signal
import time


def kill_guests(data_dir: str) -> list[int]:
    """SIGKILL every guest process recorded under data_dir (pid and start
    time checked against /proc); returns the pids it killed."""
    from taskvisor.virt.process import proc_stat, reap
    killed = []
    root = os.path.join(str(data_dir), "guests")
    for server_id in os.listdir(root) if os.path.isdir(root) else []:
        try:
            with open(os.path.join(root, server_id, "pid")) as f:
                rec = json.load(f)
        except (OSError, ValueError):
            continue
        stat = proc_stat(rec["pid"])
        if stat is None or stat[1] != rec["start_time"]:
            continue
        if stat[0] not in "ZX":
            os.killpg(rec["pid"], signal.SIGKILL)
            killed.append(rec["pid"])
        deadline = time.monotonic() + 5
        while (s := proc_stat(rec["pid"])) is not None and s[0] not in "ZX" and time.monotonic() < deadline:
            time.sleep(0.01)
        reap(rec["pid"])
    return killed
