"""sigmoid's float32 path for large arrays (four ufunc passes instead of expit): values
within 3e-7 relative of expit wherever expit's result is a normal float and within 3e-39
where it is subnormal (0 below x = -88.72, where exp(-x) overflows), extremes included,
with no overflow warning even where numpy is told to raise, written in place when the
machine reuses the input's buffer."""

import warnings

import numpy as np
from scipy import special

import gorgon as G
from gorgon_ops_core.unary import FAST_SIGMOID_SIZE


def extreme_values(size: int) -> np.ndarray:
    values = (np.random.default_rng(3).standard_normal(size) * 60).astype(np.float32)
    values[:7] = [-1e4, 1e4, np.inf, -np.inf, np.nan, -88.8, 0.0]
    return values


def test_large_float32_sigmoid_equals_expit_within_3e_7_and_warns_of_nothing():
    v = extreme_values(FAST_SIGMOID_SIZE * 4)
    g = G.Graph()
    y = G.sigmoid(G.vector(g, G.Float32, v.size, name="x", value=v))
    machine = G.TapeMachine(g)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        machine.run_all()
    ref = special.expit(v)
    assert np.array_equal(np.isnan(y.value), np.isnan(ref))
    normal = ref >= np.finfo(np.float32).tiny
    assert (np.abs(y.value[normal] - ref[normal]) / ref[normal]).max() < 3e-7
    subnormal = ref < np.finfo(np.float32).tiny
    assert subnormal.sum() > 10 and np.abs(y.value[subnormal] - ref[subnormal]).max() <= 3e-39
    assert y.value[1:3].tolist() == [1.0, 1.0] and y.value[0] == y.value[3] == 0.0 and y.value[6] == 0.5


def test_the_kernel_writes_into_its_own_input_when_asked():
    v = extreme_values(FAST_SIGMOID_SIZE)
    op = G.sigmoid(G.vector(G.Graph(), G.Float32, v.size, name="x", value=v)).op
    buffer = v.copy()
    result = op.forward(buffer, out=buffer)
    assert result is buffer
    assert np.allclose(buffer, special.expit(v), rtol=3e-7, atol=3e-39, equal_nan=True)


def test_small_and_float64_arrays_take_expit_exactly():
    for dtype, size in ((np.float32, FAST_SIGMOID_SIZE - 1), (np.float64, FAST_SIGMOID_SIZE * 4)):
        v = extreme_values(size).astype(dtype)
        op = G.sigmoid(G.vector(G.Graph(), G.Float64, 3, name="x", value=[1.0, 2.0, 3.0])).op
        assert np.array_equal(op.forward(v), special.expit(v), equal_nan=True)
