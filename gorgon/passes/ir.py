"""The compiler's working form: one Term per value computed, built from graph nodes.

Passes rewrite terms, never the user's graph. A term keeps the graph node it stands
for (None for terms a rewrite made) so that, after the passes, every compiled node
knows which term now computes its value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon.node import CONSTANT, INPUT, OPERATION, Node
from gorgon.types import Shaped
from gorgon.op import Op


class Term(Shaped):
    """A value in the program: an input, a constant, or an op applied to terms. It has
    the attributes of a node that inference, error messages and watches read."""

    __slots__ = ("op", "inputs", "shape", "dtype", "name", "role", "node", "value",
                 "is_grad", "origin", "buffer", "flags")

    def __init__(self, role: str, shape: tuple[int, ...], dtype: np.dtype, name: str,
                 op: Op | None = None, inputs: tuple[Term, ...] = (), node: Node | None = None,
                 value: np.ndarray | None = None, is_grad: bool = False, origin: str = ""):
        self.role = role
        self.op = op
        self.inputs = inputs
        self.shape = shape
        self.dtype = dtype
        self.name = name
        self.node = node
        self.value = value
        self.is_grad = is_grad
        self.origin = origin
        self.buffer: int | None = None
        self.flags: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<Term {self.name}: {self.op or self.role} {self.shape} {self.dtype}>"


def from_nodes(nodes: Sequence[Node]) -> tuple[list[Term], dict[Node, Term]]:
    """One term per node, in the same (topological) order."""
    terms: list[Term] = []
    term_of: dict[Node, Term] = {}
    for node in nodes:
        term = Term(node.role, node.shape, node.dtype, node.name, node.op,
                    tuple(term_of[p] for p in node.inputs), node,
                    node._value if node.role == CONSTANT else None, node.is_grad, node.origin)
        terms.append(term)
        term_of[node] = term
    return terms, term_of


def is_literal(term: Term) -> bool:
    """A constant of one element, which a fused kernel takes as a literal, not an array."""
    return term.role == CONSTANT and term.value is not None and term.value.size == 1


def constant_term(value: np.ndarray, like: Term) -> Term:
    """A constant term holding `value`, standing where `like` stood."""
    return Term(CONSTANT, value.shape, value.dtype, like.name, node=like.node, value=value,
                is_grad=like.is_grad, origin=like.origin)


def is_op(term: Term) -> bool:
    return term.role == OPERATION


def is_leaf_input(term: Term) -> bool:
    return term.role == INPUT
