"""Issue 10 item 9: after a LispMachine run `.grad` is that run's gradient; the machine
computes only what the cost and outputs need; several scalar sinks without cost= is a
clear error."""

import numpy as np
import pytest

import gorgon as G


def test_grad_is_this_runs_gradient_never_an_earlier_symbolic_one():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.array([1.0, 2.0, 3.0]))
    v = G.vector(g, G.Float64, 3, name="v", value=np.array([4.0, 5.0, 6.0]))
    (dx,) = G.grad(G.sum(x * v), x)
    G.LispMachine(g, cost=G.sum(dx * 10.0), wrt=[x, v]).run_all()
    np.testing.assert_array_equal(x.grad, np.zeros(3))
    np.testing.assert_array_equal(v.grad, np.full(3, 10.0))


def test_a_wrt_the_cost_does_not_reach_gets_zeros_of_its_shape_and_dtype():
    g = G.Graph()
    a = G.matrix(g, G.Float32, (2, 3), name="a", value=np.ones((2, 3), np.float32))
    b = G.scalar(g, G.Float32, name="b", value=np.float32(2.0))
    cost = b * b
    G.LispMachine(g, cost=cost, wrt=[a, b]).run_all()
    assert a.grad.dtype == np.float32 and a.grad.shape == (2, 3) and not a.grad.any()
    assert b.grad == 4.0


def count_run(machine: type, graph: G.Graph, **options) -> int:
    lines = []
    machine(graph, trace=lines.append, **options).run_all()
    return len(lines)


def test_a_graph_grown_by_a_loss_per_batch_runs_only_the_current_loss():
    """The executed-node count per batch stays the same as the graph grows."""
    g = G.Graph()
    w = G.vector(g, G.Float64, 4, name="w", value=np.full(4, 0.5))
    counts, values = [], []
    for batch in range(30):
        x = G.vector(g, G.Float64, 4, name=f"x{batch}", value=np.full(4, float(batch)))
        loss = G.sum(G.tanh(x * w) ** 2)
        lines = []
        G.LispMachine(g, cost=loss, wrt=[w], trace=lines.append).run_all()
        counts.append(len(lines))
        values.append(float(loss.value))
        expected = np.tanh(np.full(4, 0.5 * batch))
        np.testing.assert_allclose(w.grad, 2 * expected * (1 - expected ** 2) * batch)
    assert len(set(counts)) == 1, f"executed nodes grew with the graph: {counts}"
    assert len(g.nodes) > 10 * counts[0]


def test_outputs_limit_the_run_to_what_they_need():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    wanted = G.exp(x)
    unwanted = G.sum(G.log(x + 1.0) * 2.0)
    lines = []
    G.LispMachine(g, outputs=[wanted], forward_only=True, trace=lines.append).run_all()
    assert len(lines) == 1 and "exp" in lines[0]
    np.testing.assert_allclose(wanted.value, np.exp(np.arange(3.0)))
    assert unwanted.value is None
    assert count_run(G.LispMachine, g, forward_only=True) == 5
    assert unwanted.value == pytest.approx(2 * np.log([1.0, 2.0, 3.0]).sum())


def test_cost_and_outputs_run_both_and_differentiate_the_cost():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    metric = G.max(x)
    cost = G.sum(x * x)
    G.sum(G.sin(x))
    G.LispMachine(g, cost=cost, outputs=[metric]).run_all()
    assert metric.value == 2.0 and cost.value == 5.0
    np.testing.assert_array_equal(x.grad, 2 * np.arange(3.0))


def test_several_scalar_sinks_and_no_cost_is_an_error_saying_cost_must_be_given():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    G.sum(x * x, name="loss")
    G.mean(x, name="metric")
    with pytest.raises(G.GradError, match=r"2 float scalar sinks \('loss', 'metric'\): pass cost="):
        G.LispMachine(g).run_all()
    assert x.grad is None
    G.LispMachine(g, cost=g.by_name("loss")).run_all()
    np.testing.assert_array_equal(x.grad, 2 * np.arange(3.0))


def test_g_function_on_the_lisp_machine_computes_only_its_results():
    calls = []

    @G.function(machine=G.LispMachine, forward_only=True, trace=calls.append)
    def head(x):
        G.sum(G.exp(x) * 3.0)
        return x * 2.0

    np.testing.assert_array_equal(head(np.arange(3.0)), 2 * np.arange(3.0))
    assert len(calls) == 1
