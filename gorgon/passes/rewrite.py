"""Rewriting by rules that plugins register (numerically stabilising forms such as
log(1 + x) -> log1p(x)): the core applies rules, it knows no op."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gorgon.errors import GorgonError
from gorgon.node import CONSTANT, OPERATION
from gorgon.passes.ir import Term, is_op
from gorgon.types import TensorType

Rule = Callable[[Term, "RewriteContext"], "Term | None"]
ROUNDS = 8


class RewriteContext:
    """What a rule gets besides the term it looks at: a way to build new terms."""

    def __init__(self, emit: Callable[[Term], None], like: Term):
        self._emit = emit
        self.like = like

    def make(self, op_name: str, *inputs: Term, **params: Any) -> Term:
        """A new term `op_name{params}(*inputs)`, inferred like a node would be."""
        from gorgon.registry import registry

        op = registry.op(op_name)(**params)
        out_type: TensorType = op.infer(*inputs)
        term = Term(OPERATION, out_type.shape, out_type.dtype, self.like.name, op, tuple(inputs),
                    is_grad=self.like.is_grad, origin=self.like.origin)
        self._emit(term)
        return term

    def constant(self, value: Any, dtype: np.dtype) -> Term:
        """A new constant term."""
        array = np.array(value, dtype=dtype)
        term = Term(CONSTANT, array.shape, array.dtype, f"{self.like.name}_const", value=array,
                    is_grad=self.like.is_grad, origin=self.like.origin)
        self._emit(term)
        return term

    @staticmethod
    def is_constant(term: Term, value: float) -> bool:
        """Whether `term` is a constant whose every element equals `value`."""
        return term.role == CONSTANT and term.value is not None and bool(np.all(term.value == value))

    @staticmethod
    def is_op(term: Term, name: str) -> bool:
        """Whether `term` is computed by the op named `name`."""
        return term.op is not None and term.op.name == name


def rewrite(terms: list[Term], resolve: Callable[[Term], Term], replace: Callable[[Term, Term], None],
            rules: list[tuple[str, Rule]]) -> list[Term]:
    """Apply every rule to every op term, bottom-up, until none matches."""
    out: list[Term] = []
    emitted: set[int] = set()

    def emit(term: Term) -> None:
        out.append(term)
        emitted.add(id(term))

    for term in terms:
        term.inputs = tuple(resolve(t) for t in term.inputs)
        current = term
        for _ in range(ROUNDS):
            if not is_op(current):
                break
            result = _first_match(current, rules, RewriteContext(emit, current))
            if result is None:
                break
            replace(current, result)
            current = result
        if id(current) not in emitted:
            emit(current)
    return out


def _first_match(term: Term, rules: list[tuple[str, Rule]], context: RewriteContext) -> Term | None:
    for name, rule in rules:
        result = rule(term, context)
        if result is not None and result is not term:
            if result.shape != term.shape or result.dtype != term.dtype:
                raise GorgonError(f"rewrite rule {name!r} turned {term.op} {term.shape} {term.dtype} "
                                  f"into {result.op or result.role} {result.shape} {result.dtype}")
            return result
    return None
