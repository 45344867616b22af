"""Einsum from gorgon's primitives: each
operand first sums the letters only it has and the output lacks, then two operands meet
in one batched matmul over (shared kept letters, own letters, contracted letters)."""

from __future__ import annotations

import math

import gorgon as G
from gorgon import Node
from gorgon_onnx.errors import UnsupportedError


def _parse(equation: str, count: int) -> tuple[list[str], str]:
    equation = equation.replace(" ", "")
    if "." in equation:
        raise UnsupportedError(f"Einsum {equation!r}: ellipses are not supported", [("Einsum", equation)])
    left, _, right = equation.partition("->")
    terms = left.split(",")
    if len(terms) != count:
        raise UnsupportedError(f"Einsum {equation!r} names {len(terms)} operands, got {count}",
                               [("Einsum", equation)])
    if not _:
        right = "".join(sorted(c for c in set(left) - {","} if left.count(c) == 1))
    for term in terms:
        if len(set(term)) != len(term):
            raise UnsupportedError(f"Einsum {equation!r}: repeated letters in one operand (diagonals) "
                                   "are not supported", [("Einsum", equation)])
    return terms, right


def _reduce(x: Node, term: str, keep: set[str]) -> tuple[Node, str]:
    axes = tuple(i for i, c in enumerate(term) if c not in keep)
    if not axes:
        return x, term
    return G.sum(x, axis=axes), "".join(c for c in term if c in keep)


def _permute(x: Node, term: str, order: str) -> Node:
    if term == order:
        return x
    return G.transpose(x, axes=tuple(term.index(c) for c in order))


def _pair(a: Node, ta: str, b: Node, tb: str, keep: set[str]) -> tuple[Node, str]:
    batch = "".join(c for c in ta if c in tb and c in keep)
    contract = "".join(c for c in ta if c in tb and c not in keep)
    own_a = "".join(c for c in ta if c not in tb)
    own_b = "".join(c for c in tb if c not in ta)
    size = dict(zip(ta, a.shape)) | dict(zip(tb, b.shape))
    dims = lambda letters: math.prod(size[c] for c in letters)  # noqa: E731
    a3 = G.reshape(_permute(a, ta, batch + own_a + contract), (dims(batch), dims(own_a), dims(contract)))
    b3 = G.reshape(_permute(b, tb, batch + contract + own_b), (dims(batch), dims(contract), dims(own_b)))
    product = G.matmul(a3, b3)
    term = batch + own_a + own_b
    return G.reshape(product, tuple(size[c] for c in term)), term


def einsum(equation: str, operands: list[Node]) -> Node:
    """`numpy.einsum(equation, *operands)` as gorgon nodes."""
    terms, output = _parse(equation, len(operands))
    current, term = operands[0], terms[0]
    rest = list(zip(operands[1:], terms[1:]))
    later = lambda i: set(output).union(*[set(t) for _, t in rest[i:]])  # noqa: E731
    current, term = _reduce(current, term, later(0))
    for i, (operand, other) in enumerate(rest):
        keep = later(i + 1)
        operand, other = _reduce(operand, other, keep | set(term))
        current, term = _pair(current, term, operand, other, keep)
    return _permute(current, term, output)
