"""max_pool2d, avg_pool2d and global_avg_pool2d against plain-loop references, forward
and gradient, on both machines."""

import numpy as np
import pytest

import gorgon as G
import conv_reference as ref
from conv_harness import MACHINES, assert_matches, run

# name: (x shape, pooling keywords)
CASES = {
    "2x2": ((2, 3, 4, 6), dict(kernel_size=2)),
    "3x3 stride 2 padding 1, odd sizes": ((1, 2, 7, 5), dict(kernel_size=3, stride=2, padding=1)),
    "stride above kernel": ((2, 1, 8, 7), dict(kernel_size=2, stride=3)),
    "overlapping, stride 1": ((1, 2, 5, 5), dict(kernel_size=3, stride=1)),
    "dilated, non-square": ((1, 2, 7, 6),
                            dict(kernel_size=(2, 3), stride=(1, 2), padding=1, dilation=(2, 1))),
    "1x1": ((1, 2, 3, 3), dict(kernel_size=1)),
    "asymmetric padding": ((1, 1, 5, 4), dict(kernel_size=2, stride=1, padding=((1, 0), (0, 1)))),
}


def arrays(name):
    x_shape, kwargs = CASES[name]
    geometry = ref.window_geometry(kwargs)
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal(x_shape)
    gy = rng.standard_normal(x_shape[:2] + ref.grid(x_shape[2:], *geometry))
    return x, gy, kwargs, geometry


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", list(CASES))
def test_max_pool2d_matches_reference(name, machine):
    x, gy, kwargs, geometry = arrays(name)
    ours = run(machine, lambda a: G.max_pool2d(a, **kwargs), [x], gy)
    assert_matches(ours, ref.max_pool2d(x, gy, *geometry))


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("name", list(CASES))
def test_avg_pool2d_matches_reference(name, count_include_pad, machine):
    x, gy, kwargs, geometry = arrays(name)
    ours = run(machine, lambda a: G.avg_pool2d(a, count_include_pad=count_include_pad, **kwargs),
               [x], gy)
    assert_matches(ours, ref.avg_pool2d(x, gy, *geometry, count_include_pad))


def test_max_pool2d_ties_go_to_the_first_element_of_the_window():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0]]]])
    gy = np.array([[[[10.0, 20.0]]]])
    value, (gx,) = run("tape", lambda a: G.max_pool2d(a, 2), [x], gy)
    np.testing.assert_array_equal(value, [[[[3.0, 3.0]]]])
    np.testing.assert_array_equal(gx, [[[[0.0, 10.0, 20.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pool2d_padding_never_wins():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    value, _ = run("tape", lambda a: G.max_pool2d(a, 3, stride=1, padding=1), [x], np.ones((1, 1, 3, 3)))
    assert (value < 0).all()
    assert value[0, 0, 0, 0] == -1.0


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 1, 1, 1), (3, 2, 7, 1)])
def test_global_avg_pool2d_matches_reference(shape, machine):
    rng = np.random.default_rng(sum(shape))
    x, gy = rng.standard_normal(shape), rng.standard_normal(shape[:2] + (1, 1))
    ours = run(machine, G.global_avg_pool2d, [x], gy)
    assert_matches(ours, ref.global_avg_pool2d(x, gy))


@pytest.mark.parametrize("machine", MACHINES)
def test_pools_keep_float32(machine):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    gy = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    geometry = ((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1))
    wide = x.astype(np.float64), gy.astype(np.float64)
    ours = run(machine, lambda a: G.max_pool2d(a, 3, stride=2, padding=1), [x], gy)
    assert_matches(ours, ref.max_pool2d(*wide, *geometry), np.float32)
    ours = run(machine, lambda a: G.avg_pool2d(a, 3, stride=2, padding=1, count_include_pad=False),
               [x], gy)
    assert_matches(ours, ref.avg_pool2d(*wide, *geometry, False), np.float32)


def test_max_pool_grad_on_tiling_windows_sends_ties_to_the_first_element():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2, 3] = 1.0
    gy = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    g = G.Graph()
    xn = G.tensor(g, G.Float64, x.shape, name="x", value=x)
    gyn = G.tensor(g, G.Float64, gy.shape, name="gy", value=gy)
    gx = G.max_pool2d_grad(xn, gyn, 2)
    G.TapeMachine(g).run_all()
    expected = np.zeros((4, 4))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 3] = 1.0, 2.0, 3.0, 4.0
    np.testing.assert_array_equal(gx.value[0, 0], expected)
