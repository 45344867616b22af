"""conv_transpose2d against the plain-loop reference, forward and both gradients, on
both machines; and its defining relation to conv2d's input gradient."""

import numpy as np
import pytest

import gorgon as G
import conv_reference as ref
from conv_harness import MACHINES, assert_matches, run

# name: (x shape, w shape, conv_transpose2d keywords)
CASES = {
    "plain": ((2, 3, 4, 5), (3, 2, 3, 3), {}),
    "stride 2, padding 1, output_padding 1": ((1, 2, 3, 4), (2, 3, 3, 3),
                                              dict(stride=2, padding=1, output_padding=1)),
    "stride above kernel": ((2, 1, 3, 3), (1, 2, 2, 2), dict(stride=3)),
    "dilation, non-square": ((1, 2, 4, 3), (2, 2, 2, 3),
                             dict(stride=(1, 2), padding=(1, 0), dilation=(2, 1))),
    "groups 2": ((2, 4, 3, 3), (4, 3, 2, 2), dict(stride=2, groups=2)),
    "1x1 kernel, batch 1": ((1, 3, 3, 2), (3, 4, 1, 1), {}),
    "asymmetric padding": ((1, 2, 4, 4), (2, 2, 3, 3), dict(padding=((2, 0), (0, 1)))),
}


def geometry(keywords):
    """(stride, pads, output_padding, dilation, groups) with conv_transpose2d's defaults."""
    stride, pads, dilation, groups = ref.conv_geometry(keywords, None)
    return stride, pads, ref.pair(keywords.get("output_padding", 0)), dilation, groups


def arrays(name):
    x_shape, w_shape, keywords = CASES[name]
    stride, pads, extra, dilation, groups = geometry(keywords)
    rng = np.random.default_rng(len(name))
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    size = tuple((n - 1) * s - sum(p) + d * (k - 1) + 1 + e for n, s, p, d, k, e in
                 zip(x_shape[2:], stride, pads, dilation, w_shape[2:], extra))
    gy = rng.standard_normal((x_shape[0], w_shape[1] * groups) + size)
    return x, w, gy


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", list(CASES))
def test_conv_transpose2d_matches_reference(name, machine):
    x, w, gy = arrays(name)
    keywords = CASES[name][2]
    ours = run(machine, lambda a, b: G.conv_transpose2d(a, b, **keywords), [x, w], gy)
    assert_matches(ours, ref.conv_transpose2d(x, w, gy, *geometry(keywords)))


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    conv = dict(stride=2, padding=1, dilation=(1, 2), groups=2)
    gy = rng.standard_normal((2, 6, 4, 3))
    g = G.Graph()
    xn, wn, gyn = (G.tensor(g, G.Float64, a.shape, value=a) for a in (x, w, gy))
    y = G.conv2d(xn, wn, **conv)
    (gx,) = G.grad(y, xn, grad_output=gyn)
    transposed = G.conv_transpose2d(gyn, wn, output_padding=(0, 1), **conv)
    G.TapeMachine(g, keep=[transposed]).run_all()
    assert transposed.shape == x.shape
    np.testing.assert_allclose(transposed.value, gx.value, rtol=1e-12, atol=1e-12)
