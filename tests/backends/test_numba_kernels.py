"""The numba backend's conv and pool kernels against the numpy kernels over more window
geometries than the ops' samples hold: strides, asymmetric padding, dilation,
output_padding, overlapping pools, ties and NaNs."""

import itertools

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

from gorgon.registry import registry  # noqa: E402
from gorgon.types import TensorType  # noqa: E402
from gorgon_numba.columns import make_col2im, make_im2col  # noqa: E402
from gorgon_numba.conv import make_conv_transpose  # noqa: E402
from gorgon_numba.pool import TOLERANCE, make_max_pool, make_max_pool_grad  # noqa: E402

registry.load()
RNG = np.random.default_rng(7)
GEOMETRIES = [dict(kernel_size=k, stride=s, padding=p, dilation=d) for k, s, p, d in itertools.product(
    [2, (3, 2)], [1, (2, 3)], [0, 1, ((2, 0), (1, 2))], [1, (2, 1)])]


def typed(*arrays):
    return tuple(TensorType(a.shape, a.dtype) for a in arrays)


def run(make, op, inputs, expected):
    kernel = make(op, typed(*inputs), typed(expected)[0])
    assert kernel is not None
    out = np.full(expected.shape, np.nan, expected.dtype)
    bound = kernel.bind(*inputs, out)
    bound()
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", GEOMETRIES, ids=str)
def test_im2col_and_col2im_equal_numpy_exactly(params, dtype):
    x = RNG.standard_normal((2, 3, 9, 8)).astype(dtype)
    im2col = registry.ops["im2col"](**params)
    cols = im2col.forward(x)
    np.testing.assert_array_equal(run(make_im2col, im2col, (x,), cols), cols)
    col2im = registry.ops["col2im"](output_size=(9, 8), **params)
    image = col2im.forward(cols)
    np.testing.assert_array_equal(run(make_col2im, col2im, (cols,), image), image)


@pytest.mark.parametrize("params", [dict(stride=1, padding=1, output_padding=0, dilation=1),
                                    dict(stride=2, padding=((1, 0), (0, 2)), output_padding=1, dilation=1),
                                    dict(stride=(2, 3), padding=0, output_padding=(1, 2), dilation=(1, 2))],
                         ids=str)
def test_conv_transpose_equals_numpy(params):
    op = registry.ops["conv_transpose2d"](groups=1, **params)
    x = RNG.standard_normal((3, 4, 5, 6))
    w = RNG.standard_normal((4, 2, 3, 2))
    expected = op.forward(x, w)
    np.testing.assert_allclose(run(make_conv_transpose, op, (x, w), expected), expected, rtol=1e-12, atol=1e-12)


def test_conv_transpose_takes_groups():
    op = registry.ops["conv_transpose2d"](groups=2, stride=1, padding=0, output_padding=0, dilation=1)
    x, w = RNG.standard_normal((1, 4, 3, 3)), RNG.standard_normal((4, 1, 2, 2))
    expected = op.forward(x, w)
    np.testing.assert_allclose(run(make_conv_transpose, op, (x, w), expected), expected, rtol=1e-12, atol=1e-12)


def images_with_ties_and_nans(shape, dtype):
    x = RNG.integers(0, 3, shape).astype(dtype)  # many ties
    x.reshape(-1)[RNG.choice(x.size, 5, replace=False)] = np.nan
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("window", [dict(kernel_size=2, stride=2), dict(kernel_size=3, stride=1),
                                    dict(kernel_size=(2, 3), stride=(1, 2)), dict(kernel_size=2, stride=2)],
                         ids=["pairs", "overlapping", "uneven", "odd-size"])
def test_max_pool_and_its_gradient_equal_numpy(window, dtype, request):
    shape = (2, 3, 7, 9) if "odd" in request.node.name else (2, 3, 8, 10)
    x = images_with_ties_and_nans(shape, dtype)
    pool = registry.ops["max_pool2d"](padding=0, dilation=1, **window)
    y = pool.forward(x)
    np.testing.assert_array_equal(run(make_max_pool, pool, (x,), y), y)
    grad = registry.ops["max_pool2d_grad"](padding=0, dilation=1, **window)
    gy = RNG.standard_normal(y.shape).astype(dtype)
    expected = grad.forward(x, gy)
    rtol, atol = TOLERANCE[np.dtype(dtype).name]  # overlapping windows add in another order
    np.testing.assert_allclose(run(make_max_pool_grad, grad, (x, gy), expected), expected, rtol=rtol, atol=atol)


def test_pools_with_padding_or_dilation_are_declined():
    x = np.ones((1, 1, 6, 6))
    for params in (dict(padding=1, dilation=1), dict(padding=0, dilation=2)):
        pool = registry.ops["max_pool2d"](kernel_size=2, stride=2, **params)
        assert make_max_pool(pool, typed(x), typed(pool.forward(x))[0]) is None


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("labels", [True, False], ids=["labels", "probabilities"])
def test_cross_entropy_and_its_gradient_equal_numpy(reduction, labels):
    import gorgon as G

    g = G.Graph()
    x = G.matrix(g, G.Float64, (6, 5), name="x", value=RNG.standard_normal((6, 5)) * 3)
    if labels:
        target = G.vector(g, G.Int64, 6, name="t", value=RNG.integers(0, 5, 6))
    else:
        target = G.matrix(g, G.Float64, (6, 5), name="t", value=RNG.dirichlet(np.ones(5), 6))
    loss = G.cross_entropy(x, target, reduction=reduction)
    G.grad(loss, x)
    G.TapeMachine(g).run_all()
    expected = loss.value.copy(), x.grad.copy()
    machine = G.TapeMachine(g, backends=("numba",))
    machine.run_all()
    assert "cross_entropy" in str(machine.program)
    np.testing.assert_allclose(loss.value, expected[0], rtol=1e-12)
    np.testing.assert_allclose(x.grad, expected[1], rtol=1e-12, atol=1e-15)


def test_a_label_out_of_range_raises_as_on_numpy():
    import gorgon as G

    g = G.Graph()
    x = G.matrix(g, G.Float64, (3, 4), name="x", value=np.zeros((3, 4)))
    labels = G.vector(g, G.Int64, 3, name="t", value=np.array([0, 4, 1]))
    loss = G.cross_entropy(x, labels)
    kernel = G.backends.find_kernel(loss.op, typed(x.value, labels.value), TensorType((), np.float64), ("numba",))
    assert kernel is not None
    with pytest.raises(IndexError):
        kernel[1](x.value, labels.value, np.empty(()))
    for backends in (("numpy",), ("numba",)):  # the numpy kernel's own error, either way
        with pytest.raises(G.ExecutionError, match="class labels must lie in"):
            G.TapeMachine(g, outputs=[loss], backends=backends).run_all()


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5, 2)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm_and_its_gradients_follow_the_mode_as_on_numpy(mode, shape):
    import gorgon as G
    from gorgon import backends

    backends.forget()
    g = G.Graph()
    c = shape[1]
    x = G.tensor(g, G.Float64, shape, name="x", value=RNG.standard_normal(shape) * 2 + 1)
    scale = G.vector(g, G.Float64, c, name="scale", value=RNG.standard_normal(c))
    shift = G.vector(g, G.Float64, c, name="shift", value=RNG.standard_normal(c))
    mean = G.vector(g, G.Float64, c, name="mean", value=RNG.standard_normal(c))
    var = G.vector(g, G.Float64, c, name="var", value=RNG.random(c) + 0.5)
    weights = G.tensor(g, G.Float64, shape, name="k", value=RNG.standard_normal(shape))
    normed = G.batch_norm(x, scale, shift, mean, var, momentum=0.3)
    cost = G.sum(normed * weights)
    G.grad(cost, x, scale)
    getattr(g, mode)()
    state = mean.value.copy(), var.value.copy()
    results = []
    for chosen in (("numpy",), ("numba",)):
        np.copyto(mean.value, state[0])
        np.copyto(var.value, state[1])
        G.TapeMachine(g, backends=chosen).run_all()
        results.append((x.grad.copy(), scale.grad.copy(), normed.value.copy(), mean.value.copy(),
                        var.value.copy()))
    assert not np.array_equal(results[0][3], state[0]) or mode == "eval"  # training moved them
    from gorgon_numba import norms

    runs = {getattr(k, "run", None) for k in backends._kernels.values()}
    assert {norms._forward, norms._input_grad, norms._scale_grad} <= runs
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
