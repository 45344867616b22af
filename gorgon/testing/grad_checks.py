"""Checks that run graphs: gradients against finite differences, the LispMachine against
the TapeMachine, float32 against float64, and gradients of gradients."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce

import numpy as np

from gorgon.errors import OpNotFound
from gorgon.grad import grad
from gorgon.node import Node
from gorgon.passes import PASSES
from gorgon.registry import registry
from gorgon.testing.build import Built, build, recast
from gorgon.testing.numeric import assert_close, numeric_gradients, pick, weights
from gorgon.testing.report import Mismatch, Skip
from gorgon.testing.samples import Sample
from gorgon.testing.target import Target
from gorgon.vm import LispMachine, TapeMachine

FD_RTOL, FD_ATOL = 1e-5, 1e-6
SECOND_RTOL, SECOND_ATOL = 1e-4, 1e-5
MACHINES_RTOL, MACHINES_ATOL = 1e-10, 1e-12
FLOAT32_RTOL, FLOAT32_ATOL = 1e-4, 1e-5


@dataclass(frozen=True)
class Run:
    """What the TapeMachine computed for a built sample: the op's value, and the
    gradients of the weighted `cost` wrt each wrt input (none when not differentiated)."""

    value: np.ndarray
    cost: Node | None
    grads: list[np.ndarray]


def why_not_differentiated(built: Built) -> str | None:
    """Why the kit checks no gradient for this built sample, or None when it does."""
    op = built.output.op
    if not op.differentiable:
        return f"op {op} is not differentiable"
    if not op.pure:
        return f"op {op} is impure: its values are not reproducible"
    if built.output.dtype.kind != "f":
        return f"its output is {built.output.dtype}, not a float"
    if not built.wrt:
        return "the sample has no float input to differentiate"
    try:
        registry.op("sum")
    except OpNotFound:
        return "op 'sum' is not registered yet (the kit builds its cost with it)"
    return None


def cost_of(node: Node, salt: int = 0) -> Node:
    """The scalar `sum(node * R)` for a fixed random R, with the registered sum and mul."""
    product = registry.function("mul")(node, weights(node.shape, node.dtype, salt))
    return registry.function("sum")(product)


def run_tape(built: Built, differentiate: bool, passes: Iterable[str] = PASSES) -> Run:
    """Run the built graph on a TapeMachine (with the given compile passes), with
    symbolic gradients of the cost when asked."""
    cost = cost_of(built.output) if differentiate else None
    grads = grad(cost, *built.wrt) if differentiate else []
    TapeMachine(built.graph, passes=passes, keep=[built.output]).run_all()
    return Run(built.output.value.copy(), cost, [g.value.copy() for g in grads])


def _differentiable_float64(built: Built) -> None:
    reason = why_not_differentiated(built)
    if reason is not None:
        raise Skip(reason)
    if any(w.dtype != np.float64 for w in built.wrt):
        raise Skip("gradients are checked on float64 samples")


def _compare_fd(what: str, symbolic: list[np.ndarray], cost: Node, wrt: list[Node],
                rtol: float, atol: float) -> None:
    for w, sym, (indices, estimates) in zip(wrt, symbolic, numeric_gradients(cost, wrt)):
        assert_close(f"{what} wrt {w.name!r} against central differences", pick(sym, indices),
                     estimates, rtol, atol, where=indices)


def check_gradient(target: Target, sample: Sample) -> None:
    """Symbolic gradients (G.grad, run on the TapeMachine) of `sum(op(...) * R)` match
    central finite differences."""
    built = build(target, sample)
    _differentiable_float64(built)
    run = run_tape(built, differentiate=True)
    _compare_fd("gradient", run.grads, run.cost, built.wrt, FD_RTOL, FD_ATOL)


def check_lisp_agrees(target: Target, sample: Sample) -> str | None:
    """The LispMachine computes the TapeMachine's value and gradients, and so does a
    TapeMachine compiled without any pass."""
    tape_built, lisp_built, plain_built = build(target, sample), build(target, sample), build(target, sample)
    reason = why_not_differentiated(lisp_built)
    if reason is None:
        machine = LispMachine(lisp_built.graph, cost=cost_of(lisp_built.output), wrt=lisp_built.wrt)
    else:
        machine = LispMachine(lisp_built.graph, forward_only=True)
    machine.run_all()
    if not lisp_built.output.op.pure:
        return f"values not compared: {reason}"
    tape = run_tape(tape_built, differentiate=reason is None)
    plain = run_tape(plain_built, differentiate=reason is None, passes=())
    assert_close("LispMachine value", lisp_built.output.value, tape.value, MACHINES_RTOL, MACHINES_ATOL)
    assert_close("TapeMachine value without passes", plain.value, tape.value, MACHINES_RTOL, MACHINES_ATOL)
    for w, tape_grad, plain_grad in zip(lisp_built.wrt, tape.grads, plain.grads):
        assert_close(f"LispMachine gradient wrt {w.name!r}", w.grad, tape_grad, MACHINES_RTOL,
                     MACHINES_ATOL)
        assert_close(f"TapeMachine gradient wrt {w.name!r} without passes", plain_grad, tape_grad,
                     MACHINES_RTOL, MACHINES_ATOL)
    return None if reason is None else f"gradients not compared: {reason}"


def check_float32(target: Target, sample: Sample) -> str | None:
    """With its floats made float32, the op computes in float32 what it computes in
    float64 (on the same, float32-representable inputs), gradients included (the grad
    engine already holds each gradient to its input's dtype)."""
    narrow, changed = recast(sample, np.float64, np.float32)
    if not changed:
        raise Skip("the sample has no float64 value to make float32")
    built32 = build(target, narrow)
    built64 = build(target, recast(narrow, np.float32, np.float64)[0])
    expected = np.dtype(np.float32) if built64.output.dtype == np.float64 else built64.output.dtype
    if built32.output.dtype != expected:
        raise Mismatch(f"with float32 inputs the node is {built32.output.dtype}, expected {expected}")
    reason = why_not_differentiated(built32)
    run32 = run_tape(built32, differentiate=reason is None)
    if not built32.output.op.pure:
        return f"values not compared: {reason}"
    run64 = run_tape(built64, differentiate=reason is None)
    assert_close("float32 value", run32.value, run64.value, FLOAT32_RTOL, FLOAT32_ATOL)
    for w, g32, g64 in zip(built32.wrt, run32.grads, run64.grads):
        assert_close(f"float32 gradient wrt {w.name!r}", g32, g64, FLOAT32_RTOL, FLOAT32_ATOL)
    return None if reason is None else f"gradients not compared: {reason}"


def check_second_order(target: Target, sample: Sample) -> None:
    """Gradients of `sum(grad_i * S_i)` (grad-of-grad) match central differences of the
    first gradients. An op class or a sample sets `second_order = False` to opt out."""
    built = build(target, sample)
    _differentiable_float64(built)
    if not sample.second_order or not getattr(built.output.op, "second_order", True):
        raise Skip("the op or the sample opts out of the second-order check")
    first = grad(cost_of(built.output), *built.wrt)
    total = reduce(registry.function("add"), (cost_of(g, salt) for salt, g in enumerate(first, 1)))
    second = grad(total, *built.wrt, allow_unused=True)
    TapeMachine(built.graph).run_all()
    _compare_fd("second-order gradient", [s.value.copy() for s in second], total, built.wrt,
                SECOND_RTOL, SECOND_ATOL)
