"""The ops as objects: registration, canonical params and printing, and the kernels'
`out=` contract beyond what the conformance kit checks."""

import numpy as np
import pytest

import gorgon as G
from gorgon.registry import registry

OPS = ["im2col", "col2im", "conv2d", "conv2d_grad_weight", "conv_transpose2d", "max_pool2d",
       "max_pool2d_grad", "max_pool2d_select", "avg_pool2d", "avg_pool2d_grad",
       "global_avg_pool2d", "upsample2d", "conv1d", "max_pool1d", "avg_pool1d"]


def test_every_op_is_registered_by_the_conv_plugin():
    registry.load()
    info = registry.plugins["conv"]
    assert info.distribution == "gorgon-ops-conv"
    assert info.error is None
    assert sorted(info.ops) == sorted(OPS)
    assert all(callable(getattr(G.ops, name)) for name in OPS)


def graph_with(*shapes):
    g = G.Graph()
    return [G.tensor(g, G.Float64, shape, name=f"in{i}") for i, shape in enumerate(shapes)]


def test_equal_geometries_make_equal_ops_that_print_short():
    x, w = graph_with((1, 2, 6, 6), (3, 2, 3, 3))
    a = G.conv2d(x, w, stride=(1, 1), padding=((1, 1), (1, 1)), dilation=[1, 1])
    b = G.conv2d(x, w, padding="same")
    assert a.op == b.op and hash(a.op) == hash(b.op)
    assert str(a.op) == "conv2d{dilation=1,groups=1,padding=1,stride=1}"
    c = G.conv2d(x, w, stride=(2, 1), padding=((1, 0), (1, 1)))
    assert str(c.op) == "conv2d{dilation=1,groups=1,padding=((1, 0), (1, 1)),stride=(2, 1)}"
    assert c.op != a.op


def test_pool_stride_defaults_to_kernel_size():
    (x,) = graph_with((1, 1, 6, 6))
    assert G.max_pool2d(x, 2).op == G.max_pool2d(x, 2, stride=2).op
    assert G.avg_pool2d(x, (3, 2)).shape == (1, 1, 2, 3)


def test_same_padding_keeps_the_size_for_any_kernel():
    (x,) = graph_with((2, 3, 7, 6))
    for kernel in [(1, 1), (2, 2), (3, 4), (5, 2)]:
        w = G.tensor(x.graph, G.Float64, (4, 3) + kernel)
        assert G.conv2d(x, w, padding="same", dilation=2).shape == (2, 4, 7, 6)


@pytest.mark.parametrize("name, args, kwargs", [
    ("conv2d", [(2, 4, 5, 6), (6, 2, 3, 3)], dict(padding=1, groups=2)),
    ("conv_transpose2d", [(1, 2, 3, 3), (2, 3, 3, 3)], dict(stride=2, output_padding=1)),
    ("im2col", [(2, 3, 5, 5)], dict(kernel_size=2, padding=1)),
    ("max_pool2d", [(2, 3, 5, 5)], dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool2d", [(2, 3, 5, 5)], dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("upsample2d", [(2, 3, 2, 2)], dict(scale=(2, 1))),
])
def test_kernels_fill_a_non_contiguous_out(name, args, kwargs):
    rng = np.random.default_rng(0)
    nodes = graph_with(*args)
    node = getattr(G, name)(*nodes, **kwargs)
    arrays = [rng.standard_normal(shape) for shape in args]
    expected = node.op.forward(*arrays)
    backing = np.full(node.shape[::-1], np.nan)
    out = backing.T
    assert not out.flags.c_contiguous
    result = node.op.forward(*arrays, out=out)
    assert result is out
    np.testing.assert_array_equal(out, expected)


def test_im2col_of_a_1x1_window_is_the_input_reshaped():
    (x,) = graph_with((2, 3, 4, 5))
    node = G.im2col(x, 1)
    array = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(node.op.forward(array), array.reshape(2, 3, 20))
    out = np.empty((2, 3, 20))
    assert node.op.forward(array, out=out) is out
    np.testing.assert_array_equal(out, array.reshape(2, 3, 20))


def test_conv2d_gradients_of_gradients_are_built_from_the_plugins_ops():
    x, w = graph_with((1, 2, 5, 5), (3, 2, 3, 3))
    y = G.conv2d(x, w, stride=2, padding=1)
    gx, gw = G.grad(G.sum(y * y), x, w)
    (ggx,) = G.grad(G.sum(gw * gw), x)
    names = {n.op.name for n in x.graph.nodes if n.op is not None}
    assert {"conv_transpose2d", "conv2d_grad_weight", "conv2d"} <= names
    assert ggx.shape == x.shape and gx.shape == x.shape
