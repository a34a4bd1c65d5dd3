"""The operations in flight on one compute, for graceful shutdown.

An operation (a task) is in flight here from its first call until the
conductor says the task is done with this host (``operation_done``), so a
resize between two of its calls still counts. An operation whose conductor
died never says so: it stops counting once it has been quiet for
``idle_limit`` seconds with no call executing (the drain is bounded by
[DEFAULT] graceful_shutdown_timeout anyway).

It also holds the operations a user cancelled (``compute-cancel``): a clean
shutdown wait of such an operation stops at its next look. A cancel may
arrive before the call it is meant for, so it is kept for ``idle_limit``."""
from __future__ import annotations

import contextlib
import threading
import time


class Operations:
    def __init__(self, idle_limit: float):
        self.idle_limit = idle_limit
        self._ops: dict[str, dict] = {}
        self._cancelled: dict[str, float] = {}  # op → when the cancel arrived
        self._lock = threading.Lock()
        self._local = threading.local()  # the operation of the call this thread runs

    @contextlib.contextmanager
    def call(self, op: str | None, method: str):
        key = op or f"call-{id(threading.current_thread())}-{time.monotonic()}"
        with self._lock:
            entry = self._ops.setdefault(key, {"calls": 0, "methods": [], "last": 0.0, "tracked": bool(op)})
            entry["calls"] += 1
            entry["methods"].append(method)
            entry["last"] = time.monotonic()
        self._local.op = op
        try:
            yield
        finally:
            self._local.op = None
            with self._lock:
                entry["calls"] -= 1
                entry["last"] = time.monotonic()
                if not entry["tracked"]:  # a call with no operation is done when it returns
                    self._ops.pop(key, None)

    def done(self, op: str) -> None:
        with self._lock:
            entry = self._ops.get(op)
            if entry is not None and entry["calls"] == 0:
                self._ops.pop(op, None)
            elif entry is not None:
                entry["tracked"] = False  # finishes with its last running call

    def in_flight(self) -> dict[str, str]:
        """op → what it has been doing, for the operations still in flight."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k, e in self._ops.items() if e["calls"] == 0 and now - e["last"] > self.idle_limit]:
                self._ops.pop(key)
            return {k: ", ".join(e["methods"][-3:]) + (" (running)" if e["calls"] else " (between calls)")
                    for k, e in self._ops.items()}

    def executing(self) -> int:
        with self._lock:
            return sum(e["calls"] for e in self._ops.values())

    def cancel(self, op: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in [k for k, at in self._cancelled.items() if now - at > self.idle_limit]:
                self._cancelled.pop(key)
            self._cancelled[op] = now

    def current_cancelled(self) -> bool:
        """Was the operation of the call this thread runs cancelled?"""
        op = getattr(self._local, "op", None)
        with self._lock:
            return op is not None and op in self._cancelled
