"""Pausing Python's cyclic garbage collector while gorgon builds many objects at once
(differentiation, compilation): each full collection scans every live object, so with
a large graph alive, collections during such bursts make them grow quadratically.

The pause nests and is shared by threads: the collector stays off until the last
paused call, in any thread, returns, and is turned back on only if it was on when the
first one began."""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")

_lock = threading.Lock()
_depth = 0
_was_enabled = False


def _pause() -> None:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1


def _resume() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0 and _was_enabled:
            gc.enable()


def gc_paused(fn: Callable[..., Result]) -> Callable[..., Result]:
    """Run `fn` with the cyclic collector off (restored afterwards, also on error)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Result:
        _pause()
        try:
            return fn(*args, **kwargs)
        finally:
            _resume()

    return wrapper
