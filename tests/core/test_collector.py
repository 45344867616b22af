"""The collector is paused while gorgon builds many objects, and restored after."""

import gc

import pytest

from gorgon.collector import gc_paused


def test_the_collector_is_off_inside_and_restored_after_even_on_error():
    seen = []

    @gc_paused
    def work(fail: bool) -> str:
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("boom")
        return "done"

    assert gc.isenabled()
    assert work(False) == "done"
    with pytest.raises(ValueError, match="boom"):
        work(True)
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        work(False)
        assert not gc.isenabled()
    finally:
        gc.enable()
