"""Fault injection for the reliability tests: raise at the n-th Python event (a call or a
line, in any frame) run inside a block, and compare states bit for bit."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np


class Injected(Exception):
    """The fault the tests inject."""


def run_failing(call: Callable[[], Any], n: int, error: type[BaseException] = Injected) -> int:
    """Run `call()`, raising `error` at its n-th call or line event (in any frame it runs;
    never, if it has fewer). Returns the number of events seen."""
    seen = [0]

    def tracer(frame, event, arg):
        if event in ("call", "line"):
            seen[0] += 1
            if seen[0] == n:
                raise error(f"injected at event {n}: {frame.f_code.co_filename}:{frame.f_lineno}")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(previous)
    return seen[0]


def caused_by(exc: BaseException, error: type[BaseException]) -> bool:
    """Whether `exc` is `error`, or was raised while handling one (numpy's savez turns an
    interrupt inside its zip writer into a ValueError about the open handle)."""
    while exc is not None:
        if isinstance(exc, error):
            return True
        exc = exc.__context__
    return False


def snapshot(params, solver=None) -> tuple:
    """Every parameter's bytes (None when unbound) and the solver's whole state, as bytes."""
    values = tuple(None if p.value is None else (p.value.dtype.str, p.value.shape, p.value.tobytes())
                   for p in params)
    if solver is None:
        return values, None
    state = tuple(sorted((k, np.asarray(v).dtype.str, np.asarray(v).tobytes())
                         for k, v in solver.state_dict().items()))
    return values, state
