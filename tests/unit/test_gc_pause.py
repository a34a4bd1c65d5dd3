"""api/gc_pause: the collector is off while any list handler runs, back on
when the last one ends, and left off if it was off before."""
from __future__ import annotations

import gc

from taskvisor.api import gc_pause


def test_overlapping_pauses_enable_again_only_after_the_last():
    assert gc.isenabled()
    first, second = gc_pause.paused(), gc_pause.paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second handler is still building its answer
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_an_error_in_the_handler_still_enables_it():
    try:
        with gc_pause.paused():
            raise ValueError("a 400 from the list")
    except ValueError:
        pass
    assert gc.isenabled()


def test_a_process_that_turned_it_off_keeps_it_off():
    gc.disable()
    try:
        with gc_pause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
