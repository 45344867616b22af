"""Buffer assignment: every op term gets an output buffer, allocated once per program.

With `inplace`, an op that declares it may write over an input that dies at that step
(never an input node, a constant, or a value someone reads). With `share`, a buffer
whose value is dead is reused by a later term of the same shape and dtype. A term is
readable after a run when it is the last writer of its buffer; the buffer of a term in
`pinned` (the compiler's readable roots: by default every node user code built and every
gradient G.grad returned; with `readable="lean"` only outputs, gradients, named and kept
nodes) is never written again.
"""

from __future__ import annotations

from collections import defaultdict

from gorgon.passes.ir import Term, is_op

INPLACE = "inplace"
SHARED = "shared"


def last_uses(terms: list[Term]) -> dict[int, int]:
    """For each term (by id), the position of the last term that reads it."""
    last: dict[int, int] = {}
    for position, term in enumerate(terms):
        for parent in term.inputs:
            last[id(parent)] = position
    return last


def assign_buffers(terms: list[Term], pinned: set[int], inplace: bool, share: bool) -> int:
    """Set `term.buffer` (and flags) for every op term; return the number of buffers."""
    last = last_uses(terms)
    free: dict[tuple, list[int]] = defaultdict(list)
    kept: set[int] = set()
    count = 0
    for position, term in enumerate(terms):
        if not is_op(term):
            continue
        buffer = _inplace_buffer(term, position, last, kept) if inplace else None
        if buffer is not None:
            term.flags += (INPLACE,)
        else:
            pool = free.get((term.shape, term.dtype.str)) if share else None
            if pool:
                buffer = pool.pop()
                term.flags += (SHARED,)
            else:
                buffer, count = count, count + 1
        term.buffer = buffer
        if id(term) in pinned:
            kept.add(buffer)
        if share:
            for parent in set(term.inputs):
                if (is_op(parent) and last.get(id(parent)) == position and parent.buffer != buffer
                        and parent.buffer not in kept):
                    free[(parent.shape, parent.dtype.str)].append(parent.buffer)
        if share and id(term) not in last and buffer not in kept:
            free[(term.shape, term.dtype.str)].append(buffer)
    return count


def _inplace_buffer(term: Term, position: int, last: dict[int, int], kept: set[int]) -> int | None:
    index = term.op.inplace
    if index is None or index >= len(term.inputs):
        return None
    parent = term.inputs[index]
    if (not is_op(parent) or parent.shape != term.shape or parent.dtype != term.dtype
            or last.get(id(parent)) != position or parent.buffer in kept):
        return None
    if any(other is parent for i, other in enumerate(term.inputs) if i != index):
        return None
    return parent.buffer
