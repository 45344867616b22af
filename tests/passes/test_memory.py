"""In-place execution, buffer sharing, readability of values, and steady-state runs
that allocate nothing."""

import tracemalloc

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import GorgonError


def chain(x, length=6):
    h = x
    for i in range(length):
        h = G.tanh(h) if i % 2 else h * 0.5
    return h


def flags_of(program) -> list[tuple[str, ...]]:
    return [ins.flags for ins in program.instructions if ins.kind == "exec"]


def buffers_of(program) -> int:
    return sum(1 for ins in program.instructions if ins.kind == "alloc")


def test_inplace_writes_over_dead_intermediates_never_over_inputs():
    g = G.Graph()
    x = G.vector(g, G.Float64, 5, name="x", value=np.linspace(-1, 1, 5))
    original = x.value.copy()
    out = chain(x)
    program, _ = G.compile(g, passes=("inplace",), readable="lean")
    flags = flags_of(program)
    assert "inplace" not in flags[0]
    assert all("inplace" in f for f in flags[1:])
    assert buffers_of(program) == 1
    G.TapeMachine(g, passes=()).run_all()
    expected = out.value.copy()
    G.TapeMachine(g, passes=("inplace",), readable="lean").run_all()
    np.testing.assert_array_equal(x.value, original)
    np.testing.assert_allclose(out.value, expected)


def test_a_named_node_keeps_its_value():
    g = G.Graph()
    x = G.vector(g, G.Float64, 4, name="x", value=np.arange(4.0))
    hidden = G.tanh(x * 0.5, name="hidden")
    out = G.exp(G.exp(hidden))
    machine = G.TapeMachine(g)
    machine.run_all()
    assert hidden.name == "hidden" and hidden.named
    np.testing.assert_allclose(hidden.value, np.tanh(np.arange(4.0) * 0.5))
    np.testing.assert_allclose(out.value, np.exp(np.exp(hidden.value)))


def test_sharing_reuses_dead_buffers_and_says_how_to_keep_an_overwritten_value():
    g = G.Graph()
    x = G.vector(g, G.Float64, 8, name="x", value=np.linspace(-2, 2, 8))
    first = G.tanh(x)
    middle = G.exp(first) + G.sin(x)
    out = G.sum(middle * G.cos(x))
    plain, _ = G.compile(g, passes=())
    shared, _ = G.compile(g, readable="lean")
    assert buffers_of(shared) < buffers_of(plain)
    assert any("shared" in f or "inplace" in f for f in flags_of(shared))
    machine = G.TapeMachine(g, readable="lean")
    machine.run_all()
    expected = np.sum((np.exp(np.tanh(x.value)) + np.sin(x.value)) * np.cos(x.value))
    np.testing.assert_allclose(out.value, expected)
    with pytest.raises(GorgonError, match=rf"'{first.name}' is not kept.*keep=\[node\]"):
        first.value
    G.TapeMachine(g, keep=[first], readable="lean").run_all()
    np.testing.assert_allclose(first.value, np.tanh(x.value))


def test_gradients_and_outputs_stay_readable_with_every_pass():
    g = G.Graph()
    w = G.matrix(g, G.Float64, (3, 4), name="w", value=np.random.default_rng(0).standard_normal((3, 4)))
    x = G.vector(g, G.Float64, 4, name="x", value=np.ones(4))
    cost = G.sum(G.tanh(w @ x) ** 2.0)
    dw, dx = G.grad(cost, w, x)
    G.TapeMachine(g, passes=()).run_all()
    expected = [cost.value.copy(), dw.value.copy(), dx.value.copy()]
    G.TapeMachine(g).run_all()
    for got, want in zip([cost.value, dw.value, dx.value], expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(w.grad, expected[1], rtol=1e-12)


def test_steady_state_runs_allocate_no_arrays():
    rng = np.random.default_rng(0)
    g = G.Graph()
    x = G.matrix(g, G.Float32, (64, 100), name="x", value=rng.standard_normal((64, 100)).astype(np.float32))
    w = G.matrix(g, G.Float32, (100, 50), name="w", value=rng.standard_normal((100, 50)).astype(np.float32))
    cost = G.mean(G.relu(x @ w) ** 2.0)
    G.grad(cost, w)
    machine = G.TapeMachine(g)
    machine.run_all()
    machine.run_all()
    tracemalloc.start()
    try:
        for _ in range(5):
            machine.run_all()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    smallest_array = 64 * 50 * 4
    assert peak < smallest_array, f"a steady-state run allocated {peak} bytes"
