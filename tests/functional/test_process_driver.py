"""The process driver with real guest processes (no mocks)."""
from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest

from taskvisor.compute.manager import clean_shutdown
from taskvisor.config import Config
from taskvisor.states import power
from taskvisor.virt.driver import DriverError, GuestNotFound
from taskvisor.virt.process import ProcessDriver, proc_stat
from tests.guests import kill_guests
from tests.procs import wait_for as poll

FLAVOR = {"id": "1", "name": "m1.tiny", "vcpus": 1, "ram": 512, "disk": 1}


@pytest.fixture
def make_driver(tmp_path):
    def make(host: str = "localhost") -> ProcessDriver:
        driver = ProcessDriver(Config().copy(DEFAULT__data_dir=str(tmp_path), DEFAULT__host=host))
        driver.init_host(host)
        return driver
    yield make
    kill_guests(tmp_path)


@pytest.fixture
def driver(make_driver):
    return make_driver()


def image(**props) -> dict:
    return {"id": str(uuid.uuid4()), "properties": {k: str(v) for k, v in props.items()}}


def boot(driver, **props) -> str:
    server_id = str(uuid.uuid4())
    assert driver.spawn({"id": server_id, "name": "vm"}, image(**props), FLAVOR) == power.RUNNING
    return server_id


def pid_of(driver, server_id) -> int:
    with open(driver._dir(server_id, "pid")) as f:
        return json.load(f)["pid"]


def signals(driver, server_id) -> list[str]:
    return [line.split("signal ", 1)[1].strip() for line in driver.console_output(server_id).splitlines()
            if "] signal " in line]


def wait_for(check, timeout: float = 60.0) -> None:
    """A poll with a deadline generous enough for a loaded machine."""
    poll(check, timeout, "the guest process to get there", interval=0.01)


def test_spawn_runs_a_real_process_and_is_idempotent(driver):
    server_id = boot(driver)
    pid = pid_of(driver, server_id)
    assert proc_stat(pid)[0] in "RS"
    assert os.getpgid(pid) == pid and os.getsid(pid) == pid  # own session: outlives the compute
    assert driver.spawn({"id": server_id}, image(), FLAVOR) == power.RUNNING
    assert pid_of(driver, server_id) == pid
    assert driver.list_guests() == {server_id: power.RUNNING}
    out = driver.console_output(server_id)
    assert "boot=1" in out and "ready" in out and "vcpus=1 ram_mb=512 disk_gb=1" in out
    with open(driver._dir(server_id, "disk", "boot_count")) as f:
        assert f.read() == "1"
    assert driver.destroy(server_id) is True
    assert proc_stat(pid) is None
    assert driver.destroy(server_id) is False
    assert driver.list_guests() == {}
    with pytest.raises(GuestNotFound):
        driver.power_state(server_id)


def test_spawn_waits_for_the_guest_to_report_ready(driver):
    started = time.monotonic()
    server_id = boot(driver, guest_boot_seconds=0.5)
    assert time.monotonic() - started >= 0.5
    assert driver.console_output(server_id, 1).endswith("ready\n")


def test_clean_shutdown_of_a_guest_that_takes_one_second(driver):
    server_id = boot(driver, guest_shutdown_seconds=1)
    result = clean_shutdown(driver, server_id, timeout=10, retry_interval=5, force=False)
    assert result["shutdown"] == "clean" and result["retries"] == 0
    assert result["seconds"] >= 1.0  # it waited for the guest, not for the timeout (shutdown == clean)
    assert driver.power_state(server_id) == power.SHUTDOWN
    assert signals(driver, server_id) == ["SIGTERM"]
    assert "shutdown complete" in driver.console_output(server_id)


def test_a_guest_that_ignores_the_request_is_forced_after_the_timeout(driver):
    server_id = boot(driver, guest_on_shutdown="ignore")
    result = clean_shutdown(driver, server_id, timeout=1.5, retry_interval=0.5, force=False)
    assert result["shutdown"] == "forced" and result["reason"] == "timeout"
    assert result["seconds"] >= 1.5 and result["retries"] >= 2
    assert driver.power_state(server_id) == power.SHUTDOWN  # forced off is not a crash
    # Every request is a SIGTERM the guest logged, except that the kill may overtake the
    # last one on a loaded machine (sent moments before the timeout, not yet handled).
    logged = signals(driver, server_id)
    assert set(logged) == {"SIGTERM"} and result["retries"] <= len(logged) <= result["retries"] + 1


def test_force_kills_at_once_without_a_request(driver):
    server_id = boot(driver, guest_shutdown_seconds=30)
    pid = pid_of(driver, server_id)
    result = clean_shutdown(driver, server_id, timeout=60, retry_interval=10, force=True)
    assert result["shutdown"] == "forced" and result["reason"] == "force requested"
    assert proc_stat(pid) is None
    assert signals(driver, server_id) == []
    assert driver.power_state(server_id) == power.SHUTDOWN


def test_second_request_guest_shuts_down_after_one_retry(driver):
    server_id = boot(driver, guest_on_shutdown="second-request")
    result = clean_shutdown(driver, server_id, timeout=10, retry_interval=0.5, force=False)
    assert result["shutdown"] == "clean" and result["retries"] == 1
    assert result["seconds"] >= 0.5
    assert signals(driver, server_id) == ["SIGTERM", "SIGTERM"]


def test_crashing_guest_is_crashed_then_powers_on_again(driver):
    server_id = boot(driver, guest_on_shutdown="crash")
    result = clean_shutdown(driver, server_id, timeout=10, retry_interval=5, force=False)
    assert result["shutdown"] == "clean"
    assert driver.power_state(server_id) == power.CRASHED
    assert "kernel panic" in driver.console_output(server_id)
    assert driver.power_on(server_id) == power.RUNNING
    assert "boot=2" in driver.console_output(server_id, 3)


def test_power_on_restarts_on_the_same_disk(driver):
    server_id = boot(driver)
    with open(driver._dir(server_id, "disk", "data.txt"), "w") as f:
        f.write("kept")
    driver.force_off(server_id)
    assert driver.power_state(server_id) == power.SHUTDOWN
    driver.force_off(server_id)  # already off: fine
    assert driver.power_on(server_id) == power.RUNNING
    assert driver.power_on(server_id) == power.RUNNING
    with open(driver._dir(server_id, "disk", "boot_count")) as f:
        assert f.read() == "2"
    assert os.path.exists(driver._dir(server_id, "disk", "data.txt"))


def test_pause_unpause_and_suspend_resume(driver):
    server_id = boot(driver)
    pid = pid_of(driver, server_id)
    assert driver.pause(server_id) == power.PAUSED
    assert proc_stat(pid)[0] == "T"
    assert driver.list_guests() == {server_id: power.PAUSED}
    assert driver.unpause(server_id) == power.RUNNING
    # A SIGSTOP discards a SIGCONT whose handler has not run yet (signal(7)), so let the
    # guest log this one before suspending; on a loaded machine it may not have run.
    wait_for(lambda: signals(driver, server_id) == ["SIGCONT"])
    assert driver.suspend(server_id) == power.SUSPENDED
    assert driver.power_state(server_id) == power.SUSPENDED
    assert driver.resume(server_id) == power.RUNNING
    assert pid_of(driver, server_id) == pid
    wait_for(lambda: signals(driver, server_id) == ["SIGCONT", "SIGCONT"])  # logged once it runs again
    driver.force_off(server_id)  # SIGKILL works on a stopped process too
    with pytest.raises(DriverError):
        driver.pause(server_id)


def test_snapshot_then_spawn_from_it_restores_the_disk(driver, tmp_path):
    server_id = boot(driver)
    os.makedirs(driver._dir(server_id, "disk", "etc"))
    with open(driver._dir(server_id, "disk", "etc", "motd"), "w") as f:
        f.write("hello from the first life")
    driver.force_off(server_id)
    snap_id = str(uuid.uuid4())
    info = driver.snapshot(server_id, snap_id)
    assert info["size"] == os.path.getsize(tmp_path / "images" / snap_id) and len(info["checksum"]) == 32
    driver.destroy(server_id)

    clone = str(uuid.uuid4())
    driver.spawn({"id": clone}, {"id": snap_id, "properties": {}}, FLAVOR)
    with open(driver._dir(clone, "disk", "etc", "motd")) as f:
        assert f.read() == "hello from the first life"
    with open(driver._dir(clone, "disk", "boot_count")) as f:
        assert f.read() == "2"  # the snapshot's disk had booted once


def test_rescue_attaches_a_read_only_copy_and_unrescue_boots_the_original(driver):
    server_id = boot(driver)
    with open(driver._dir(server_id, "disk", "data.txt"), "w") as f:
        f.write("precious")
    original = pid_of(driver, server_id)
    assert driver.rescue(server_id, image(guest_boot_seconds=0.1)) == power.RUNNING
    rescue_pid = pid_of(driver, server_id)
    assert rescue_pid != original and proc_stat(original) is None
    attached = driver._dir(server_id, "rescue", "attached")
    with open(os.path.join(attached, "data.txt")) as f:
        assert f.read() == "precious"
    assert not os.stat(os.path.join(attached, "data.txt")).st_mode & 0o222
    assert f"original disk attached read-only at {attached}" in driver.console_output(server_id)
    assert driver.rescue(server_id, image()) == power.RUNNING  # idempotent
    assert pid_of(driver, server_id) == rescue_pid
    assert driver.unrescue(server_id) == power.RUNNING
    assert proc_stat(rescue_pid) is None and not os.path.exists(driver._dir(server_id, "rescue"))
    with open(driver._dir(server_id, "disk", "boot_count")) as f:
        assert f.read() == "2"


def test_resize_is_seen_by_the_guest_and_revert_restores(driver):
    server_id = boot(driver)
    driver.force_off(server_id)
    big = {"id": "3", "name": "m1.medium", "vcpus": 2, "ram": 4096, "disk": 40}
    assert driver.resize(server_id, big) == power.SHUTDOWN
    driver.power_on(server_id)
    assert "flavor=m1.medium vcpus=2 ram_mb=4096 disk_gb=40" in driver.console_output(server_id, 3)
    driver.force_off(server_id)
    assert driver.revert_resize(server_id) == power.SHUTDOWN
    assert driver.flavor(server_id) == FLAVOR
    driver.resize(server_id, big)
    driver.confirm_resize(server_id)
    assert driver.revert_resize(server_id) == power.SHUTDOWN and driver.flavor(server_id) == big


def test_console_output_returns_the_last_lines(driver):
    server_id = boot(driver)
    assert len(driver.console_output(server_id, 1).splitlines()) == 1
    assert len(driver.console_output(server_id).splitlines()) == 2


def test_custom_guest_command(driver):
    server_id = boot(driver, guest_command=json.dumps(["sleep", "60"]))
    assert driver.power_state(server_id) == power.RUNNING
    result = clean_shutdown(driver, server_id, timeout=5, retry_interval=1, force=False)
    assert result["shutdown"] == "clean"  # sleep dies of SIGTERM: a clean exit, not a crash
    assert driver.power_state(server_id) == power.SHUTDOWN


def test_a_guest_that_fails_to_boot_is_an_error(driver):
    server_id = str(uuid.uuid4())
    with pytest.raises(DriverError, match="exited before it was ready"):
        driver.spawn({"id": server_id}, image(guest_boot_seconds="oops"), FLAVOR)
    assert driver.destroy(server_id) is True


def test_restart_adopts_running_guests_and_notices_dead_ones(make_driver):
    first = make_driver()
    alive, dead = boot(first), boot(first)
    alive_pid, dead_pid = pid_of(first, alive), pid_of(first, dead)
    os.kill(dead_pid, signal.SIGKILL)  # dies "while the compute is down"
    wait_for(lambda: (proc_stat(dead_pid) or "Z")[0] == "Z")
    second = make_driver()
    assert second.list_guests() == {alive: power.RUNNING, dead: power.SHUTDOWN}
    assert pid_of(second, alive) == alive_pid
    assert make_driver(host="other").list_guests() == {}  # another host's guests are not ours
    # adopted guests are driven as before
    result = clean_shutdown(second, alive, timeout=10, retry_interval=5, force=False)
    assert result["shutdown"] == "clean"


def test_a_reused_pid_is_not_mistaken_for_the_guest(driver):
    server_id = boot(driver)
    driver.force_off(server_id)
    # a pid file naming a live process with another start time (pid reuse)
    with open(driver._dir(server_id, "pid"), "w") as f:
        json.dump({"pid": os.getpid(), "start_time": 1, "role": "guest", "forced": False}, f)
    assert driver.power_state(server_id) == power.SHUTDOWN
    driver.request_shutdown(server_id)  # must not signal the test process
    driver.destroy(server_id)


def test_capabilities_come_from_the_machine(driver):
    caps = driver.capabilities()
    assert caps["physical"]["cpus"] == os.cpu_count()
    assert caps["vcpus"] == os.cpu_count() * 16 and caps["memory_mb"] > 0 and caps["disk_gb"] >= 0
