"""Before the `fuse` pass makes its groups: an elementwise term read only through views
(an LSTM's gate slices of its pre-activation) moves behind them, so that what reads
each view fuses with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gorgon.node import CONSTANT, OPERATION
from gorgon.passes.fuse import fusing_backend
from gorgon.passes.ir import Term
from gorgon.types import TensorType


def behind_views(terms: list[Term], pinned: set[int], backends: Sequence[str]) -> list[Term]:
    """With a fusing backend: an elementwise term read only through views of one input
    that together are no larger than it (an LSTM's gate slices of its pre-activation
    `xw + h @ u`) moves behind them, each view `v(f(a, b))` becoming `f(v(a), v(b))`, so
    that it fuses with what reads the view (a view is a layout of its input only, so it
    commutes with an elementwise op whose array inputs have the op's shape). The term and
    its views are then dead, and left out."""
    found = fusing_backend(backends)
    if found is None:
        return terms
    fuses = getattr(found[1], "fuses", None)
    readers: dict[int, list[Term]] = {}
    for term in terms:
        for parent in term.inputs:
            readers.setdefault(id(parent), []).append(term)
    moving = {id(t) for t in terms if readers.get(id(t)) and id(t) not in pinned
              and _moves_behind(t, readers[id(t)], pinned, fuses)}
    moved: dict[int, Term] = {}
    result = []
    for term in terms:
        term.inputs = tuple(moved.get(id(p), p) for p in term.inputs)
        if id(term) in moving:
            continue
        base = term.inputs[0] if term.inputs else None
        if base is None or id(base) not in moving:
            result.append(term)
            continue
        inputs = tuple(p if p.shape != base.shape else
                       Term(OPERATION, term.shape, p.dtype, p.name, term.op, (p,), is_grad=term.is_grad,
                            origin=term.origin) for p in base.inputs)
        result.extend(p for p in inputs if p not in base.inputs)
        moved[id(term)] = Term(OPERATION, term.shape, base.dtype, term.name, base.op, inputs,
                               is_grad=term.is_grad, origin=term.origin)
        result.append(moved[id(term)])
    return result


def _moves_behind(term: Term, views: list[Term], pinned: set[int], fuses: Any) -> bool:
    op = term.op
    if term.role != OPERATION or not op.elementwise or not op.pure or op.mode_dependent or op.updates:
        return False
    if not all(v.role == OPERATION and v.op.is_view and len(v.inputs) == 1 and id(v) not in pinned
               for v in views):
        return False
    if sum(int(np.prod(v.shape)) for v in views) > int(np.prod(term.shape)):
        return False
    if not all(p.shape == term.shape or (p.role == CONSTANT and p.value is not None and p.value.size == 1)
               for p in term.inputs):
        return False
    return fuses is None or all(bool(fuses(op, tuple(TensorType(v.shape, p.dtype) for p in term.inputs),
                                                TensorType(v.shape, term.dtype))) for v in views)
