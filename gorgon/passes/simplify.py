"""Constant folding, common-subexpression elimination and dead-term elimination."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from gorgon.node import CONSTANT
from gorgon.passes.ir import Term, constant_term, is_op

CSE_CONSTANT_LIMIT = 256


def _foldable(term: Term) -> bool:
    op = term.op
    return (is_op(term) and op.pure and not op.mode_dependent and not op.updates
            and all(t.role == CONSTANT for t in term.inputs))


def fold(terms: list[Term], resolve: Callable[[Term], Term],
         replace: Callable[[Term, Term], None]) -> list[Term]:
    """Compute at compile time every op whose inputs are all constants. A kernel that
    fails here is left to fail at run time, where the error has its full context."""
    out = []
    for term in terms:
        term.inputs = tuple(resolve(t) for t in term.inputs)
        if _foldable(term):
            try:
                value = np.asarray(term.op.forward(*(t.value for t in term.inputs)))
            except Exception:  # reported when the step runs
                value = None
            if value is not None and value.shape == term.shape and value.dtype == term.dtype:
                value.flags.writeable = False
                folded = constant_term(value, term)
                replace(term, folded)
                term = folded
        out.append(term)
    return out


def _key(term: Term) -> tuple | None:
    if is_op(term):
        if not term.op.pure or term.op.updates:
            return None
        return (term.op, tuple(id(t) for t in term.inputs))
    if term.role == CONSTANT and term.value.size <= CSE_CONSTANT_LIMIT:
        return ("constant", term.value.dtype.str, term.value.shape, term.value.tobytes())
    return None


def cse(terms: list[Term], resolve: Callable[[Term], Term],
        replace: Callable[[Term, Term], None]) -> list[Term]:
    """Compute each (op, params, inputs) once, and hold each small constant once."""
    out = []
    seen: dict[tuple, Term] = {}
    for term in terms:
        term.inputs = tuple(resolve(t) for t in term.inputs)
        key = _key(term)
        if key is not None:
            first = seen.get(key)
            if first is not None:
                replace(term, first)
                continue
            seen[key] = term
        out.append(term)
    return out


def dce(terms: list[Term], roots: Iterable[Term]) -> list[Term]:
    """Keep only the terms the roots need (impure and state-updating ops included only
    when needed, like everything else)."""
    live: set[int] = set()
    stack = list(roots)
    while stack:
        term = stack.pop()
        if id(term) not in live:
            live.add(id(term))
            stack.extend(term.inputs)
    return [t for t in terms if id(t) in live]
