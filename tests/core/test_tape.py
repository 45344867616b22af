"""TapeMachine: compile once, run many; bindings, recompiling, reset and options."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import BindError


def model():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.array([0.5, -1.0]))
    w = G.vector(g, G.Float64, (2,), name="w", value=np.array([2.0, 3.0]))
    h = x * w
    y = G.tanh(h)
    dw, dx = G.grad(y, w, x, grad_output=G.constant(np.ones(2), g, name="seed"))
    return g, x, w, h, y, dw, dx


def test_values_and_gradients_are_readable_after_a_run_and_reset_forgets_them():
    g, x, w, h, y, dw, dx = model()
    m = G.TapeMachine(g)
    assert y.value is None and w.grad is None
    m.run_all()
    np.testing.assert_allclose(y.value, np.tanh([1.0, -3.0]))
    np.testing.assert_allclose(w.grad, (1 - np.tanh([1.0, -3.0]) ** 2) * [0.5, -1.0])
    np.testing.assert_allclose(x.grad, (1 - np.tanh([1.0, -3.0]) ** 2) * [2.0, 3.0])
    assert w.grad is dw.value and h.grad is None
    m.reset()
    assert y.value is None and w.grad is None and dw.value is None
    assert x.value.tolist() == [0.5, -1.0]
    assert repr(m) == f"<TapeMachine {sum(n.op is not None for n in g.nodes)} ops>"


def test_a_new_binding_is_picked_up_without_recompiling():
    g, x, w, h, y, dw, dx = model()
    m = G.TapeMachine(g, keep=[h])
    program = m.program
    m.run_all()
    G.let(x, np.array([1.0, 1.0]))
    m.run_all()
    assert m.program is program
    np.testing.assert_allclose(h.value, [2.0, 3.0])


def test_an_in_place_update_of_the_bound_array_is_seen_by_the_next_run():
    g, x, w, h, y, dw, dx = model()
    m = G.TapeMachine(g, keep=[h])
    m.run_all()
    w.value[:] = [10.0, 20.0]
    m.run_all()
    np.testing.assert_allclose(h.value, [5.0, -20.0])


def test_a_graph_changed_after_compile_is_recompiled_on_the_next_run():
    g, x, w, h, y, dw, dx = model()
    m = G.TapeMachine(g)
    m.run_all()
    program = m.program
    z = G.exp(h)
    assert z.value is None
    m.run_all()
    assert m.program is not program and z in m.locmap
    np.testing.assert_allclose(z.value, np.exp([1.0, -3.0]))


def test_an_unbound_input_is_a_bind_error_until_bound():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x")
    y = x * 2.0
    m = G.TapeMachine(g)
    with pytest.raises(BindError, match=r"input 'x' has no value.*built at .*test_tape.py:\d+"):
        m.run_all()
    G.let(x, [1.0, 2.0])
    m.run_all()
    assert y.value.tolist() == [2.0, 4.0]


def test_forward_only_does_not_run_gradients():
    g, x, w, h, y, dw, dx = model()
    m = G.TapeMachine(g, forward_only=True)
    m.run_all()
    assert y.value is not None and dw.value is None and w.grad is None


def test_outputs_runs_only_what_they_need():
    g, x, w, h, y, dw, dx = model()
    m = G.TapeMachine(g, outputs=[h])
    m.run_all()
    assert h.value.tolist() == [1.0, -3.0] and y.value is None


def test_bind_dual_values_makes_every_intermediate_gradient_readable():
    g, x, w, h, y, dw, dx = model()
    G.TapeMachine(g).run_all()
    assert h.grad is None
    G.TapeMachine(g, bind_dual_values=True).run_all()
    np.testing.assert_allclose(h.grad, 1 - np.tanh([1.0, -3.0]) ** 2)


def test_the_values_read_are_those_of_the_machine_that_ran_last():
    g, x, w, h, y, dw, dx = model()
    full, forward = G.TapeMachine(g), G.TapeMachine(g, forward_only=True)
    full.run_all()
    forward.run_all()
    assert dw.value is None
    full.run_all()
    assert dw.value is not None


def test_a_machine_needs_a_graph():
    with pytest.raises(TypeError, match="needs a G.Graph"):
        G.TapeMachine("graph")
