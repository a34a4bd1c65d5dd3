"""The client side of compute RPC, and its versions (Nova's semantics).

Versions. Every compute RPC method has the version that added it
(``METHOD_VERSIONS``); the API's current version is ``RPC_API_VERSION`` and
``HISTORY`` says what each version added. A compute reports an integer
service version; ``SERVICE_VERSIONS`` says which RPC version each one serves.
What a client may send to a host is the lower of its cap and what that host
serves (``ComputeVersions.for_host``); the cap comes from ``[upgrade_levels]
compute``: unset (no cap), ``auto`` (the lowest version of the running
computes, as Nova's ``auto`` does), a version (``1.0``), a release name
(``RELEASES``), or, deprecated, an integer service version. A call whose
method is newer than what may be sent raises ``UnsupportedVersion`` unless the
caller has an older form (``ComputeClient.can_send``).

Topics (graceful shutdown, architecture.md §6): the first call an operation
makes to a host goes to ``compute.<host>``; later calls of the same
operation, and reads that change nothing (console output), go to
``compute-alt.<host>``, which a draining compute keeps serving, but only
when the host is sent 1.1 or newer (an older compute gets everything on
``compute``).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from taskvisor.rpc import metrics as rpc_metrics
from taskvisor.rpc.base import Transport, UnsupportedVersion, parse_version

LOG = logging.getLogger(__name__)

HISTORY = {
    "1.0": "the steps: spawn, destroy, list_guests, power_on/off/state, pause/unpause, suspend/resume, "
           "rescue/unrescue, snapshot, resize/confirm_resize/revert_resize, console_output",
    "1.1": "the compute-alt topic (graceful shutdown) and operation_done",
}
RPC_API_VERSION = max(HISTORY, key=parse_version)   # newest compute API this code speaks
ALT_TOPIC_VERSION = "1.1"
METHOD_VERSIONS = {"operation_done": "1.1"}         # every other method is 1.0
SERVICE_VERSIONS = {1: "1.0", 2: "1.1"}             # service version a compute reports → RPC version it serves
SERVICE_VERSION = max(SERVICE_VERSIONS)
RELEASES = {"2026.1": "1.0", "2026.2": "1.1"}       # [upgrade_levels] compute = <release> → its version
AUTO_SECONDS = 5.0                                  # how long auto's lowest version is reused


def _older(a: str, b: str) -> str:
    return min(a, b, key=parse_version)


def rpc_version_of(service_version: int) -> str:
    """The RPC version a compute of this service version serves (newer
    service versions than this code knows serve at least what it speaks)."""
    known = [v for v in SERVICE_VERSIONS if v <= service_version]
    return SERVICE_VERSIONS[max(known)] if known else "1.0"


def service_version_of(rpc_version: str) -> int:
    """The service version a compute serving ``rpc_version`` reports."""
    return max(s for s, v in SERVICE_VERSIONS.items() if parse_version(v) <= parse_version(rpc_version))


def parse_upgrade_level(value: str) -> str | None:
    """``[upgrade_levels] compute`` → None (no cap), "auto" or an x.y version.
    Anything else fails with a message that says what is accepted."""
    text = str(value or "").strip()
    if not text:
        return None
    if text == "auto" or text in RELEASES:
        return RELEASES.get(text, text)
    if text.isdigit():  # deprecated: the integer service version this option used to take
        LOG.warning("[upgrade_levels] compute = %s: an integer service version is deprecated; use a version "
                    "(%s), a release name (%s) or auto", text, rpc_version_of(int(text)), ", ".join(RELEASES))
        return rpc_version_of(int(text))
    try:
        major, _ = parse_version(text)
    except ValueError:
        major = None
    if major == parse_version(RPC_API_VERSION)[0] and parse_version(text) <= parse_version(RPC_API_VERSION):
        return f"{major}.{parse_version(text)[1]}"
    raise ValueError(f"[upgrade_levels] compute = {text!r} is not understood: use auto, a compute RPC version this "
                     f"code speaks ({', '.join(HISTORY)}) or a release name ({', '.join(RELEASES)})")


class ComputeVersions:
    """The one place a client (conductor or API) decides which compute RPC
    version it may send to a host. ``host_version(host)`` is the service
    version the host last reported; ``running_versions()`` those of every
    running compute (for ``auto``)."""

    def __init__(self, setting: str, host_version: Callable[[str], int],
                 running_versions: Callable[[], Iterable[int]]):
        self.cap = parse_upgrade_level(setting)
        self.host_version, self.running_versions = host_version, running_versions
        self._auto: tuple[str, float] | None = None

    def current_cap(self) -> str:
        if self.cap != "auto":
            return self.cap or RPC_API_VERSION
        # auto: looked up again every AUTO_SECONDS (a query per call would
        # cost the engine; Nova looks it up once per start).
        if self._auto is None or time.monotonic() - self._auto[1] >= AUTO_SECONDS:
            versions = list(self.running_versions())
            # No compute running yet: the oldest form, which every compute serves.
            self._auto = (rpc_version_of(min(versions)) if versions else "1.0", time.monotonic())
        return self._auto[0]

    def for_host(self, host: str) -> str:
        return _older(self.current_cap(), rpc_version_of(self.host_version(host)))


def can_send(method: str, version: str) -> bool:
    return parse_version(METHOD_VERSIONS.get(method, "1.0")) <= parse_version(version)


class ComputeClient:
    def __init__(self, transport: Transport, host: str, store: dict, version: str, timeout: float,
                 op: str | None = None, read_only: bool = False):
        """``version``: what this host may be sent (``ComputeVersions.for_host``)."""
        self.transport, self.host, self.store = transport, host, store
        self.version, self.timeout, self.op = version, timeout, op
        # A read that changes nothing (console output) goes to compute-alt
        # whenever the compute serves it: a draining compute still answers.
        self.read_only = read_only

    def can_send(self, method: str) -> bool:
        return can_send(method, self.version)

    def topic(self) -> str:
        touched = self.store.setdefault("hosts_touched", [])
        if (self.host in touched or self.read_only) and can_send_alt(self.version):
            return f"compute-alt.{self.host}"
        return f"compute.{self.host}"

    def call(self, method: str, rpc_timeout: float | None = None, **args: Any) -> Any:
        needed = METHOD_VERSIONS.get(method, "1.0")
        if not self.can_send(method):
            raise UnsupportedVersion(f"compute {self.host} may be sent compute RPC {self.version} "
                                     f"([upgrade_levels] compute and its service version); {method} needs {needed}")
        topic = self.topic()
        # The message carries the version its method needs, so a compute
        # refuses only what it truly cannot serve.
        with rpc_metrics.timed(topic.split(".", 1)[0], method):
            result = self.transport.call(topic, method, args, version=needed,
                                         timeout=rpc_timeout or self.timeout, op=self.op)
        touched = self.store.setdefault("hosts_touched", [])
        if self.host not in touched:
            touched.append(self.host)
        return result


def can_send_alt(version: str) -> bool:
    return parse_version(ALT_TOPIC_VERSION) <= parse_version(version)


CANCEL_TOPIC = "compute-cancel"  # fan-out to every compute: a user cancelled a task


def cancel_operation(transport: Transport, task_id: str) -> None:
    """Tell every compute that task ``task_id`` was cancelled, so a clean
    shutdown wait it is running stops now instead of at its timeout. A
    notification, not a versioned call: a compute too old to listen finishes
    its wait, and the task reverts what the wait did (the guest is powered
    back on). Best effort for the same reason."""
    try:
        transport.notify(CANCEL_TOPIC, {"op": task_id})
    except Exception:
        LOG.warning("could not tell computes that task %s was cancelled; it stops after its step", task_id)


def operation_done(transport: Transport, task_id: str, hosts: list[str], version_for: Callable[[str], str]) -> None:
    """Tell each compute a task touched that the task is done with it (a
    draining compute waits for exactly these). A host that may not be sent
    1.1 does not know the message (its older form is to say nothing: its
    drain stops waiting once the operation is quiet)."""
    for host in hosts:
        if can_send("operation_done", version_for(host)):
            try:
                transport.cast(f"compute-alt.{host}", "operation_done", {"op": task_id},
                               version=METHOD_VERSIONS["operation_done"])
            except Exception:  # best effort: a draining compute also stops waiting at its timeout
                pass
