"""Rewriting by rules that plugins register (numerically stabilising forms such as
log(1 + x) -> log1p(x)): the core applies rules, it knows no op.

The rules run twice: when a node is built (`stable_form`, called by `G.apply`, as
Gorgonia's constructors do), so that `G.grad` differentiates the stable form and both
machines run it whatever the passes; and in the compiler's `rewrite` pass over terms,
which also applies rules that return an existing term (such as -(-x) -> x). At build
time those are left to the compiler: every call builds a node of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from gorgon.errors import GorgonError
from gorgon.node import CONSTANT, OPERATION, Node
from gorgon.passes.ir import Term, is_op
from gorgon.types import Shaped, TensorType

Rule = Callable[[Any, Any], Any]
ROUNDS = 8
_depth = threading.local()


class RuleContext:
    """What every rule context offers: questions about the term a rule looks at."""

    @staticmethod
    def is_constant(term: Any, value: float) -> bool:
        """Whether `term` is a constant whose every element equals `value`."""
        return term.role == CONSTANT and term.value is not None and bool(np.all(term.value == value))

    @staticmethod
    def is_op(term: Any, name: str) -> bool:
        """Whether `term` is computed by the op named `name`."""
        return term.op is not None and term.op.name == name


class RewriteContext(RuleContext):
    """What a rule gets in the compiler besides the term it looks at: a way to build new terms."""

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


class Pending(Shaped):
    """The node `G.apply` is about to build, as a rule sees it: op, inputs, shape and
    dtype, not yet in the graph."""

    __slots__ = ("op", "inputs", "shape", "dtype", "name", "role", "value")

    def __init__(self, op: Any, inputs: tuple[Node, ...], out_type: TensorType):
        self.op = op
        self.inputs = inputs
        self.shape = out_type.shape
        self.dtype = out_type.dtype
        self.name = f"{op.name} (being built)"
        self.role = OPERATION
        self.value = None


class BuildContext(RuleContext):
    """What a rule gets when a node is built: new nodes are built in the same graph
    (and are themselves rewritten)."""

    def __init__(self, graph: Any, like: Pending):
        self.graph = graph
        self.like = like

    def make(self, op_name: str, *inputs: Node, **params: Any) -> Node:
        """A new node `op_name{params}(*inputs)`."""
        from gorgon.op import apply
        from gorgon.registry import registry

        return apply(registry.op(op_name)(**params), *inputs, graph=self.graph)

    def constant(self, value: Any, dtype: np.dtype) -> Node:
        """A new constant node."""
        from gorgon.op import constant

        return constant(value, self.graph, dtype)


def stable_form(graph: Any, op: Any, inputs: tuple[Node, ...], out_type: TensorType) -> Node | None:
    """The node that the first matching rule builds in place of `op(*inputs)`, or None
    when no rule builds a new one (rules returning an existing node are the compiler's)."""
    from gorgon.registry import registry

    depth = getattr(_depth, "value", 0)
    if depth >= ROUNDS:
        return None
    pending = Pending(op, inputs, out_type)
    context = BuildContext(graph, pending)
    first_new = len(graph.nodes)
    _depth.value = depth + 1
    try:
        for name, rule in registry.rewrite_rules():
            result = rule(pending, context)
            if result is None or result is pending:
                continue
            _check_type(name, pending, result, Node)
            if result.graph is graph and result.id >= first_new:
                graph.bypassed.update(inputs)
                return result
    finally:
        _depth.value = depth
    return None


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
            _check_type(name, term, result, Term)
            return result
    return None


def _check_type(name: str, term: Any, result: Any, kind: type) -> None:
    if not isinstance(result, kind):
        raise GorgonError(f"rewrite rule {name!r} returned {type(result).__name__} {result!r} for "
                          f"{term.op}, not a {kind.__name__.lower()}")
    if result.shape != term.shape or result.dtype != term.dtype:
        raise GorgonError(f"rewrite rule {name!r} turned {term.op} {term.shape} {term.dtype} "
                          f"into {result.op or result.role} {result.shape} {result.dtype}")
