"""Buffer assignment: every op term gets an output buffer, allocated once per program.

With `inplace`, an op that declares it may write over an input that dies at that step
(never an input node, a constant, or a value someone reads). With `share`, a buffer
whose value is dead is reused by a later term of the same shape and dtype. A term is
readable after a run when it is the last writer of its buffer. With `views`, a term whose
op declares `is_view` gets no buffer: it reads its base's (the first non-view term up its
first inputs), so a use of the view counts as a use of the base, no op writes in place
over a base that a view of it feeds, and a readable view keeps its base's buffer; a
term that an op `updates` is never a view nor a view's base. The buffer of a term in
`pinned` (the compiler's readable roots: by default every node user code built and every
gradient G.grad returned; with `readable="lean"` only outputs, gradients, named and kept
nodes) is never written again.
"""

from __future__ import annotations

from collections import defaultdict

from gorgon.passes.ir import Term, is_op

INPLACE = "inplace"
SHARED = "shared"
VIEW = "view"


def last_uses(terms: list[Term]) -> dict[int, int]:
    """For each term (by id), the position of the last term that reads it."""
    last: dict[int, int] = {}
    for position, term in enumerate(terms):
        for parent in term.inputs:
            last[id(parent)] = position
    return last


def view_bases(terms: list[Term]) -> dict[int, Term]:
    """For each term (by id) that is computed as a view, the term whose buffer it views.
    An op whose view needs a C-contiguous input (`view_layout="contiguous"`) views only
    a buffer of the program (op terms' buffers are C-contiguous arrays) through views
    that keep contiguity; an input node's array may have any layout."""
    updated = {id(t.inputs[i]) for t in terms if is_op(t) for i in t.op.updates}
    bases: dict[int, Term] = {}
    contiguous: set[int] = set()
    for term in terms:
        if not is_op(term):
            continue
        layout = term.op.view_layout if term.op.is_view else None
        parent = term.inputs[0] if term.inputs else None
        if (layout is not None and parent is not None and id(term) not in updated
                and (layout != "contiguous" or id(parent) in contiguous)):
            base = bases.get(id(parent), parent)
            if id(base) not in updated:
                bases[id(term)] = base
                if layout != "any" and id(parent) in contiguous:
                    contiguous.add(id(term))
                continue
        contiguous.add(id(term))
    return bases


def assign_buffers(terms: list[Term], pinned: set[int], inplace: bool, share: bool,
                   views: bool = False) -> int:
    """Set `term.buffer` (and flags) for every op term; return the number of buffers."""
    last = last_uses(terms)
    bases = view_bases(terms) if views else {}
    for position, term in enumerate(terms):
        for parent in term.inputs:
            if id(parent) in bases:
                base = id(bases[id(parent)])
                last[base] = max(last.get(base, position), position)
    free: dict[tuple, list[int]] = defaultdict(list)
    kept: set[int] = set()
    count = 0
    for position, term in enumerate(terms):
        if not is_op(term):
            continue
        if id(term) in bases:
            term.flags += (VIEW,)
            base = bases[id(term)]
            if id(term) in pinned and is_op(base):
                kept.add(base.buffer)
            continue
        buffer = _inplace_buffer(term, position, last, kept, bases) if inplace else None
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
            for parent in {bases.get(id(p), p) for p in term.inputs}:
                if (is_op(parent) and last.get(id(parent)) == position and parent.buffer != buffer
                        and parent.buffer not in kept):
                    free[(parent.shape, parent.dtype.str)].append(parent.buffer)
        if share and id(term) not in last and buffer not in kept:
            free[(term.shape, term.dtype.str)].append(buffer)
    return count


def _inplace_buffer(term: Term, position: int, last: dict[int, int], kept: set[int],
                    bases: dict[int, Term]) -> int | None:
    index = term.op.inplace
    if index is None or index >= len(term.inputs):
        return None
    parent = term.inputs[index]
    if (not is_op(parent) or id(parent) in bases or parent.shape != term.shape
            or parent.dtype != term.dtype or last.get(id(parent)) != position or parent.buffer in kept):
        return None
    if any(bases.get(id(other), other) is parent for i, other in enumerate(term.inputs) if i != index):
        return None
    return parent.buffer
