"""A real Redfish BMC for tests: the sushy-tools emulator with its fake
system driver (no libvirt), basic auth from an htpasswd file with bcrypt
entries, its state in a fresh directory, on 127.0.0.1 and a free port.

In CI (CI=true) a test that needs it fails when it cannot start; elsewhere
it is skipped."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from tests.procs import free_port, wait_serving
from tests.services import unavailable

SYSTEM_UUID = "5b2e3c4d-1111-4222-8333-944455556666"
USER, PASSWORD = "admin", "bmc-s3cret-pw"


class Emulator:
    def __init__(self, root: str):
        self.root, self.port = root, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def system_id(self) -> str:
        return f"/redfish/v1/Systems/{SYSTEM_UUID}"

    def driver_info(self, password: str = PASSWORD) -> dict:
        return {"redfish_address": self.address, "redfish_system_id": self.system_id,
                "redfish_username": USER, "redfish_password": password}

    def start(self, timeout: float = 30) -> "Emulator":
        import bcrypt
        state_dir = os.path.join(self.root, "state")
        os.makedirs(state_dir, exist_ok=True)
        htpasswd = os.path.join(self.root, "htpasswd")
        with open(htpasswd, "w") as f:
            f.write(f"{USER}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
        config = os.path.join(self.root, "emulator.conf")
        with open(config, "w") as f:
            f.write(f"SUSHY_EMULATOR_FAKE_DRIVER = True\n"
                    f"SUSHY_EMULATOR_STATE_DIR = {state_dir!r}\n"
                    f"SUSHY_EMULATOR_AUTH_FILE = {htpasswd!r}\n"
                    f"SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n"
                    f"SUSHY_EMULATOR_LISTEN_PORT = {self.port}\n"
                    f"SUSHY_EMULATOR_FAKE_SYSTEMS = [{{'uuid': {SYSTEM_UUID!r}, 'name': 'bm-1', "
                    f"'power_state': 'Off', 'nics': [{{'mac': '00:5c:52:31:3a:9c', 'ip': '172.22.0.100'}}]}}]\n")
        log = open(os.path.join(self.root, "emulator.log"), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from sushy_tools.emulator.main import main; main()", "--config", config],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_serving(self.proc, f"{self.address}/redfish/v1/Systems", "sushy-emulator", self.log, timeout,
                     auth=(USER, PASSWORD))
        return self

    def system(self) -> dict:
        return httpx.get(f"{self.address}{self.system_id}", auth=(USER, PASSWORD), timeout=5).json()

    def log(self) -> str:
        with open(os.path.join(self.root, "emulator.log"), errors="replace") as f:
            return f.read()[-4000:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@pytest.fixture
def redfish_bmc(tmp_path_factory):
    emulator = Emulator(str(tmp_path_factory.mktemp("bmc")))
    try:
        emulator.start()
    except Exception as exc:  # noqa: BLE001  (any reason it cannot run)
        emulator.stop()
        unavailable(f"the sushy-tools Redfish emulator could not start: {exc}")
    yield emulator
    emulator.stop()
