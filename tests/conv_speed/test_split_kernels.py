"""The max-pool kernels give bit-identical results whether their work runs in one thread
or is split over several (gorgon_ops_conv.split); and the 2x2
max-pool gradient's fast path (gorgon_ops_conv.pairs) gives the general path's values."""

import numpy as np
import pytest

import gorgon as G
from gorgon_ops_conv import split as S
from gorgon_ops_conv.geometry import Window
from gorgon_ops_conv.maxpool import spread
from gorgon_ops_conv.pairs import is_pairs, pairs_gradient, pairs_workspace

RNG = np.random.default_rng(7)


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


# (op, arrays, params): the pooling kernels' paths (2x2 fast, tiling, overlapping and padded)
CASES = {
    "max_pool2d": ("max_pool2d", (randn(5, 3, 8, 8),), dict(kernel_size=2)),
    "max_pool2d overlapping": ("max_pool2d", (randn(5, 3, 7, 7),), dict(kernel_size=3, stride=2, padding=1)),
    "max_pool2d_grad 2x2": ("max_pool2d_grad", (np.maximum(randn(5, 3, 8, 6), 0), randn(5, 3, 4, 3)),
                            dict(kernel_size=2)),
    "max_pool2d_grad overlapping": ("max_pool2d_grad", (randn(5, 3, 7, 7), randn(5, 3, 4, 4)),
                                    dict(kernel_size=3, stride=2, padding=1)),
    "max_pool2d_grad 3x3 tiling": ("max_pool2d_grad", (randn(5, 2, 6, 9), randn(5, 2, 2, 3)),
                                   dict(kernel_size=3)),
}


def run(name, arrays, params):
    g = G.Graph()
    nodes = [G.tensor(g, a.dtype, a.shape, value=a) for a in arrays]
    y = getattr(G, name)(*nodes, **params)
    G.TapeMachine(g).run_all()
    return y.value.copy()


@pytest.mark.parametrize("case", list(CASES))
def test_split_work_gives_the_one_thread_result_bit_for_bit(monkeypatch, case):
    name, arrays, params = CASES[case]
    monkeypatch.setattr(S, "MIN_PART", 1)
    results = []
    for count in (1, 2, 3):
        monkeypatch.setenv(S.ENV, str(count))
        results.append(run(name, arrays, params))
    assert all(r.tobytes() == results[0].tobytes() for r in results[1:])


def general(x, gy):
    out = np.empty_like(x)
    spread(x, gy, Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)), out)
    return out


def fast(x, gy):
    out = np.full_like(x, np.nan)
    work = tuple(np.full(shape, 7, dtype) for shape, dtype in pairs_workspace(G.TensorType(x.shape, x.dtype)))
    pairs_gradient(x, gy, out, work)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_2x2_path_gives_the_general_paths_values_ties_included(dtype):
    x = np.maximum(randn(4, 3, 10, 12, dtype=dtype), 0)   # many all-zero windows
    x[0, 0, :2, :2] = [[1, 3], [3, 2]]                     # top-right beats bottom-left
    x[0, 0, 2:4, :2] = [[1, 2], [2, 2]]                    # three-way tie: top-right
    x[0, 0, 4:6, :2] = [[1, 0], [5, 5]]                    # bottom row, left
    gy = randn(4, 3, 5, 6, dtype=dtype)
    expected, got = general(x, gy), fast(x, gy)
    np.testing.assert_array_equal(got, expected)
    assert got[0, 0, :2, :2].tolist() == [[0, gy[0, 0, 0, 0]], [0, 0]]
    assert got[0, 0, 2:4, :2].tolist() == [[0, gy[0, 0, 1, 0]], [0, 0]]
    assert got[0, 0, 4:6, :2].tolist() == [[0, 0], [gy[0, 0, 2, 0], 0]]


def test_a_window_holding_a_nan_passes_its_gradient_to_one_element():
    x = randn(1, 1, 2, 2)
    x[0, 0, 1, 1] = np.nan
    gy = np.array([[[[2.5]]]], np.float32)
    assert np.nansum(fast(x, gy)) == 2.5 and np.count_nonzero(fast(x, gy)) == 1


@pytest.mark.parametrize("shape, kernel, stride, padding, expected", [
    ((2, 3, 8, 6), 2, 2, 0, True), ((2, 3, 7, 6), 2, 2, 0, False), ((2, 3, 8, 6), 2, 1, 0, False),
    ((2, 3, 8, 6), 3, 3, 0, False), ((2, 3, 8, 6), 2, 2, 1, False)])
def test_only_2x2_stride_2_windows_over_even_sizes_take_the_fast_path(shape, kernel, stride, padding, expected):
    pads = ((padding, padding), (padding, padding))
    assert is_pairs(Window((kernel, kernel), (stride, stride), pads, (1, 1)), shape) is expected
