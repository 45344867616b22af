"""Wrong configurations are rejected when the node is built, with errors naming the op,
the nodes (with their shapes) and the numbers at fault."""

import pytest

import gorgon as G


def nodes(*shapes, dtype=G.Float64):
    g = G.Graph()
    return [G.tensor(g, dtype, shape, name=name) for shape, name in zip(shapes, ("x", "w", "gy"))]


def rejects(error, build, *fragments):
    """Building raises `error` whose message holds every fragment, verbatim."""
    with pytest.raises(error) as caught:
        build()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_conv2d_channel_mismatch():
    x, w = nodes((1, 3, 5, 5), (4, 2, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w), "conv2d{", "'x' (shape (1, 3, 5, 5), float64)",
            "'w' (shape (4, 2, 3, 3), float64)", "2 input channels per group, but x has 3")


@pytest.mark.parametrize("x_shape, w_shape, what", [
    ((1, 3, 5, 5), (4, 1, 3, 3), "input channels (3) are not divisible by groups (2)"),
    ((1, 4, 5, 5), (3, 2, 3, 3), "filters (3) are not divisible by groups (2)"),
])
def test_conv2d_groups_must_divide_channels(x_shape, w_shape, what):
    x, w = nodes(x_shape, w_shape)
    rejects(G.ShapeError, lambda: G.conv2d(x, w, groups=2), "conv2d{", "groups=2", what)


def test_conv2d_kernel_larger_than_padded_input():
    x, w = nodes((1, 1, 4, 6), (1, 1, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w, dilation=2),
            "kernel 3x3 (dilated to 5x5) is larger than the padded input 4x6", "'x' (shape (1, 1, 4, 6)")
    rejects(G.ShapeError, lambda: G.conv2d(x, w, padding=(0, 1), dilation=(1, 4)),
            "kernel 3x3 (dilated to 3x9) is larger than the padded input 4x8")


@pytest.mark.parametrize("keywords, fragment", [
    (dict(stride=0), "stride must be positive, got (0, 0)"),
    (dict(stride=(1, -2)), "stride must be positive, got (1, -2)"),
    (dict(dilation=(0, 1)), "dilation must be positive, got (0, 1)"),
    (dict(padding=-1), "padding must not be negative, got ((-1, -1), (-1, -1))"),
    (dict(groups=0), "groups must be positive, got 0"),
])
def test_conv2d_sizes_must_be_positive(keywords, fragment):
    x, w = nodes((1, 2, 5, 5), (2, 2, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w, **keywords), "conv2d{", fragment, "'x'", "'w'")


def test_conv2d_rejects_empty_inputs_but_takes_an_empty_batch():
    x, w = nodes((0, 2, 5, 5), (2, 2, 3, 3))
    assert G.conv2d(x, w).shape == (0, 2, 3, 3)
    x, w = nodes((1, 0, 5, 5), (2, 0, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w), "'x' has an empty dimension other than the batch")
    x, w = nodes((1, 2, 5, 5), (0, 2, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w), "'w' has an empty dimension")


def test_conv2d_same_padding_rules():
    x, w = nodes((1, 1, 5, 5), (1, 1, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w, stride=2, padding="same"),
            "conv2d: padding='same' needs stride 1, got stride 2")
    rejects(ValueError, lambda: G.conv2d(x, w, padding="full"),
            "conv2d: padding must be an int, a pair, 'same' or 'valid', got 'full'")
    x, w = nodes((1, 1, 5, 5), (1, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w, padding="same"),
            "conv2d: weights must be (F, C/groups, kh, kw), got shape (1, 3, 3)")


@pytest.mark.parametrize("keywords, fragment", [
    (dict(stride=1.5), "stride must be an int or a pair of ints, got 1.5"),
    (dict(padding=(1, 2, 3)), "padding must be an int or a pair of ints, got (1, 2, 3)"),
    (dict(groups="2"), "groups must be an int, got '2'"),
])
def test_conv2d_sizes_must_be_ints(keywords, fragment):
    x, w = nodes((1, 2, 5, 5), (2, 2, 3, 3))
    rejects(TypeError, lambda: G.conv2d(x, w, **keywords), fragment)


def test_conv2d_ranks_and_dtypes():
    x, w = nodes((2, 5, 5), (2, 2, 3, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w), "expects 'x' as an NCHW batch (4 dimensions), got 3")
    x, w = nodes((1, 2, 5, 5), (2, 2, 3))
    rejects(G.ShapeError, lambda: G.conv2d(x, w), "expects 'w' as weights (F, C/groups, kh, kw)")
    x, w = nodes((1, 2, 5, 5), (2, 2, 3, 3), dtype=G.Int64)
    rejects(G.DtypeError, lambda: G.conv2d(x, w), "needs float32 or float64 inputs, got int64")
    g = G.Graph()
    x, w = G.tensor(g, G.Float32, (1, 2, 5, 5), name="x"), G.tensor(g, G.Float64, (2, 2, 3, 3), name="w")
    rejects(G.DtypeError, lambda: G.conv2d(x, w), "conv2d{", "share one dtype", "float32", "float64")


def test_conv_transpose2d_errors():
    x, w = nodes((1, 2, 3, 3), (3, 3, 3, 3))
    rejects(G.ShapeError, lambda: G.conv_transpose2d(x, w), "conv_transpose2d{",
            "weights are for 3 input channels, x has 2")
    x, w = nodes((1, 2, 3, 3), (2, 3, 3, 3))
    rejects(G.ShapeError, lambda: G.conv_transpose2d(x, w, stride=2, output_padding=(0, 2)),
            "output_padding (0, 2) must be at least 0 and below the stride (2, 2)")
    x, w = nodes((1, 2, 2, 2), (2, 3, 2, 2))
    rejects(G.ShapeError, lambda: G.conv_transpose2d(x, w, padding=(1, 2)),
            "the output would be 1x-1")
    x, w = nodes((1, 3, 2, 2), (3, 3, 2, 2))
    rejects(G.ShapeError, lambda: G.conv_transpose2d(x, w, groups=2), "input channels (3) are not divisible")


def test_conv2d_grad_weight_errors():
    x, w, gy = nodes((1, 2, 5, 5), (1,), (1, 3, 2, 2))
    rejects(G.ShapeError, lambda: G.conv2d_grad_weight(x, gy, 3),
            "conv2d_grad_weight{", "the gradient is 2x2, but the window over 5x5 makes 3x3", "'gy'")


def test_im2col_and_col2im_errors():
    (x,) = nodes((1, 1, 3, 3))
    rejects(G.ShapeError, lambda: G.im2col(x, (2, 4)), "im2col{",
            "kernel 2x4 is larger than the padded input 3x3")
    (cols,) = nodes((2, 12, 5))
    rejects(G.ShapeError, lambda: G.col2im(cols, (4, 5), 2), "col2im{",
            "has 5 columns, but the window over 4x5 makes 3x4 = 12")
    rejects(G.ShapeError, lambda: G.col2im(cols, (4, 5), 3),
            "has 12 rows, not a positive multiple of the 3x3 kernel's 9")
    rejects(G.ShapeError, lambda: G.col2im(cols, (0, 5), 1), "spatial size must be positive, got (0, 5)")


@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pool_errors(pool):
    (x,) = nodes((1, 2, 3, 3))
    build = getattr(G, pool)
    rejects(G.ShapeError, lambda: build(x, 4), f"{pool}{{", "'x'",
            "kernel 4x4 is larger than the padded input 3x3")
    rejects(G.ShapeError, lambda: build(x, 2, padding=2), "leaves windows that hold no input pixel")
    rejects(G.ShapeError, lambda: build(x, (2, 0)), "kernel_size must be positive, got (2, 0)")
    rejects(G.ShapeError, lambda: build(x, 2, stride=0), "stride must be positive, got (0, 0)")


def test_pool_gradient_ops_check_their_gradient_shape():
    x, w, gy = nodes((1, 2, 4, 4), (1,), (1, 2, 3, 3))
    rejects(G.ShapeError, lambda: G.max_pool2d_grad(x, gy, 2), "max_pool2d_grad{",
            "the gradient 'gy' must have shape (1, 2, 2, 2), got (1, 2, 3, 3)")
    rejects(G.ShapeError, lambda: G.max_pool2d_select(x, gy, 2),
            "the values 'gy' must have shape (1, 2, 4, 4)")
    rejects(G.ShapeError, lambda: G.avg_pool2d_grad(gy, (4, 4), 2), "avg_pool2d_grad{",
            "the gradient 'gy' must have shape (1, 2, 2, 2), got (1, 2, 3, 3)")


def test_upsample2d_and_global_pool_errors():
    (x,) = nodes((1, 2, 3))
    rejects(G.ShapeError, lambda: G.global_avg_pool2d(x), "global_avg_pool2d",
            "NCHW batch (4 dimensions), got 3")
    (x,) = nodes((1, 2, 3, 3))
    rejects(G.ShapeError, lambda: G.upsample2d(x, (2, 0)), "upsample2d{scale=(2, 0)}",
            "scale must be positive")
    rejects(TypeError, lambda: G.upsample2d(x, 1.5), "scale must be an int or a pair of ints")


def test_errors_come_before_any_node_joins_the_graph():
    x, w = nodes((1, 3, 5, 5), (4, 2, 3, 3))
    before = len(x.graph)
    with pytest.raises(G.ShapeError):
        G.conv2d(x, w)
    assert len(x.graph) == before
