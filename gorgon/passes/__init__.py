"""Compile passes, in the order they run. Each can be switched off by leaving its name
out of `passes=` (of G.compile and the TapeMachine); results are the same either way.

- rewrite: numerically stabilising rewrites that plugins register (log(1+x) -> log1p);
- fold:    constant folding;
- cse:     common-subexpression elimination;
- dce:     dead-term elimination;
- fuse:    elementwise chains (and a reduction they feed) become one fused term, when a
           preferred kernel backend generates fused kernels (gorgon.passes.fuse);
- inplace: ops that declare it write over an input that dies at that step;
- share:   liveness-based buffer sharing;
- view:    ops that declare `is_view` (basic slices) read their input's buffer through a
           view instead of copying it; the base's buffer then lives as long as the view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gorgon.errors import ArgumentTypeError, ArgumentValueError
from gorgon.node import Node
from gorgon.passes.ir import Term, from_nodes
from gorgon.passes.layout_moves import behind_views, into_joins
from gorgon.passes.fuse import fuse
from gorgon.passes.memory import assign_buffers
from gorgon.passes.rewrite import rewrite
from gorgon.passes.simplify import cse, dce, fold

PASSES = ("rewrite", "fold", "cse", "dce", "fuse", "inplace", "share", "view")


@dataclass
class Optimized:
    """The passes' result: terms to run, the term computing each node, buffer count."""

    terms: list[Term]
    term_of: dict[Node, Term]
    buffers: int


def check_passes(passes: Iterable[str]) -> tuple[str, ...]:
    if isinstance(passes, str) or not isinstance(passes, Iterable):
        raise ArgumentTypeError(f"passes must be a list of pass names (from {list(PASSES)}), "
                                f"got {passes!r}")
    chosen = tuple(passes)
    unknown = [p for p in chosen if p not in PASSES]
    if unknown:
        raise ArgumentValueError(f"unknown compile passes {unknown}; the passes are {list(PASSES)}")
    return chosen


def optimize(nodes: Sequence[Node], roots: Sequence[Node], passes: Iterable[str],
             backends: Sequence[str] = ("numpy",)) -> Optimized:
    """Run the chosen passes over the terms of `nodes`, keeping `roots` computed and
    readable; `backends` (in order of preference) is what the fuse pass generates for."""
    chosen = check_passes(passes)
    terms, term_of = from_nodes(nodes)
    replaced: dict[int, Term] = {}

    def resolve(term: Term) -> Term:
        while id(term) in replaced:
            term = replaced[id(term)]
        return term

    def replace(old: Term, new: Term) -> None:
        replaced[id(old)] = new

    if "rewrite" in chosen:
        from gorgon.registry import registry

        terms = rewrite(terms, resolve, replace, registry.rewrite_rules())
    if "fold" in chosen:
        terms = fold(terms, resolve, replace)
    if "cse" in chosen:
        terms = cse(terms, resolve, replace)
    for term in terms:
        term.inputs = tuple(resolve(t) for t in term.inputs)
    term_of = {node: resolve(term) for node, term in term_of.items()}
    root_terms = [term_of[node] for node in roots]
    if "dce" in chosen:
        terms = dce(terms, root_terms)
    pinned = {id(t) for t in root_terms}
    if "fuse" in chosen:
        terms = behind_views(into_joins(terms, pinned, backends), pinned, backends)
        live = {id(t) for t in dce(terms, root_terms)}
        terms, fused = fuse(terms, pinned, backends)
        if fused:
            term_of = {node: fused.get(id(term), term) for node, term in term_of.items()}
            root_terms = [term_of[node] for node in roots]
            pinned = {id(t) for t in root_terms}
            needed = {id(t) for t in dce(terms, root_terms)}
            terms = [t for t in terms if id(t) in needed or id(t) not in live]
    count = assign_buffers(terms, pinned, "inplace" in chosen, "share" in chosen, "view" in chosen)
    return Optimized(terms, term_of, count)
