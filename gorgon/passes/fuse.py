"""The `fuse` pass: elementwise ops (and elementwise ops feeding a reduction) become one
fused term whose kernel a backend generates.

A fused group ends at a *root*: an elementwise or reduction term that must be computed
by itself (it is pinned readable, or an op that cannot be fused reads it). Going up from
a root, every elementwise input term of the loop's shape that is not itself a root
joins the group; everything else (inputs, constants, other ops' results, terms of
another shape that broadcast) is the group's input. A term read by several groups is
computed in each (elementwise work is cheap next to a pass over memory), so a gradient
recomputes the forward values it needs instead of reading them from buffers; but a
term read by SHARED_READERS or more whose group reads SHARED_INPUTS or more arrays is a
root (computed once). Size-1 constants become literals of the fused kernel. Before the
groups are made, `layout_moves` moves elementwise terms behind views (slices) and into
joins (concat), so that they fuse with their neighbours.

A group of one op is left to the op's own kernel, unless it reads a view that may be
strided or the backend asks for lone ops of its kind (`make_fused.alone`).

Readable nodes are roots, so they are never fused away: with the default
`readable="all"` every node user code built is a root and only what G.grad built on the
way fuses; `readable="lean"` fuses whole chains. With no preferred backend that
registers a `fused` kernel (numpy alone, the default), the pass changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gorgon.errors import GorgonError
from gorgon.node import OPERATION
from gorgon.op import Op
from gorgon.passes.ir import Term, is_literal
from gorgon.types import TensorType

FUSED = "fused"
MIN_OPS = 2
# A term read by this many groups, whose own group would read this many arrays, is
# computed once (a root) instead of in each: an LSTM's cell gradient, read by its four
# gates' gradients, would otherwise read its four arrays four times.
SHARED_READERS = 3
SHARED_INPUTS = 3


@dataclass(frozen=True)
class Step:
    """One value of a fused kernel, after its inputs: `op` applied to earlier values
    (`args` index the inputs first, then the steps), or, with `op` None, the literal
    `constant` (a Python number) of dtype `dtype`."""

    op: Op | None
    args: tuple[int, ...] = ()
    shape: tuple[int, ...] = ()
    dtype: str = ""
    constant: Any = None


class FusedOp(Op):
    """Several elementwise ops (the last possibly a reduction) computed by one kernel that
    a backend generates; `steps` in order, the last one the result. Only the compiler
    makes it. Its own kernel evaluates the steps with numpy, one array each (the fallback
    when the backend fails)."""

    name = FUSED

    def infer(self, *inputs: Any) -> TensorType:
        raise GorgonError("fused: only the compiler's fuse pass makes fused terms")

    @property
    def ops(self) -> list[Op]:
        return [s.op for s in self.steps if s.op is not None]

    def forward(self, *arrays: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        values = list(arrays)
        for s in self.steps:
            if s.op is None:
                values.append(np.array(s.constant, dtype=s.dtype).reshape(s.shape))
            else:
                values.append(s.op.forward(*[values[a] for a in s.args]))
        if out is None:
            return np.asarray(values[-1])
        np.copyto(out, values[-1])
        return out

    def __str__(self) -> str:
        counts = Counter(str(op) for op in self.ops)
        inner = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in counts.items())
        return f"fused[{self.backend}: {len(self.ops)} ops: {inner}]"


def fusing_backend(backends: Sequence[str]) -> tuple[str, Any] | None:
    """The first preferred backend that registers a fused-kernel generator, before numpy."""
    from gorgon.registry import registry

    for backend in backends:
        if backend == "numpy":
            return None
        make = registry.kernel_maker(FUSED, backend)
        if make is not None:
            return backend, make
    return None


def _type(term: Term) -> TensorType:
    return TensorType(term.shape, term.dtype)


def fuse(terms: list[Term], pinned: set[int], backends: Sequence[str]) -> tuple[list[Term], dict[int, Term]]:
    """Fuse groups of `terms`; return the new term list (before dead-term removal) and,
    for each root replaced, its fused term (by the root's id)."""
    found = fusing_backend(backends)
    if found is None:
        return terms, {}
    backend, make = found
    fuses = getattr(make, "fuses", None)
    alone = getattr(make, "alone", None)

    def fusable(term: Term) -> bool:
        op = term.op
        if term.role != OPERATION or not (op.elementwise or op.reduction) or not op.pure:
            return False
        if op.mode_dependent or op.updates or op.is_view:
            return False
        return fuses is None or bool(fuses(op, tuple(_type(t) for t in term.inputs), _type(term)))

    can = {id(t): fusable(t) for t in terms}
    readers: dict[int, list[Term]] = {}
    for term in terms:
        for parent in term.inputs:
            readers.setdefault(id(parent), []).append(term)
    roots = {id(t) for t in terms if can[id(t)] and (
        t.op.reduction or id(t) in pinned or not readers.get(id(t))
        or not all(can[id(r)] for r in readers[id(t)]))}
    for term in terms:  # in order: a shared term's group stops at the roots chosen above it
        if (can[id(term)] and id(term) not in roots and len(readers[id(term)]) >= SHARED_READERS
                and len(_group_inputs(term, can, roots)) >= SHARED_INPUTS):
            roots.add(id(term))
    position = {id(t): i for i, t in enumerate(terms)}
    replaced: dict[int, Term] = {}
    result = []
    for term in terms:
        fused = _group(term, can, roots, position, backend, backends, alone) if id(term) in roots else None
        if fused is None:
            result.append(term)
        else:
            result.append(fused)
            replaced[id(term)] = fused
    for term in result:
        term.inputs = tuple(replaced.get(id(p), p) for p in term.inputs)
    return result, replaced


def _members(root: Term, can: dict[int, bool], roots: set[int]) -> dict[int, Term]:
    """The terms of `root`'s group: it and, going up, every fusable non-root term of its
    loop's shape."""
    loop = root.inputs[0].shape if root.op.reduction else root.shape
    found = {id(root): root}
    stack = [root]
    while stack:
        for parent in stack.pop().inputs:
            if (id(parent) not in found and can.get(id(parent)) and id(parent) not in roots
                    and parent.shape == loop):
                found[id(parent)] = parent
                stack.append(parent)
    return found


def _group_inputs(root: Term, can: dict[int, bool], roots: set[int]) -> set[int]:
    """The arrays `root`'s group would read (size-1 constants become literals)."""
    found = _members(root, can, roots)
    return {id(p) for t in found.values() for p in t.inputs if id(p) not in found
            and not is_literal(p)}


def _single(root: Term, alone: Any) -> bool:
    """Whether a lone op is worth a fused kernel of its own: it reads a view that may be
    strided (a slice: the kernel reads its rows, numpy's loop over a 2-d view is slower),
    or the backend asks for it (`make.alone(op, inputs, output)`: numba's float32 exp,
    sigmoid and tanh, vectorised where numpy's are not)."""
    if any(p.role == OPERATION and p.op.is_view and p.op.view_layout == "any" for p in root.inputs):
        return True
    return alone is not None and bool(alone(root.op, tuple(_type(t) for t in root.inputs), _type(root)))


def _group(root: Term, can: dict[int, bool], roots: set[int], position: dict[int, int],
           backend: str, backends: Sequence[str], alone: Any = None) -> Term | None:
    """The fused term standing for `root`, or None when the group is too small (one op,
    unless `_single`) or the backend declines it."""
    from gorgon.backends import find_kernel

    found = _members(root, can, roots)
    if len(found) < MIN_OPS and not (root.op.elementwise and _single(root, alone)):
        return None
    inside = sorted(found.values(), key=lambda t: position[id(t)])
    members = set(found)
    index: dict[int, int] = {}
    inputs: list[Term] = []
    steps: list[Step] = []

    def argument(parent: Term) -> int:
        if id(parent) not in index:
            if is_literal(parent):
                steps.append(Step(None, (), parent.shape, parent.dtype.str, parent.value.item()))
                index[id(parent)] = -len(steps)
            else:
                inputs.append(parent)
                index[id(parent)] = len(inputs) - 1
        return index[id(parent)]

    for term in inside:
        for parent in term.inputs:
            if id(parent) not in members:
                argument(parent)
    for term in inside:
        args = tuple(_position(index[id(p)], len(inputs)) for p in term.inputs)
        steps.append(Step(term.op, args, term.shape, term.dtype.str))
        index[id(term)] = -len(steps)
    op = FusedOp(steps=tuple(steps), backend=backend)
    if find_kernel(op, [_type(t) for t in inputs], _type(root), backends) is None:
        return None
    return Term(OPERATION, root.shape, root.dtype, root.name, op, tuple(inputs), root.node,
                is_grad=root.is_grad, origin=root.origin)


def _position(code: int, inputs: int) -> int:
    """A value's index among the kernel's values (inputs, then steps) from its code: an
    input's position, or minus the 1-based number of the step that made it."""
    return code if code >= 0 else inputs - code - 1
