"""Big answers built without the cyclic garbage collector walking the process.

A list of 1,000 servers or nodes allocates some 25,000 dicts and lists, all
alive until the answer is serialized: CPython runs a young collection every
700 of them and, every few such lists, a full one over every object of the
process (a few hundred thousand: FastAPI's routes, SQLAlchemy's tables,
oslo.policy's rules), which cost more than building the list itself. None of
these objects is in a reference cycle; they are freed by reference counting
the moment the handler returns. So list handlers run in ``paused()``: the
collector is off while any of them runs (process-wide: a count of the ones
running, not a toggle) and back on after, when their objects are gone."""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_running = 0
_was_enabled = False


@contextmanager
def paused():
    global _running, _was_enabled
    with _lock:
        if _running == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _was_enabled:
                gc.enable()
