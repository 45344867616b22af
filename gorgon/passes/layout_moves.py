"""Before the `fuse` pass makes its groups, with a backend that fuses: elementwise terms
move across layout ops so that they fuse with their neighbours. An LSTM's forward step
reads its pre-activation `xw + h @ u` through gate slices (`behind_views`: each slice of
the sum becomes a sum of slices, fused with the gate's activation); its gradient joins
the gates' gradients with a concat and then multiplies by the sigmoid's derivative
(`into_joins`: the product of the concat becomes a concat of products, each fused with
the gate gradient that feeds it, and a concat of that concat takes its blocks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gorgon.node import OPERATION
from gorgon.passes.fuse import fusing_backend
from gorgon.passes.ir import Term, is_literal
from gorgon.types import TensorType


def behind_views(terms: list[Term], pinned: set[int], backends: Sequence[str]) -> list[Term]:
    """With a fusing backend: an elementwise term read only through views of one input
    that together are no larger than it (an LSTM's gate slices of its pre-activation
    `xw + h @ u`) moves behind them, each view `v(f(a, b))` becoming `f(v(a), v(b))`, so
    that it fuses with what reads the view (a view is a layout of its input only, so it
    commutes with an elementwise op whose array inputs have the op's shape). The term and
    its views are then dead, and left out."""
    setup = _setup(terms, backends)
    if setup is None:
        return terms
    fuses, readers = setup
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


def _setup(terms: list[Term], backends: Sequence[str]) -> tuple[Any, dict[int, list[Term]]] | None:
    """The fusing backend's `fuses` hook and each term's readers (by id); None when no
    preferred backend fuses."""
    found = fusing_backend(backends)
    if found is None:
        return None
    readers: dict[int, list[Term]] = {}
    for term in terms:
        for parent in term.inputs:
            readers.setdefault(id(parent), []).append(term)
    return getattr(found[1], "fuses", None), readers


def _movable(term: Term) -> bool:
    """An elementwise op term that may be computed elsewhere: pure, of no mode, updating nothing."""
    op = term.op
    return term.role == OPERATION and op.elementwise and op.pure and not op.mode_dependent and not op.updates


def _moves_behind(term: Term, views: list[Term], pinned: set[int], fuses: Any) -> bool:
    op = term.op
    if not _movable(term):
        return False
    if not all(v.role == OPERATION and v.op.is_view and len(v.inputs) == 1 and id(v) not in pinned
               for v in views):
        return False
    if sum(int(np.prod(v.shape)) for v in views) > int(np.prod(term.shape)):
        return False
    if not all(p.shape == term.shape or is_literal(p) for p in term.inputs):
        return False
    return fuses is None or all(bool(fuses(op, tuple(TensorType(v.shape, p.dtype) for p in term.inputs),
                                                TensorType(v.shape, term.dtype))) for v in views)


def into_joins(terms: list[Term], pinned: set[int], backends: Sequence[str]) -> list[Term]:
    """With a fusing backend: an elementwise term reading a join (an op with `blocks`:
    concat) that only it reads becomes the join of the term over each block, its other
    array inputs taken block by block through the join's views; and a join reading a join
    of the same op that only it reads takes that join's blocks in its place. The joins
    consumed are left out."""
    setup = _setup(terms, backends)
    if setup is None:
        return terms
    fuses, readers = setup
    replaced: dict[int, Term] = {}
    dropped: set[int] = set()
    result: list[Term] = []
    for term in terms:
        term.inputs = tuple(replaced.get(id(p), p) for p in term.inputs)
        inner = _flattened(term, readers, pinned)
        if inner is not None:
            dropped.add(id(inner))
        joined = None if id(term) in pinned else _distributed(term, readers, pinned, fuses, result)
        if joined is None:
            result.append(term)
            continue
        new, consumed = joined
        dropped.add(id(consumed))
        readers[id(new)] = readers.get(id(term), [])
        replaced[id(term)] = new
        result.append(new)
    return [t for t in result if id(t) not in dropped]


def _blocks(term: Term) -> list[Any] | None:
    if term.role != OPERATION or not term.inputs:
        return None
    return term.op.blocks(*(TensorType(p.shape, p.dtype) for p in term.inputs))


def _only_reader(join: Term, term: Term, readers: dict[int, list[Term]], pinned: set[int]) -> bool:
    return id(join) not in pinned and all(r is term for r in readers.get(id(join), []))


def _flattened(term: Term, readers: dict[int, list[Term]], pinned: set[int]) -> Term | None:
    """For a join reading a join of the same op (and parameters) that only it reads: the
    inner join, whose blocks the term now reads in its place; else None."""
    if _blocks(term) is None:
        return None
    for inner in term.inputs:
        if (_blocks(inner) is not None and type(inner.op) is type(term.op) and inner.op.params == term.op.params
                and _only_reader(inner, term, readers, pinned)):
            term.inputs = tuple(q for p in term.inputs for q in (inner.inputs if p is inner else (p,)))
            return inner
    return None


def _distributed(term: Term, readers: dict[int, list[Term]], pinned: set[int], fuses: Any,
                 result: list[Term]) -> tuple[Term, Term] | None:
    """An elementwise term of a join as the join of the term over the join's blocks (the
    new per-block terms appended to `result`), or None when it does not fit."""
    op = term.op
    if not _movable(term):
        return None
    joins = {id(p): p for p in term.inputs if _blocks(p) is not None}
    if len(joins) != 1:
        return None
    (join,) = joins.values()
    if join.shape != term.shape or not _only_reader(join, term, readers, pinned):
        return None
    if not all(p is join or p.shape == term.shape or is_literal(p) for p in term.inputs):
        return None
    views = _blocks(join)
    pieces, made = [], []
    for view, part in zip(views, join.inputs):
        inputs = tuple(part if p is join else p if p.shape != term.shape else
                       Term(OPERATION, part.shape, p.dtype, p.name, view, (p,), is_grad=term.is_grad,
                            origin=term.origin) for p in term.inputs)
        if fuses is not None and not fuses(op, tuple(TensorType(p.shape, p.dtype) for p in inputs),
                                           TensorType(part.shape, term.dtype)):
            return None
        made.extend(p for p in inputs if p not in term.inputs and p is not part)
        pieces.append(Term(OPERATION, part.shape, term.dtype, term.name, op, inputs, is_grad=term.is_grad,
                           origin=term.origin))
        made.append(pieces[-1])
    result.extend(made)
    return Term(OPERATION, term.shape, term.dtype, term.name, join.op, tuple(pieces), is_grad=term.is_grad,
                origin=term.origin), join
