"""Pausing Python's cyclic garbage collector while gorgon builds many objects at once
(differentiation, compilation): each full collection scans every live object, so with
a large graph alive, collections during such bursts make them grow quadratically."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def gc_paused(fn: Callable[..., Result]) -> Callable[..., Result]:
    """Run `fn` with the cyclic collector off (restored afterwards, also on error)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> Result:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper
