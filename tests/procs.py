"""Real taskvisor processes for tests: start, wait until serving, kill -9,
restart, stop. Everything binds to 127.0.0.1 and the test that starts a
process stops it (the ``procs`` fixture in conftest stops any left over)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def run_stopping_it(cmd: list[str], timeout: float, stop: int = signal.SIGTERM,
                    **popen) -> subprocess.CompletedProcess:
    """Run ``cmd`` to its end (stdout captured; pass ``stderr``, ``env``,
    ``cwd`` as to Popen). However the caller ends (this timeout,
    pytest-timeout's, Ctrl-C), a command still running gets ``stop``, on
    which it stops what it started, then SIGKILL if it lingers 60 s; its
    processes that outlive it are killed. (subprocess.run's own clean-up is
    one SIGKILL, which leaves the command's children running.)"""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, **popen)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            try:
                started = psutil.Process(proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                started = []
            proc.send_signal(stop)
            try:
                proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            for child in started:
                try:
                    child.kill()
                except psutil.NoSuchProcess:
                    pass
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def settled_in(server: dict, status: str) -> bool:
    """The server shows ``status`` with no task state: its last action has ended."""
    return server["status"] == status and server["OS-EXT-STS:task_state"] is None


def poll_until(read, done, timeout: float, failure, interval: float = 0.05):
    """Call ``read()`` until ``done(value)``; returns that value. Past the
    deadline: AssertionError with ``failure(last value)``, which says what it was instead."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(failure(value))
        time.sleep(interval)


def wait_serving(proc: subprocess.Popen, url: str, name: str, log, timeout: float, interval: float = 0.1,
                 try_timeout: float = 1, auth=None) -> None:
    """Poll ``url`` until it answers 200; fails with the process's log (``log()``)
    when the process exits first or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log()}")
        try:
            if httpx.get(url, auth=auth, timeout=try_timeout).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start serving in {timeout}s:\n{log()}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TaskvisorProcess:
    """One `taskvisor <command> ...` process with its log in ``log_path``."""

    def __init__(self, args: list[str], log_path: str, env: dict | None = None, port: int | None = None,
                 cwd: str | None = None):
        self.args, self.log_path, self.port = args, log_path, port
        self.env = {**os.environ, **(env or {})}
        # `python -m` puts the working directory first on sys.path: a tree under test runs from its own
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_http: bool = True, timeout: float = 30) -> "TaskvisorProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "taskvisor.cli", *self.args], stdout=log,
                                     stderr=subprocess.STDOUT, env=self.env, start_new_session=True, cwd=self.cwd)
        log.close()
        if wait_http and self.port:
            wait_serving(self.proc, f"{self.base_url}/compute/v2.1/", self.args[0], self.log, timeout)
        return self

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()[-5000:]

    def signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, like a crash."""
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(10)

    def stop(self, timeout: float = 15) -> int | None:
        self.signal(signal.SIGTERM)
        return self.wait_or_kill(time.monotonic() + timeout)

    def wait_or_kill(self, deadline: float) -> int | None:
        """Wait for the process to end until ``deadline``, then SIGKILL it."""
        if not self.proc:
            return None
        try:
            return self.proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    @property
    def running(self) -> bool:
        return bool(self.proc) and self.proc.poll() is None


def all_in_one(data_dir: str, port: int | None = None, driver: str = "fake", env: dict | None = None,
               extra: list[str] | None = None, cwd: str | None = None) -> TaskvisorProcess:
    port = port or free_port()
    args = ["all-in-one", "--data-dir", data_dir, "--port", str(port), "--driver", driver, *(extra or [])]
    return TaskvisorProcess(args, os.path.join(data_dir, "all-in-one.log"), env=env, port=port, cwd=cwd)


class Cluster:
    """A distributed taskvisor as real processes: one API, conductors and
    computes on PostgreSQL and RabbitMQ, in a bus namespace of its own."""

    def __init__(self, data_dir: str, database_url: str, transport_url: str, env: dict | None = None,
                 driver: str = "fake"):
        self.data_dir, self.driver = data_dir, driver
        self.namespace = f"tvtest-{os.getpid()}-{int(time.time() * 1000) % 10**8}"
        self.env = {"TASKVISOR_DATABASE__CONNECTION": database_url,
                    "TASKVISOR_DEFAULT__TRANSPORT_URL": transport_url,
                    "TASKVISOR_DEFAULT__CONTROL_EXCHANGE": self.namespace,
                    "TASKVISOR_DEFAULT__REPORT_INTERVAL": "1", "TASKVISOR_DEFAULT__SERVICE_DOWN_TIME": "6",
                    "TASKVISOR_CONDUCTOR__LEASE_SECONDS": "2", "TASKVISOR_CONDUCTOR__POLL_INTERVAL": "0.5",
                    **(env or {})}
        self.api: TaskvisorProcess | None = None
        self.conductors: dict[str, TaskvisorProcess] = {}
        self.computes: dict[str, TaskvisorProcess] = {}

    def _proc(self, name: str, args: list[str], port: int | None = None, env: dict | None = None):
        pdir = os.path.join(self.data_dir, name)
        os.makedirs(pdir, exist_ok=True)
        return TaskvisorProcess([*args, "--data-dir", pdir], os.path.join(self.data_dir, f"{name}.log"),
                                env={**self.env, **(env or {})}, port=port)

    def start(self, conductors: int = 2, computes: int = 2) -> "Cluster":
        subprocess.run([sys.executable, "-m", "taskvisor.cli", "db", "upgrade"], env={**os.environ, **self.env},
                       check=True, capture_output=True)
        port = free_port()
        self.api = self._proc("api", ["api", "--port", str(port)], port=port)
        for i in range(conductors):
            self.add_conductor(f"conductor-{i + 1}")
        for i in range(computes):
            self.add_compute(f"compute-{i + 1}")
        self.api.start()
        return self

    def add_conductor(self, name: str, env: dict | None = None, extra: tuple = ()) -> TaskvisorProcess:
        proc = self.conductors[name] = self._proc(name, ["conductor", "--host", name, *extra], env=env)
        return proc.start(wait_http=False)

    def add_compute(self, name: str, env: dict | None = None, extra: tuple = ()) -> TaskvisorProcess:
        # A compute never opens the database: give it one that cannot answer.
        env = {"TASKVISOR_DATABASE__CONNECTION": "postgresql+psycopg://nobody@127.0.0.1:1/no-such-db", **(env or {})}
        proc = self.computes[name] = self._proc(name, ["compute", "--host", name, "--driver", self.driver, *extra],
                                                env=env)
        return proc.start(wait_http=False)

    @property
    def all(self) -> list[TaskvisorProcess]:
        return [p for p in [self.api, *self.conductors.values(), *self.computes.values()] if p]

    def stop(self, timeout: float = 5) -> None:
        """Computes first, all at once, while the conductors they report
        their drain to still answer (stopped after them, a compute retries
        that report until it gives up); then the API and conductors, at once.
        A process still running after ``timeout`` is killed: the tests are
        over, and what it was doing resumes by the crash-safety rules."""
        for group in (list(self.computes.values()), [self.api, *self.conductors.values()]):
            procs = [p for p in group if p is not None]
            for proc in procs:
                proc.signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for proc in procs:
                proc.wait_or_kill(deadline)

    def logs(self) -> str:
        return "\n".join(f"--- {p.args[0]} {p.args[2] if len(p.args) > 2 else ''}\n{p.log()}" for p in self.all)
