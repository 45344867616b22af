"""im2col and col2im against plain-loop references (each is the other's gradient), on
both machines."""

import numpy as np
import pytest

import gorgon as G
import conv_reference as ref
from conv_harness import MACHINES, assert_matches, run

# name: (x shape, im2col keywords)
CASES = {
    "3x3": ((2, 2, 5, 4), dict(kernel_size=3)),
    "stride above kernel": ((1, 2, 7, 8), dict(kernel_size=2, stride=3)),
    "padding, dilation": ((1, 3, 5, 6), dict(kernel_size=(3, 2), padding=2, dilation=(2, 3))),
    "non-square": ((2, 1, 6, 5), dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0))),
    "1x1": ((1, 3, 3, 4), dict(kernel_size=1)),
    "asymmetric padding": ((1, 1, 4, 4), dict(kernel_size=2, padding=((0, 1), (2, 0)))),
}


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", list(CASES))
def test_im2col_matches_reference(name, machine):
    x_shape, kwargs = CASES[name]
    geometry = ref.window_geometry(kwargs, default_stride=1)
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal(x_shape)
    cols = ref.im2col(x, *geometry)
    gy = rng.standard_normal(cols.shape)
    ours = run(machine, lambda a: G.im2col(a, **kwargs), [x], gy)
    assert_matches(ours, (cols, ref.col2im(gy, x_shape[2:], *geometry)))


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", list(CASES))
def test_col2im_matches_reference(name, machine):
    x_shape, kwargs = CASES[name]
    geometry = ref.window_geometry(kwargs, default_stride=1)
    rng = np.random.default_rng(len(name))
    cols = rng.standard_normal(ref.im2col(np.zeros(x_shape), *geometry).shape)
    gy = rng.standard_normal(x_shape)
    ours = run(machine, lambda a: G.col2im(a, x_shape[2:], **kwargs), [cols], gy)
    assert_matches(ours, (ref.col2im(cols, x_shape[2:], *geometry), ref.im2col(gy, *geometry)))


def test_im2col_then_matmul_is_conv2d():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    g = G.Graph()
    xn, wn = G.tensor(g, G.Float64, x.shape, value=x), G.tensor(g, G.Float64, w.shape, value=w)
    cols = G.im2col(xn, 3, padding=1)
    by_hand = G.matmul(G.reshape(wn, (4, 27)), cols)
    conv = G.conv2d(xn, wn, padding=1)
    G.TapeMachine(g, keep=[by_hand, conv]).run_all()
    np.testing.assert_allclose(by_hand.value.reshape(conv.shape), conv.value, rtol=1e-12, atol=1e-12)
