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
from gorgon_numba import window  # noqa: E402
from gorgon_numba.conv import make_conv_transpose  # noqa: E402
from gorgon_numba.conv2d import make_conv2d, make_conv2d_grad_weight  # noqa: E402
from gorgon_numba.window import TOLERANCE  # noqa: E402

registry.load()
RNG = np.random.default_rng(11)
LENET = [((64, 1, 28, 28), (32, 1, 3, 3), dict(padding=1)),
         ((64, 32, 14, 14), (64, 32, 3, 3), dict(padding=1))]
ODD = [((2, 3, 9, 8), (4, 3, 3, 2), dict(stride=2)),
       ((3, 2, 7, 9), (3, 2, 2, 3), dict(dilation=(2, 1), padding=((2, 0), (1, 2)))),
       ((2, 4, 8, 7), (6, 2, 3, 3), dict(groups=2, stride=(1, 2), padding=1)),
       ((1, 6, 5, 5), (3, 2, 1, 2), dict(groups=3, dilation=2)),
       ((2, 1, 7, 7), (2, 1, 2, 2), dict(stride=3)),
       ((1, 2, 6, 5), (2, 2, 4, 3), dict(padding="same")),
       ((2, 2, 7, 6), (16, 1, 2, 3), dict(groups=2, stride=2, padding=((1, 0), (0, 2)), dilation=(1, 2)))]
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
    for make, op, inputs in cases:
        expected = op.forward(*inputs)
        for got in bound(make, op, inputs, expected):
            close(got, expected, dtype)


@pytest.mark.parametrize("shapes", ODD, ids=lambda s: f"{s[0]}*{s[1]}{s[2]}")
def test_chunks_of_one_image_equal_the_whole_batch(shapes, monkeypatch):
    """With room for one image's columns per chunk, every image is its own GEMM (the
    weight gradient sums their products)."""
    monkeypatch.setattr(window, "CHUNK_BYTES", 1)
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


@pytest.mark.parametrize("shapes, kinds", zip(LENET, [("NarrowConv2dKernel", "NarrowGradWeightKernel"),
                                                      ("Conv2dKernel", "Conv2dGradWeightKernel")]))
def test_each_lenet_layer_gets_its_kernels_from_numba(shapes, kinds):
    """The first layer (C*kh*kw = 9 <= 32 filters) a GEMM per image into NCHW, the
    second (288 > 64) one GEMM on channel-major columns."""
    conv, grad_weight, transpose, y_shape = conv_ops(*shapes)
    x, w, y = (TensorType(s, np.float32) for s in (shapes[0], shapes[1], y_shape))
    for op, inputs, output, kind in [(conv, (x, w), y, kinds[0]), (grad_weight, (x, y), w, kinds[1]),
                                     (transpose, (y, w), x, "ConvTransposeKernel")]:
        backend, kernel = find_kernel(op, inputs, output, ("numba", "numpy"))
        assert backend == "numba" and type(kernel).__name__ == kind, op


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


def test_lenets_step_on_numba_allocates_no_arrays_where_numpys_allocates_columns():
    """numpy's first-layer kernels allocate their columns (1.8 MB) on every call; on
    numba what tracemalloc sees is the dispatch's small Python objects."""
    from gorgon import backends
    from test_backend_allocation import SMALL, peak_bytes

    peaks = []
    for chosen in [("numba", "numpy"), ("numpy",)]:
        backends.forget()  # so that the kernels seen below are this machine's
        g, params, loss = test_lenet.lenet_graph()
        G.grad(loss, *params)
        peaks.append(peak_bytes(G.TapeMachine(g, backends=chosen, readable="lean")))
        if chosen[0] == "numba":
            kinds = {type(k).__name__ for k in backends._kernels.values() if k is not None}
    numba, numpy = peaks
    assert numpy > 64 * 9 * 28 * 28 * 4 and numba < 2 * SMALL
    assert {"Conv2dKernel", "Conv2dGradWeightKernel", "NarrowConv2dKernel", "NarrowGradWeightKernel",
            "ConvTransposeKernel", "SumKernel"} <= kinds


@pytest.mark.parametrize("make, op_name, shapes", [
    (make_conv2d, "conv2d", [(4, 2, 9, 9), (32, 2, 3, 3)]),
    (make_conv2d, "conv2d", [(4, 8, 9, 9), (8, 8, 3, 3)]),
    (make_conv2d_grad_weight, "conv2d_grad_weight", [(4, 2, 9, 9), (4, 32, 7, 7)]),
    (make_conv2d_grad_weight, "conv2d_grad_weight", [(4, 8, 9, 9), (4, 8, 7, 7)]),
    (make_conv_transpose, "conv_transpose2d", [(4, 8, 7, 7), (8, 8, 3, 3)])], ids=str)
def test_a_bound_kernel_allocates_nothing(make, op_name, shapes):
    """Each scratch array here is 4 KiB or more; five runs allocate less than that."""
    import tracemalloc

    from test_backend_allocation import SMALL

    op = registry.ops[op_name](**GEOMETRY, **({"kernel_size": 3} if op_name == "conv2d_grad_weight" else {}),
                               **({"output_padding": 0} if op_name == "conv_transpose2d" else {}))
    inputs = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    out = np.asarray(op.forward(*inputs))
    step = make(op, typed(*inputs), typed(out)[0]).bind(*inputs, out)
    step()
    step()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            step()
        assert tracemalloc.get_traced_memory()[1] - before < SMALL
    finally:
        tracemalloc.stop()
