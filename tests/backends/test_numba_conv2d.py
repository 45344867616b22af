"""The numba backend's conv2d, conv2d_grad_weight and conv_transpose2d kernels against
the numpy kernels, on LeNet's shapes and on odd windows (stride, dilation, asymmetric
padding, groups, a stride above the kernel), in float32 and float64; and LeNet's
training step on the numba backend against numpy's."""

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from benchmarks import test_lenet  # noqa: E402
from gorgon.backends import find_kernel  # noqa: E402
from gorgon.registry import registry  # noqa: E402
from gorgon.types import TensorType  # noqa: E402
from gorgon_numba import conv2d  # noqa: E402
from gorgon_numba.conv import make_conv_transpose  # noqa: E402
from gorgon_numba.conv2d import TOLERANCE, make_conv2d, make_conv2d_grad_weight  # noqa: E402

registry.load()
RNG = np.random.default_rng(11)
LENET = [((64, 1, 28, 28), (32, 1, 3, 3), dict(padding=1)),
         ((64, 32, 14, 14), (64, 32, 3, 3), dict(padding=1))]
ODD = [((2, 3, 9, 8), (4, 3, 3, 2), dict(stride=2)),
       ((3, 2, 7, 9), (3, 2, 2, 3), dict(dilation=(2, 1), padding=((2, 0), (1, 2)))),
       ((2, 4, 8, 7), (6, 2, 3, 3), dict(groups=2, stride=(1, 2), padding=1)),
       ((1, 6, 5, 5), (3, 2, 1, 2), dict(groups=3, dilation=2)),
       ((2, 1, 7, 7), (2, 1, 2, 2), dict(stride=3)),
       ((1, 2, 6, 5), (2, 2, 4, 3), dict(padding="same"))]
GEOMETRY = dict(stride=1, padding=0, dilation=1, groups=1)


def typed(*arrays):
    return tuple(TensorType(a.shape, a.dtype) for a in arrays)


def conv_ops(x_shape, w_shape, params):
    """conv2d's op over these shapes, and the ops of its gradient nodes (weights and
    input, as G.grad builds them), with conv2d's output shape."""
    g = G.Graph()
    x = G.tensor(g, G.Float64, x_shape, name="x", value=np.zeros(x_shape))
    w = G.tensor(g, G.Float64, w_shape, name="w", value=np.zeros(w_shape))
    y = G.conv2d(x, w, **params)
    G.grad(G.sum(y), x, w)
    ops = {node.op.name: node.op for node in g if node.op is not None}
    return y.op, ops["conv2d_grad_weight"], ops["conv_transpose2d"], y.shape


def bound(make, op, inputs, like):
    """The backend kernel's bind(...)() result and its kernel(..., out) result."""
    kernel = make(op, typed(*inputs), typed(like)[0])
    assert kernel is not None, f"{op} declined {[a.shape for a in inputs]}"
    first = np.full(like.shape, np.nan, like.dtype)
    step = kernel.bind(*inputs, first)
    assert step is not None
    step()
    second = np.full(like.shape, 1e30, like.dtype)
    assert kernel(*inputs, second) is second
    return first, second


def close(got, expected, dtype):
    rtol, atol = TOLERANCE[np.dtype(dtype).name]
    scale = max(1.0, float(np.abs(expected).max()))  # sums of hundreds of products
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", LENET + ODD, ids=lambda s: f"{s[0]}*{s[1]}{s[2]}")
def test_the_three_kernels_equal_numpy(shapes, dtype):
    x_shape, w_shape, params = shapes
    conv, grad_weight, transpose, y_shape = conv_ops(x_shape, w_shape, params)
    x = RNG.standard_normal(x_shape).astype(dtype)
    w = RNG.standard_normal(w_shape).astype(dtype)
    gy = RNG.standard_normal(y_shape).astype(dtype)
    cases = [(make_conv2d, conv, (x, w)), (make_conv2d_grad_weight, grad_weight, (x, gy)),
             (make_conv_transpose, transpose, (gy, w))]
    narrow = w[0].size * conv.groups <= w.shape[0]  # numpy's GEMM per image into NCHW
    for make, op, inputs in cases:
        expected = op.forward(*inputs)
        if narrow and make is not make_conv_transpose:
            assert make(op, typed(*inputs), typed(expected)[0]) is None
            continue
        for got in bound(make, op, inputs, expected):
            close(got, expected, dtype)


@pytest.mark.parametrize("shapes", ODD, ids=lambda s: f"{s[0]}*{s[1]}{s[2]}")
def test_chunks_of_one_image_equal_the_whole_batch(shapes, monkeypatch):
    """With room for one image's columns per chunk, every image is its own GEMM (the
    weight gradient sums their products)."""
    monkeypatch.setattr(conv2d, "CHUNK_BYTES", 1)
    test_the_three_kernels_equal_numpy(shapes, np.float64)


def test_the_input_gradient_keeps_the_input_size_with_a_leftover_column():
    """A 3x3 window with stride 2 over 8 columns leaves the last one unread:
    conv_transpose2d's output_padding gives it back, as zeros."""
    conv, _, transpose, y_shape = conv_ops((1, 2, 9, 8), (3, 2, 3, 3), dict(stride=2))
    gy = RNG.standard_normal(y_shape)
    w = RNG.standard_normal((3, 2, 3, 3))
    expected = transpose.forward(gy, w)
    assert expected.shape == (1, 2, 9, 8)
    for got in bound(make_conv_transpose, transpose, (gy, w), expected):
        close(got, expected, np.float64)
        assert not got[..., -1].any() and got[..., -2].all()


def test_non_contiguous_arrays_are_declined_by_bind_and_copied_by_the_call():
    conv, _, _, y_shape = conv_ops((2, 3, 6, 6), (4, 3, 3, 3), dict(padding=1))
    x = RNG.standard_normal((2, 3, 6, 12))[..., ::2]
    w = RNG.standard_normal((4, 3, 3, 3))
    kernel = make_conv2d(conv, typed(x, w), TensorType(y_shape, np.float64))
    out = np.empty(y_shape)
    assert kernel.bind(x, w, out) is None
    wide = np.full((2, 4, 6, 12), np.nan)
    kernel(x, w, wide[..., ::2])
    close(wide[..., ::2], conv.forward(x, w), np.float64)
    assert np.isnan(wide[..., 1::2]).all()


def test_mixed_dtypes_and_integers_are_declined():
    conv = registry.ops["conv2d"](**GEOMETRY)
    grad_weight = registry.ops["conv2d_grad_weight"](kernel_size=3, **GEOMETRY)
    x32, w64 = TensorType((1, 1, 5, 5), np.float32), TensorType((1, 1, 3, 3), np.float64)
    out = TensorType((1, 1, 3, 3), np.float32)
    assert make_conv2d(conv, (x32, w64), out) is None
    ints = TensorType((1, 1, 5, 5), np.int64)
    assert make_conv2d_grad_weight(grad_weight, (ints, TensorType((1, 1, 3, 3), np.int64)),
                                   TensorType((1, 1, 3, 3), np.int64)) is None


def test_the_numba_backend_is_chosen_for_lenets_second_layer_and_not_its_first():
    for shapes, chosen in zip(LENET, [None, "numba"]):
        conv, grad_weight, transpose, y_shape = conv_ops(*shapes)
        x, w, y = (TensorType(s, np.float32) for s in (shapes[0], shapes[1], y_shape))
        for op, inputs, output in [(conv, (x, w), y), (grad_weight, (x, y), w)]:
            found = find_kernel(op, inputs, output, ("numba", "numpy"))
            assert (found and found[0]) == chosen, op
        assert find_kernel(transpose, (y, w), x, ("numba", "numpy"))[0] == "numba"


def test_lenet_step_on_numba_equals_numpy():
    results = []
    for backends in [("numpy",), ("numba", "numpy")]:
        g, params, loss = test_lenet.lenet_graph()
        G.grad(loss, *params)
        G.TapeMachine(g, backends=backends, readable="lean").run_all()
        results.append([float(loss.value)] + [p.grad.copy() for p in params])
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5)
    for got, expected in zip(results[1][1:], results[0][1:]):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5 * np.abs(expected).max())
