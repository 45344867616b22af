"""batch_norm: batch statistics and in-place running-statistics updates in training,
running statistics in evaluation, for (N, C) and NCHW inputs, with gradients (first and
second order) on both machines in both modes."""

import numpy as np
import pytest

import gorgon as G
from nn_helpers import MACHINES, forward_value, numeric_grad, run, weighted_sum

rng = np.random.default_rng(2)
EPS = 1e-5


def reference(x, scale, shift, mean, var):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    normalised = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + EPS)
    return normalised * scale.reshape(shape) + shift.reshape(shape)


def batch_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def norm_graph(shape, dtype=G.Float64, momentum=0.1):
    channels = shape[1]
    g = G.Graph()
    x = G.tensor(g, dtype, shape, name="x", value=rng.standard_normal(shape).astype(dtype) * 3 + 1)
    scale = G.vector(g, dtype, channels, name="scale", value=rng.uniform(0.5, 2, channels).astype(dtype))
    shift = G.vector(g, dtype, channels, name="shift", value=rng.standard_normal(channels).astype(dtype))
    mean = G.vector(g, dtype, channels, name="running_mean", value=np.zeros(channels, dtype))
    var = G.vector(g, dtype, channels, name="running_var", value=np.ones(channels, dtype))
    y = G.batch_norm(x, scale, shift, mean, var, momentum=momentum, eps=EPS)
    return g, (x, scale, shift, mean, var), y


@pytest.mark.parametrize("dtype", [G.Float64, G.Float32])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 5)], ids=["NC", "NCHW"])
def test_training_normalises_with_the_batch_statistics(shape, dtype):
    g, (x, scale, shift, _, _), y = norm_graph(shape, dtype)
    G.TapeMachine(g, outputs=[y]).run_all()
    data = x.value.astype(np.float64)
    axes = batch_axes(data)
    expected = reference(data, scale.value, shift.value, data.mean(axis=axes), data.var(axis=axes))
    assert y.value.dtype == dtype
    np.testing.assert_allclose(y.value, expected, rtol=1e-4 if dtype == G.Float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("kind", MACHINES)
def test_each_training_run_updates_the_running_statistics_in_place(kind):
    g, (x, _, _, mean, var), y = norm_graph((6, 3, 2, 2), momentum=0.2)
    arrays = (mean.value, var.value)
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    machine = G.TapeMachine(g, outputs=[y]) if kind == "tape" else G.LispMachine(g, forward_only=True)
    for _ in range(3):
        batch = rng.standard_normal(x.shape) * 2 + 5
        G.let(x, batch)
        machine.run_all()
        expected_mean = 0.8 * expected_mean + 0.2 * batch.mean(axis=(0, 2, 3))
        expected_var = 0.8 * expected_var + 0.2 * batch.var(axis=(0, 2, 3), ddof=1)
        np.testing.assert_allclose(mean.value, expected_mean, rtol=1e-12)
        np.testing.assert_allclose(var.value, expected_var, rtol=1e-12)
    assert mean.value is arrays[0] and var.value is arrays[1]


@pytest.mark.parametrize("switch", ["graph", "machine"])
def test_evaluation_uses_and_keeps_the_running_statistics(switch):
    g, (x, scale, shift, mean, var), y = norm_graph((5, 4))
    mean.value[...] = rng.standard_normal(4)
    var.value[...] = rng.uniform(0.5, 3, 4)
    before = mean.value.copy(), var.value.copy()
    machine = G.TapeMachine(g, outputs=[y])
    if switch == "graph":
        g.eval()
    else:
        machine.eval()
    machine.run_all()
    np.testing.assert_allclose(y.value, reference(x.value, scale.value, shift.value, mean.value, var.value),
                               rtol=1e-12)
    np.testing.assert_array_equal(mean.value, before[0])
    np.testing.assert_array_equal(var.value, before[1])


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("training", [True, False], ids=["training", "evaluation"])
def test_gradients_for_x_scale_and_shift(training, machine):
    g, (x, scale, shift, mean, var), y = norm_graph((4, 3, 2, 1))
    var.value[...] = [0.5, 2.0, 1.5]
    if not training:
        g.eval()
    cost = weighted_sum(y * y)
    grads = run(machine, g, cost, [x, scale, shift])
    value_of = forward_value(g, cost)
    for node, grad in zip((x, scale, shift), grads):
        np.testing.assert_allclose(grad, numeric_grad(value_of, node.value), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("training", [True, False], ids=["training", "evaluation"])
def test_second_order_gradients_in_both_modes(training):
    g, (x, scale, shift, mean, var), y = norm_graph((4, 3))
    if not training:
        g.eval()
    dx, dscale = G.grad(weighted_sum(y * y), x, scale)
    total = weighted_sum(dx, seed=1) + weighted_sum(dscale, seed=2)
    second = G.grad(total, x, scale)
    G.TapeMachine(g, outputs=[total, *second]).run_all()
    symbolic = [grad.value.copy() for grad in second]
    value_of = forward_value(g, total)
    for node, grad in zip((x, scale), symbolic):
        np.testing.assert_allclose(grad, numeric_grad(value_of, node.value), rtol=1e-4, atol=1e-6)


def test_running_statistics_must_be_input_nodes():
    g, (x, scale, shift, mean, _), _ = norm_graph((4, 3))
    with pytest.raises(G.GorgonError, match=r"batch_norm.*statistics 'frozen'.*must be an input node"):
        G.batch_norm(x, scale, shift, mean, G.constant(np.ones(3), g, name="frozen"))


def test_per_channel_inputs_must_match_the_channels():
    g, (x, scale, shift, mean, var), _ = norm_graph((4, 3))
    wide = G.vector(g, G.Float64, 4, name="wide")
    with pytest.raises(G.ShapeError, match=r"batch_norm.*shape \(3,\).*'wide' \(shape \(4,\)"):
        G.batch_norm(x, wide, shift, mean, var)


def test_training_on_one_value_per_channel_fails_at_run_time():
    g, _, y = norm_graph((1, 3))
    with pytest.raises(G.ExecutionError, match="more than one value per channel"):
        G.TapeMachine(g, outputs=[y]).run_all()
    g.eval()
    G.TapeMachine(g, outputs=[y]).run_all()
    assert y.value.shape == (1, 3)


@pytest.mark.parametrize("options", [{"momentum": 1.5}, {"eps": 0.0}])
def test_bad_hyper_parameters_are_refused(options):
    g, (x, scale, shift, mean, var), _ = norm_graph((4, 3))
    with pytest.raises(ValueError, match="batch_norm: needs 0 <= momentum <= 1 and eps > 0"):
        G.batch_norm(x, scale, shift, mean, var, **options)
