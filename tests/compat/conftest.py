"""The real OpenStack clients against one real `taskvisor all-in-one` per
test module: the `openstack` and `baremetal` CLIs as subprocesses, and
openstacksdk in this process, all with an ``auth_type: none`` cloud built
from examples/clouds.yaml with the module's port.

Each session gets its own HOME and XDG cache/config directories, so no
user's clouds.yaml or python-ironicclient's cached version negotiation
(300 s, per host:port) leaks into the tests.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.procs import TaskvisorProcess, all_in_one, poll_until, settled_in
from tests.services import unavailable

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLOUD = "taskvisor"
COMPUTE = "/compute/v2.1"


def _require(tool: str) -> str:
    path = shutil.which(tool, path=str(BIN)) or shutil.which(tool)
    if path is None:
        unavailable(f"the real `{tool}` client is not installed (pip install -e '.[test]')")
    return path


@pytest.fixture(scope="session")
def client_home(tmp_path_factory) -> Path:
    """HOME, XDG_CACHE_HOME and XDG_CONFIG_HOME for every client this session."""
    home = tmp_path_factory.mktemp("client-home")
    for sub in (".cache", ".config"):
        (home / sub).mkdir()
    return home


def clouds_yaml(port: int) -> str:
    """examples/clouds.yaml, pointed at ``port``."""
    text = (REPO / "examples" / "clouds.yaml").read_text()
    assert "127.0.0.1:8774" in text, "examples/clouds.yaml no longer names the default endpoint"
    return text.replace("127.0.0.1:8774", f"127.0.0.1:{port}")


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


class Clients:
    """Runs the real CLIs and builds openstacksdk connections for one cloud."""

    def __init__(self, proc: TaskvisorProcess, home: Path, config_dir: Path):
        self.proc, self.port = proc, proc.port
        self.base_url = proc.base_url
        self.clouds_file = config_dir / "clouds.yaml"
        self.clouds_file.write_text(clouds_yaml(self.port))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update({"OS_CLIENT_CONFIG_FILE": str(self.clouds_file), "HOME": str(home),
                    "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
                    "PYTHONWARNINGS": "ignore"})
        self.env = env
        self.http = httpx.Client(base_url=self.base_url, timeout=10,
                                 headers={"OpenStack-API-Version": "compute latest"})

    # -- CLIs -------------------------------------------------------------
    def run(self, argv: list[str], check: bool = True, timeout: float = 120) -> Result:
        started = time.monotonic()
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout,
                              cwd=str(self.clouds_file.parent))
        result = Result(argv, done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv[1:])} exited {done.returncode} after "
                                 f"{time.monotonic() - started:.1f}s\nstdout:\n{done.stdout}\n"
                                 f"stderr:\n{done.stderr[-3000:]}\nserver log:\n{self.proc.log()[-2000:]}")
        return result

    def openstack(self, *args: str, check: bool = True, timeout: float = 120) -> Result:
        return self.run([_require("openstack"), "--os-cloud", CLOUD, *args], check, timeout)

    def openstack_json(self, *args: str):
        return self.openstack(*args, "-f", "json").json()

    def baremetal(self, *args: str, check: bool = True, timeout: float = 120) -> Result:
        return self.run([_require("baremetal"), "--os-auth-type", "none",
                         "--os-endpoint", f"{self.base_url}/baremetal", *args], check, timeout)

    def baremetal_json(self, *args: str):
        return self.baremetal(*args, "-f", "json").json()

    # -- openstacksdk -------------------------------------------------------
    def sdk(self):
        """openstacksdk with the same clouds.yaml the CLIs use."""
        import openstack
        from openstack.config import loader

        config = loader.OpenStackConfig(config_files=[str(self.clouds_file)])
        return openstack.connection.Connection(config=config.get_one(cloud=CLOUD))

    # -- reading back through the API ---------------------------------------
    def server(self, server_id: str) -> dict:
        resp = self.http.get(f"{COMPUTE}/servers/{server_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()["server"]

    def server_status(self, server_id: str) -> int:
        return self.http.get(f"{COMPUTE}/servers/{server_id}").status_code

    def wait_server(self, server_id: str, status: str, timeout: float = 30) -> dict:
        return poll_until(lambda: self.server(server_id), lambda server: settled_in(server, status), timeout,
                          lambda server: f"server {server_id} is {server['status']}/"
                                         f"{server['OS-EXT-STS:task_state']}, not {status}")

    def wait_node(self, ident: str, provision_state: str, timeout: float = 30) -> dict:
        return self._wait_node(ident, "provision_state", provision_state, timeout)

    def wait_node_power(self, ident: str, power_state: str, timeout: float = 30) -> dict:
        return self._wait_node(ident, "power_state", power_state, timeout)

    def _wait_node(self, ident: str, field: str, value: str, timeout: float) -> dict:
        return poll_until(lambda: self.node(ident), lambda node: node[field] == value and node["reservation"] is None,
                          timeout, lambda node: f"node {ident} has {field} {node[field]!r}, not {value!r}")

    def wait_gone(self, server_id: str, timeout: float = 30) -> None:
        poll_until(lambda: self.server_status(server_id), lambda code: code == 404, timeout,
                   lambda _code: f"server {server_id} still there after {timeout}s")

    def instance_actions(self, server_id: str) -> list[dict]:
        resp = self.http.get(f"{COMPUTE}/servers/{server_id}/os-instance-actions")
        assert resp.status_code == 200, resp.text
        return resp.json()["instanceActions"]

    def node(self, ident: str) -> dict:
        resp = self.http.get(f"/baremetal/v1/nodes/{ident}", headers={"X-OpenStack-Ironic-API-Version": "latest"})
        assert resp.status_code == 200, resp.text
        return resp.json()


def start_cloud(tmp_path_factory, client_home: Path, name: str, env: dict | None = None):
    """Body of a module-scoped fixture: one all-in-one for the module, stopped at its end."""
    data_dir = tmp_path_factory.mktemp(name)
    proc = all_in_one(str(data_dir), env=env)
    try:
        proc.start()
        clients = Clients(proc, client_home, data_dir)
        yield clients
        clients.http.close()
    finally:
        proc.stop()
