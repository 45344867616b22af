"""Initialisers: fans of dense (in, out) and convolution (out, in, kh, kw) weights, the
statistics each draws with, seeding, and use as `init=` of an input node."""

import math

import numpy as np
import pytest

import gorgon as G
from gorgon_ops_nn.initializers import fans

DENSE = (400, 300)
CONV = (64, 32, 3, 3)


def test_fans_follow_the_documented_layouts():
    assert fans(DENSE) == (400, 300)
    assert fans(CONV) == (32 * 9, 64 * 9)
    assert fans((7,)) == (7, 7)
    assert fans(()) == (1, 1)


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name, expected_std", [
    ("glorot_uniform", lambda i, o: math.sqrt(2 / (i + o))),
    ("glorot_normal", lambda i, o: math.sqrt(2 / (i + o))),
    ("he_uniform", lambda i, o: math.sqrt(2 / i)),
    ("he_normal", lambda i, o: math.sqrt(2 / i)),
])
def test_scaled_initialisers_have_the_textbook_spread(name, expected_std, shape):
    values = getattr(G.init, name)(seed=0)(shape, G.Float64)
    std = expected_std(*fans(shape))
    assert values.shape == shape
    assert abs(values.mean()) < 0.05 * std
    assert values.std() == pytest.approx(std, rel=0.03)
    if name.endswith("uniform"):
        assert np.abs(values).max() <= std * math.sqrt(3)


def test_gain_scales_the_spread():
    plain = G.init.glorot_normal(seed=3)(DENSE, G.Float64)
    scaled = G.init.glorot_normal(gain=2.0, seed=3)(DENSE, G.Float64)
    np.testing.assert_allclose(scaled, 2 * plain)


def test_gaussian_and_uniform_draw_what_they_are_told():
    gaussian = G.init.gaussian(mean=3.0, std=0.5, seed=1)(DENSE, G.Float64)
    assert gaussian.mean() == pytest.approx(3.0, abs=0.01) and gaussian.std() == pytest.approx(0.5, rel=0.02)
    uniform = G.init.uniform(low=-2.0, high=1.0, seed=1)(DENSE, G.Float64)
    assert -2.0 <= uniform.min() and uniform.max() < 1.0
    assert uniform.mean() == pytest.approx(-0.5, abs=0.02)


def test_zeros_and_ones_take_any_dtype():
    np.testing.assert_array_equal(G.init.zeros()((2, 3), G.Int64), np.zeros((2, 3), np.int64))
    ones = G.init.ones()((4,), G.Float32)
    assert ones.dtype == np.float32 and (ones == 1).all()


def test_a_seed_gives_a_reproducible_sequence():
    first, second = G.init.he_normal(seed=5), G.init.he_normal(seed=5)
    a1, a2 = first((3, 4), G.Float64), first((3, 4), G.Float64)
    np.testing.assert_array_equal(a1, second((3, 4), G.Float64))
    np.testing.assert_array_equal(a2, second((3, 4), G.Float64))
    assert not np.array_equal(a1, a2)
    assert not np.array_equal(a1, G.init.he_normal(seed=6)((3, 4), G.Float64))


def test_initialisers_are_usable_as_init_of_a_node_by_function_or_by_name():
    g = G.Graph()
    w = G.matrix(g, G.Float32, (5, 4), name="w", init=G.init.glorot_uniform(seed=2))
    np.testing.assert_array_equal(w.value, G.init.glorot_uniform(seed=2)((5, 4), G.Float32))
    assert w.value.dtype == np.float32
    b = G.vector(g, G.Float64, 4, name="b", init="zeros")
    assert (b.value == 0).all()
    h = G.matrix(g, G.Float64, DENSE, name="h", init="he_normal")
    assert h.value.std() == pytest.approx(math.sqrt(2 / 400), rel=0.03)


def test_random_initialisers_refuse_integer_dtypes():
    with pytest.raises(G.DtypeError, match="initialiser he_uniform: draws floats, got dtype int32"):
        G.init.he_uniform()((2, 2), G.Int32)


def test_bad_hyper_parameters_are_refused():
    with pytest.raises(ValueError, match="std -1.0 must not be negative"):
        G.init.gaussian(std=-1.0)
    with pytest.raises(ValueError, match="low 1.0 must be below high 1.0"):
        G.init.uniform(low=1.0, high=1.0)
