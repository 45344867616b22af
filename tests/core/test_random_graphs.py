"""Random graphs of elementwise core ops over 1-3 float64 inputs of small broadcastable
shapes: symbolic gradients (TapeMachine), LispMachine autodiff and central finite
differences agree, and both machines compute the same values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gorgon as G
from gorgon.passes import PASSES
from gorgon.registry import registry

registry.load()
pytestmark = pytest.mark.skipif("sum" not in registry.ops, reason="op sum is not registered yet")

UNARY = {
    "tanh": G.ops.tanh,
    "sigmoid": G.ops.sigmoid,
    "sin": G.ops.sin,
    "cos": G.ops.cos,
    "square": G.ops.square,
    "neg": lambda a: -a,
    "exp_of_small": lambda a: G.exp(G.tanh(a)),
    "scale": lambda a: a * 0.7,
    "shift": lambda a: 1.5 - a,
}
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}
BASES = [(), (3,), (2, 3), (3, 1), (2, 1, 2)]


@st.composite
def input_shapes(draw) -> list[tuple[int, ...]]:
    """1-3 shapes that broadcast together: suffixes of one base shape, some dims set to 1."""
    base = draw(st.sampled_from(BASES))
    shapes = []
    for _ in range(draw(st.integers(1, 3))):
        kept = base[draw(st.integers(0, len(base))):]
        ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        shapes.append(tuple(1 if one else dim for dim, one in zip(kept, ones)))
    return shapes


def build(data, shapes: list[tuple[int, ...]], rng: np.random.Generator):
    g = G.Graph()
    inputs = [G.tensor(g, G.Float64, shape, name=f"x{i}", value=rng.uniform(-1, 1, shape))
              for i, shape in enumerate(shapes)]
    pool = list(inputs)
    for _ in range(data.draw(st.integers(1, 6), label="ops")):
        if len(pool) > 1 and data.draw(st.booleans(), label="binary"):
            name = data.draw(st.sampled_from(sorted(BINARY)), label="op")
            a, b = (data.draw(st.sampled_from(pool), label="operand") for _ in range(2))
            pool.append(BINARY[name](a, b))
        else:
            name = data.draw(st.sampled_from(sorted(UNARY)), label="op")
            pool.append(UNARY[name](data.draw(st.sampled_from(pool), label="operand")))
    out = pool[-1]
    cost = G.sum(out * rng.uniform(-1, 1, out.shape))
    return g, inputs, out, cost


def finite_differences(g: G.Graph, inputs: list[G.Node], cost: G.Node, eps: float = 1e-6):
    """Central differences of cost, perturbing each bound array in place."""
    machine = G.TapeMachine(g, outputs=[cost])
    result = []
    for x in inputs:
        slope = np.zeros(x.shape)
        for index in np.ndindex(*x.shape):
            saved = x.value[index]
            x.value[index] = saved + eps
            machine.run_all()
            up = float(cost.value)
            x.value[index] = saved - eps
            machine.run_all()
            slope[index] = (up - float(cost.value)) / (2 * eps)
            x.value[index] = saved
        result.append(slope)
    return result


@settings(max_examples=30, deadline=None)
@given(shapes=input_shapes(), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_symbolic_autodiff_and_finite_differences_agree(shapes, seed, data):
    g, inputs, out, cost = build(data, shapes, np.random.default_rng(seed))
    symbolic = G.grad(cost, *inputs, allow_unused=True)
    G.TapeMachine(g, keep=[out]).run_all()
    tape_out = out.value.copy()
    tape_grads = [d.value.copy() for d in symbolic]
    for x, gradient in zip(inputs, tape_grads):
        assert gradient.shape == x.shape and x.grad is not None
    for passes in [()] + [tuple(p for p in PASSES if p != off) for off in PASSES]:
        G.TapeMachine(g, keep=[out], passes=passes).run_all()
        np.testing.assert_allclose(out.value, tape_out, rtol=1e-12, atol=1e-12)
        for d, tape in zip(symbolic, tape_grads):
            np.testing.assert_allclose(d.value, tape, rtol=1e-12, atol=1e-12)

    G.LispMachine(g, cost=cost, wrt=inputs).run_all()
    np.testing.assert_allclose(out.value, tape_out, rtol=1e-12, atol=1e-12)
    lisp_grads = [np.zeros(x.shape) if x.grad is None else x.grad for x in inputs]
    for lisp, tape in zip(lisp_grads, tape_grads):
        np.testing.assert_allclose(lisp, tape, rtol=1e-10, atol=1e-12)

    numeric = finite_differences(g, inputs, cost)
    scale = max(1.0, *(float(np.abs(t).max(initial=0.0)) for t in tape_grads))
    for approx, tape in zip(numeric, tape_grads):
        np.testing.assert_allclose(approx, tape, rtol=1e-5, atol=1e-6 * scale)
