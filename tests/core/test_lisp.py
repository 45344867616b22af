"""LispMachine: dynamic runs, backpropagation on values, and its options."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import BindError, ExecutionError, GradError, InfError, NaNError
from gorgon.infer import elementwise


def elementwise_net(seed: int = 0):
    """A small two-layer net of elementwise ops: the graph, its leaves and its (3,) output."""
    rng = np.random.default_rng(seed)
    g = G.Graph()
    x = G.vector(g, G.Float64, (3,), name="x", value=rng.normal(size=3))
    w1 = G.vector(g, G.Float64, (3,), name="w1", value=rng.normal(size=3))
    b1 = G.scalar(g, G.Float64, name="b1", value=0.1)
    w2 = G.vector(g, G.Float64, (3,), name="w2", value=rng.normal(size=3))
    h = G.tanh(x * w1 + b1)
    out = G.sigmoid(h * w2) * G.exp(h * 0.5)
    cost = G.where(G.gt(out, 0.5), out, out * out)
    return g, (x, w1, b1, w2), cost


def test_lisp_and_tape_agree_on_values_and_gradients_elementwise():
    g, leaves, out = elementwise_net()
    seed = G.constant(np.array([1.0, -2.0, 0.5]), g, name="seed")
    grads = G.grad(out, *leaves, grad_output=seed)
    G.TapeMachine(g).run_all()
    tape_out, tape_grads = out.value.copy(), [d.value.copy() for d in grads]
    G.LispMachine(g).run_all()
    np.testing.assert_allclose(out.value, tape_out)
    for leaf, expected in zip(leaves, tape_grads):
        np.testing.assert_allclose(leaf.grad, expected)


def test_lisp_autodiff_agrees_with_symbolic_gradients_on_an_mlp(needs_ops):
    needs_ops("matmul", "sum")
    rng = np.random.default_rng(1)
    g = G.Graph()
    x = G.matrix(g, G.Float64, (4, 3), name="x", value=rng.normal(size=(4, 3)))
    w = G.matrix(g, G.Float64, (3, 2), name="w", value=rng.normal(size=(3, 2)))
    b = G.vector(g, G.Float64, (2,), name="b", value=rng.normal(size=2))
    cost = G.sum(G.sigmoid(x @ w + b))
    G.LispMachine(g).run_all()
    lisp = {leaf: leaf.grad.copy() for leaf in (x, w, b)}
    assert lisp[b].shape == (2,)
    dw, db = G.grad(cost, w, b)
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(dw.value, lisp[w])
    np.testing.assert_allclose(db.value, lisp[b])


def test_graphs_that_grow_between_runs():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=0.5)
    m = G.LispMachine(g)
    state = x
    for step in range(1, 4):
        state = G.tanh(state * 2.0)
        m.run_all()
        assert state.value == pytest.approx(_tanh_chain(0.5, step))
        assert x.grad == pytest.approx(_chain_slope(0.5, step), rel=1e-6)


def _tanh_chain(x: float, steps: int) -> float:
    for _ in range(steps):
        x = float(np.tanh(2.0 * x))
    return x


def _chain_slope(x: float, steps: int, eps: float = 1e-6) -> float:
    return (_tanh_chain(x + eps, steps) - _tanh_chain(x - eps, steps)) / (2 * eps)


def scalar_net():
    g = G.Graph()
    a = G.scalar(g, G.Float64, name="a", value=0.3)
    b = G.scalar(g, G.Float64, name="b", value=-1.2)
    cost = G.sigmoid(a * b) + G.tanh(b) * G.exp(a * 0.5)
    return g, (a, b), cost


def test_forward_only_then_backward_only():
    g, leaves, cost = scalar_net()
    with pytest.raises(BindError, match="needs a forward run"):
        G.LispMachine(g, backward_only=True).run_all()
    G.LispMachine(g, forward_only=True).run_all()
    assert cost.value is not None and leaves[0].grad is None
    backward = G.LispMachine(g, backward_only=True)
    backward.run_all()
    after_lisp = [leaf.grad for leaf in leaves]
    G.LispMachine(g).run_all()
    assert [leaf.grad for leaf in leaves] == after_lisp
    G.TapeMachine(g, passes=()).run_all()
    backward.run_all()
    assert [leaf.grad for leaf in leaves] == after_lisp


def test_backward_only_needs_the_forward_values_of_the_nodes_it_differentiates():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=1.0)
    G.LispMachine(g, forward_only=True).run_all()
    y = G.exp(x)
    with pytest.raises(BindError, match=rf"'{y.name}' has no forward value"):
        G.LispMachine(g, backward_only=True, cost=y).run_all()
    with pytest.raises(ValueError, match="exclude each other"):
        G.LispMachine(g, forward_only=True, backward_only=True)


def test_cost_and_wrt_options():
    g = G.Graph()
    a = G.scalar(g, G.Float64, name="a", value=2.0)
    b = G.scalar(g, G.Float64, name="b", value=3.0)
    ab, a2 = a * b, a * a
    G.LispMachine(g, cost=ab, wrt=[b]).run_all()
    assert (b.grad, a.grad) == (2.0, None)
    G.LispMachine(g, cost=a2).run_all()
    assert (a.grad, b.grad) == (4.0, None)
    v = G.vector(g, G.Float64, (2,), name="v", value=np.ones(2))
    with pytest.raises(GradError, match="'v' must be a float scalar"):
        G.LispMachine(g, cost=v).run_all()


def test_default_cost_is_the_one_float_scalar_sink():
    g = G.Graph()
    a = G.scalar(g, G.Float64, name="a", value=2.0)
    sink = G.exp(a) * 3.0
    G.LispMachine(g).run_all()
    assert a.grad == pytest.approx(3.0 * np.exp(2.0))
    other = a * a
    with pytest.raises(GradError, match="2 float scalar sinks .*pass cost="):
        G.LispMachine(g).run_all()
    G.LispMachine(g, forward_only=True).run_all()
    assert a.grad is None and other.value == 4.0 and sink.value is not None
    with pytest.raises(GradError, match="pass cost="):
        G.LispMachine(g, backward_only=True).run_all()


def test_default_cost_is_the_cost_g_grad_was_given():
    g = G.Graph()
    a = G.scalar(g, G.Float64, name="a", value=2.0)
    cost = a * a * a
    a * 5.0
    (da,) = G.grad(cost, a)
    G.LispMachine(g).run_all()
    assert a.grad == 12.0 and da.value == 12.0


def test_bind_dual_values_keeps_every_intermediate_gradient():
    g = G.Graph()
    a = G.scalar(g, G.Float64, name="a", value=2.0)
    h = a * 3.0
    cost = G.square(h)
    G.LispMachine(g).run_all()
    assert h.grad is None
    G.LispMachine(g, bind_dual_values=True).run_all()
    assert (h.grad, a.grad, cost.grad) == (12.0, 36.0, 1.0)


@pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")
def test_watch_nan_and_inf_in_gradients():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=0.0)
    G.sqrt(x) * 2.0
    G.LispMachine(g).run_all()
    assert np.isinf(x.grad)
    with pytest.raises(InfError, match="infinity in the gradient of node 'x'"):
        G.LispMachine(g, watch_inf=True).run_all()
    h = G.Graph()
    y = G.scalar(h, G.Float64, name="y", value=0.0)
    G.sqrt(y) * 0.0
    with pytest.raises(NaNError, match="NaN in the gradient of node 'y'"):
        G.LispMachine(h, watch_nan=True).run_all()


class _Liar(G.Op):
    """Infers its input's shape but returns one more element."""

    name = "test_liar"

    def infer(self, x):
        return elementwise(self, x)

    def forward(self, x, out=None):
        return np.append(x, 0.0)


def test_a_kernel_disagreeing_with_inference_is_an_execution_error():
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.ones(2))
    G.apply(_Liar(), x)
    with pytest.raises(ExecutionError, match=r"test_liar returned \(3,\) float64.*inferred type is \(2,\)"):
        G.LispMachine(g).run_all()


def test_reset_forgets_values_and_gradients():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=1.0)
    y = G.exp(x)
    m = G.LispMachine(g)
    m.run_all()
    assert y.value == pytest.approx(np.e) and x.grad == pytest.approx(np.e)
    m.reset()
    assert y.value is None and x.grad is None and x.value == 1.0
    assert repr(m) == "<LispMachine over 2 nodes>"
    with pytest.raises(TypeError, match="needs a G.Graph"):
        G.LispMachine(None)
    with pytest.raises(TypeError, match="cost and wrt must be nodes of its graph"):
        G.LispMachine(g, cost="y")
    with pytest.raises(ValueError, match="wrt node 'x' belongs to another graph"):
        G.LispMachine(G.Graph(), wrt=[x])


def test_unbound_input_and_symbolic_gradients_on_a_forward_only_run():
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x")
    (dx,) = G.grad(x * x, x)
    m = G.LispMachine(g, forward_only=True)
    with pytest.raises(BindError, match="input 'x' has no value"):
        m.run_all()
    G.let(x, 3.0)
    m.run_all()
    assert x.grad is None and dx.value is None
    G.LispMachine(g, wrt=[]).run_all()
    assert x.grad is None and dx.value == 6.0  # .grad is the run's own gradient, never dx's value
