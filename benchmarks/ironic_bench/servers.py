"""Starting, measuring and stopping the servers: Ironic from PyPI in a
virtual environment of its own, and process-tree RSS and CPU figures."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil

from tests.procs import free_port, wait_serving


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for p in tree(pid):
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
    return total / 2**20


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        for p in tree(pid):
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    return total


def cpu_split(pids: list[int]) -> tuple[float, float]:
    """CPU seconds of the given (root) processes and of their children,
    apart: taskvisor's all-in-one serves the API in its root process and
    runs the engine (conductor, compute) in a child."""
    root = children = 0.0
    for pid in pids:
        for i, p in enumerate(tree(pid)):
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            if i == 0:
                root += t.user + t.system
            else:
                children += t.user + t.system
    return root, children


def loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process group this script started (start_new_session), then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:  # children of the launcher may outlive it for a moment
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(10)


# ---------------------------------------------------------------- Ironic

def ironic_venv(cache_dir: str, wanted: str) -> tuple[str, str]:
    """(venv path, installed Ironic version): reuse, else create and pip install."""
    venv = os.path.join(cache_dir, "ironic-venv")
    py = os.path.join(venv, "bin", "python")

    def installed() -> str | None:
        if not os.path.exists(os.path.join(venv, "bin", "ironic")):
            return None
        out = subprocess.run([py, "-c", "import importlib.metadata as m; print(m.version('ironic'))"],
                             capture_output=True, text=True, timeout=60)
        return out.stdout.strip() or None

    have = installed()
    if have and (have == wanted or not wanted):
        return venv, have
    os.makedirs(cache_dir, exist_ok=True)
    print(f"installing Ironic into {venv} (several minutes the first time) ...", flush=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    if not os.path.exists(py):
        subprocess.run([base, "-m", "venv", venv], check=True, timeout=300)
    pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=False, timeout=600)
    result = subprocess.run([*pip, f"ironic=={wanted}"] if wanted else [*pip, "ironic"], timeout=1800)
    if result.returncode != 0 and wanted:
        print(f"!! ironic=={wanted} did not install; installing the newest Ironic instead", flush=True)
        subprocess.run([*pip, "ironic"], check=True, timeout=1800)
    have = installed()
    if not have:
        raise SystemExit("Ironic did not install")
    return venv, have


IRONIC_CONF = """\
[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = bench-conductor
enabled_hardware_types = fake-hardware
enabled_bios_interfaces = fake,no-bios
enabled_boot_interfaces = fake
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake
enabled_firmware_interfaces = fake,no-firmware
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake
enabled_network_interfaces = noop
enabled_power_interfaces = fake
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = fake,noop
enabled_vendor_interfaces = fake,no-vendor
default_network_interface = noop
log_file = {data}/ironic.log
debug = false

[api]
host_ip = 127.0.0.1
port = {port}

[database]
connection = sqlite:///{data}/ironic.sqlite

[conductor]
automated_clean = true

[dhcp]
dhcp_provider = none

[vnc]
enabled = false
"""


class IronicServer:
    def __init__(self, venv: str, data_dir: str):
        self.venv, self.data = venv, data_dir
        self.port = free_port()
        self.conf = os.path.join(data_dir, "ironic.conf")
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> "IronicServer":
        with open(self.conf, "w") as f:
            f.write(IRONIC_CONF.format(data=self.data, port=self.port))
        out = os.path.join(self.data, "ironic.out")
        subprocess.run([os.path.join(self.venv, "bin", "ironic-dbsync"), "--config-file", self.conf,
                        "create_schema"], check=True, capture_output=True, timeout=300)
        with open(out, "ab") as log:
            self.proc = subprocess.Popen([os.path.join(self.venv, "bin", "ironic"), "--config-file", self.conf],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=self.data)
        wait_serving(self.proc, f"{self.base_url}/v1", "ironic", self.log, timeout, interval=0.25,
                     try_timeout=2)
        return self

    def log(self) -> str:
        text = ""
        for name in ("ironic.out", "ironic.log"):
            path = os.path.join(self.data, name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f"--- {name}\n" + f.read()[-3000:]
        return text

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def stop(self) -> None:
        if self.proc:
            stop_group(self.proc)


