"""Time from a stop request to SHUTOFF for a guest that shuts down at once,
and our overhead over the guest's own shutdown time (informational, no
assertions).

    .venv/bin/python benchmarks/stop_overhead.py [runs]                  # process guest, target ≤ 0.5 s
    .venv/bin/python benchmarks/stop_overhead.py --driver libvirt [runs] # QEMU guest, target ≤ 0.2 s

Runs an all-in-one cloud in this process (SQLite in a temp dir) and drives it
over its HTTP app. The process guest's own time is read from its console:
from the "signal SIGTERM" line to "shutdown complete". The libvirt run
(scripts/setup-libvirt first; the guest image is built and cached by
scripts/build-guest-image) boots the busybox guest under TCG and reads its
own time from its serial console: from acpid's "power button" line (guest
uptime) to the kernel's "reboot: Power down"; it also prints boot → ACTIVE
against the guest's own boot time, and what Nova's once-a-second poll of
the power state would add to each stop.
"""
from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from taskvisor.allinone import AllInOne  # noqa: E402
from taskvisor.config import Config  # noqa: E402

C = "/compute/v2.1"
STAMP = re.compile(r"^\[(\d+\.\d+)\] (.*)$")


def wait(client: TestClient, server_id: str, status: str) -> None:
    while True:
        server = client.get(f"{C}/servers/{server_id}").json()["server"]
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return
        time.sleep(0.002)


def guest_seconds(console: str) -> float:
    """The guest's own shutdown time in its last shutdown."""
    asked = done = None
    for line in console.splitlines():
        m = STAMP.match(line)
        if m and m.group(2) == "signal SIGTERM":
            asked = float(m.group(1))
        elif m and m.group(2).startswith("shutdown complete"):
            done = float(m.group(1))
    return done - asked


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def create_server(client: TestClient, image: str) -> str:
    return client.post(f"{C}/servers", json={"server": {"name": "bench", "flavorRef": "1",
                                                        "imageRef": image}}).json()["server"]["id"]


def timed_stop(client: TestClient, server_id: str):
    """Stop the server and wait for SHUTOFF; returns the response and the seconds it took."""
    started = time.perf_counter()
    resp = client.post(f"{C}/servers/{server_id}/action", json={"os-stop": None})
    assert resp.status_code == 202, resp.text
    wait(client, server_id, "SHUTOFF")
    return resp, time.perf_counter() - started


def print_rows(rows, width: int) -> None:
    for name, values in rows:
        print(f"  {name:{width}s} p50 {statistics.median(values) * 1000:7.1f} ms   "
              f"p95 {pct(values, 95) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms")


def main() -> None:
    args = sys.argv[1:]
    if args[:2] == ["--driver", "libvirt"]:
        return main_libvirt(int(args[2]) if len(args) > 2 else 10)
    if args[:2] == ["--driver", "process"]:
        args = args[2:]
    runs = int(args[0]) if args else 20
    with tempfile.TemporaryDirectory() as data_dir:
        conf = Config().copy(DEFAULT__data_dir=data_dir, compute__driver="process", DEFAULT__shutdown_timeout=10)
        node = AllInOne(conf).start()
        try:
            client = TestClient(node.app())
            image = client.post("/image/v2/images", json={"name": "quick", "disk_format": "raw",
                                                          "container_format": "bare",
                                                          "guest_shutdown_seconds": "0"}).json()["id"]
            client.put(f"/image/v2/images/{image}/file", content=b"")
            server_id = create_server(client, image)
            wait(client, server_id, "ACTIVE")
            totals, guests = [], []
            for _ in range(runs):
                totals.append(timed_stop(client, server_id)[1])
                console = node.driver.console_output(server_id)
                guests.append(guest_seconds(console))
                client.post(f"{C}/servers/{server_id}/action", json={"os-start": None})
                wait(client, server_id, "ACTIVE")
            client.delete(f"{C}/servers/{server_id}")
            overheads = [t - g for t, g in zip(totals, guests)]
            print(f"stop → SHUTOFF, process guest that shuts down at once, {runs} runs")
            print_rows((("total", totals), ("guest's own", guests), ("our overhead", overheads)), 13)
            print(f"  target: overhead ≤ 500 ms → p95 {'within' if pct(overheads, 95) <= 0.5 else 'OVER'} target")
        finally:
            node.stop(wait=2)
            from taskvisor.virt.process import ProcessDriver
            if isinstance(node.driver, ProcessDriver):
                for sid in node.driver.list_guests():
                    node.driver.destroy(sid)


# -- libvirt ---------------------------------------------------------------------------
BUTTON = re.compile(r"power button: shutting down \(uptime (\d+\.\d+)\)")
POWER_DOWN = re.compile(r"^\[\s*(\d+\.\d+)\] reboot: Power down", re.M)
READY = re.compile(r"taskvisor-guest: ready after (\d+\.\d+)s")


def libvirt_images(client: TestClient) -> str:
    """Build (cached) and upload the guest; returns the quick-shutdown image."""
    import json
    import os
    import subprocess
    root = Path(__file__).resolve().parents[1]
    out = os.environ.get("TASKVISOR_GUEST_IMAGE_DIR", "/var/tmp/taskvisor-guest")
    subprocess.run([sys.executable, str(root / "scripts" / "build-guest-image"), "--out", out], check=True)
    manifest = json.loads((Path(out) / "manifest.json").read_text())

    def upload(name, path, disk_format, container_format, props):
        image_id = client.post("/image/v2/images", json={"name": name, "disk_format": disk_format,
                                                         "container_format": container_format, **props}).json()["id"]
        client.put(f"/image/v2/images/{image_id}/file", content=(Path(out) / path).read_bytes())
        return image_id

    kernel = upload("kernel", manifest["kernel"], "aki", "aki", {})
    initrd = upload("initrd", manifest["initrd"], "ari", "ari", {})
    variant = next(v for v in manifest["variants"] if v["name"] == "taskvisor-guest")
    return upload(variant["name"], variant["disk"], "qcow2", "bare",
                  {**manifest["common_properties"], "kernel_id": kernel, "ramdisk_id": initrd,
                   "os_command_line": variant["cmdline"]})


def main_libvirt(runs: int) -> None:
    import math
    virt_type = __import__("os").environ.get("TASKVISOR_LIBVIRT__VIRT_TYPE", "qemu")
    with tempfile.TemporaryDirectory() as data_dir:
        conf = Config().copy(DEFAULT__data_dir=data_dir, DEFAULT__host=f"bench-{__import__('os').getpid()}",
                             compute__driver="libvirt", libvirt__virt_type=virt_type,
                             DEFAULT__shutdown_timeout=30, compute__sync_power_state_interval=0)
        node = AllInOne(conf).start()
        try:
            client = TestClient(node.app())
            image = libvirt_images(client)
            boots, readies, guest_boots = [], [], []

            def boot_wait(started: float, server_id: str) -> None:
                wait(client, server_id, "ACTIVE")
                boots.append(time.perf_counter() - started)
                while len(READY.findall(node.driver.console_output(server_id))) < len(boots):
                    time.sleep(0.01)
                readies.append(time.perf_counter() - started)
                guest_boots.append(float(READY.findall(node.driver.console_output(server_id))[-1]))

            started = time.perf_counter()
            server_id = create_server(client, image)
            boot_wait(started, server_id)
            totals, steps, guests, nova = [], [], [], []
            for _ in range(runs):
                resp, took = timed_stop(client, server_id)
                totals.append(took)
                task = client.get("/" + resp.headers["X-Taskvisor-Task"].split("://", 1)[1].split("/", 1)[1]).json()
                seconds = task["task"]["steps"][0]["details"]["seconds"]
                steps.append(seconds)
                nova.append(max(1.0, math.ceil(seconds)) - seconds)  # Nova looks once a second
                console = node.driver.console_output(server_id)
                guests.append(float(POWER_DOWN.findall(console)[-1]) - float(BUTTON.findall(console)[-1]))
                started = time.perf_counter()
                client.post(f"{C}/servers/{server_id}/action", json={"os-start": None})
                boot_wait(started, server_id)
            client.delete(f"{C}/servers/{server_id}")
            overheads = [t - g for t, g in zip(totals, guests)]
            print(f"libvirt ({virt_type}) busybox guest that powers off at once on the ACPI button, {runs} stops")
            rows = (("stop → SHUTOFF (API)", totals), ("compute's clean shutdown", steps),
                    ("guest's own (button → power down)", guests), ("taskvisor overhead", overheads),
                    ("Nova's 1 s poll would add", nova),
                    (f"boot → ACTIVE ({len(boots)} boots)", boots), ("boot → guest userspace ready", readies),
                    ("guest's own boot (uptime)", guest_boots))
            print_rows(rows, 34)
            print("  taskvisor overhead includes QEMU delivering the ACPI event, libvirt's SHUTDOWN event, "
                  "the API and the conductor")
            print(f"  target: overhead ≤ 200 ms → p95 {'within' if pct(overheads, 95) <= 0.2 else 'OVER'} target")
        finally:
            node.stop(wait=2)
            for sid in node.driver.list_guests():
                node.driver.destroy(sid)


if __name__ == "__main__":
    main()
