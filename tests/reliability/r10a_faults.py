"""Fault injection for the reliability tests: raise at the n-th Python event (a call or a
line, in any frame) run inside a block, and compare states bit for bit."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class Injected(Exception):
    """The fault the tests inject."""


@contextmanager
def fail_at(n: int, error: type[BaseException] = Injected) -> Iterator[list[int]]:
    """Raise `error` at the n-th call or line event inside the block (never, if there are
    fewer); the yielded list receives the number of events seen."""
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
        yield seen
    finally:
        sys.settrace(previous)


def snapshot(params, solver=None) -> tuple:
    """Every parameter's bytes (None when unbound) and the solver's whole state, as bytes."""
    values = tuple(None if p.value is None else (p.value.dtype.str, p.value.shape, p.value.tobytes())
                   for p in params)
    if solver is None:
        return values, None
    state = tuple(sorted((k, np.asarray(v).dtype.str, np.asarray(v).tobytes())
                         for k, v in solver.state_dict().items()))
    return values, state
