"""conv2d against the plain-loop reference, forward and both gradients, on both machines."""

import numpy as np
import pytest

import gorgon as G
import conv_reference as ref
from conv_harness import MACHINES, assert_matches, run

# name: (x shape, w shape, conv2d keywords)
CASES = {
    "plain": ((2, 3, 7, 5), (4, 3, 3, 3), {}),
    "odd sizes, stride 2, padding 1": ((1, 2, 9, 7), (3, 2, 3, 2), dict(stride=2, padding=1)),
    "stride above kernel": ((2, 1, 8, 7), (2, 1, 2, 2), dict(stride=3)),
    "dilation 2, padding 2": ((1, 2, 7, 8), (2, 2, 3, 3), dict(padding=2, dilation=2)),
    "groups 2": ((2, 4, 5, 6), (6, 2, 3, 3), dict(padding=1, groups=2)),
    "depthwise": ((1, 3, 5, 5), (6, 1, 3, 3), dict(groups=3)),
    "batch 1, 1x1 kernel": ((1, 4, 3, 5), (2, 4, 1, 1), {}),
    "1x1 kernel, stride 2": ((2, 2, 5, 5), (3, 2, 1, 1), dict(stride=2)),
    "non-square everything": ((2, 2, 9, 6), (3, 2, 3, 2),
                              dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2))),
    "asymmetric padding": ((1, 2, 5, 5), (2, 2, 3, 3), dict(padding=((1, 0), (2, 1)))),
    "same, odd kernel": ((1, 2, 6, 5), (3, 2, 3, 3), dict(padding="same")),
    "same, even kernel, dilation": ((1, 2, 6, 5), (3, 2, 2, 4), dict(padding="same", dilation=(3, 1))),
    "valid": ((1, 2, 6, 5), (3, 2, 3, 3), dict(padding="valid")),
    "kernel the size of the input": ((2, 2, 4, 3), (3, 2, 4, 3), {}),
}
FLOAT32_CASES = ["odd sizes, stride 2, padding 1", "groups 2", "same, even kernel, dilation"]


def arrays(name, dtype):
    """The case's x and w, and an upstream gradient of the output's shape."""
    x_shape, w_shape, keywords = CASES[name]
    stride, pads, dilation, _ = ref.conv_geometry(keywords, w_shape[2:])
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    size = ref.grid(x_shape[2:], w_shape[2:], stride, pads, dilation)
    gy = rng.standard_normal((x_shape[0], w_shape[0]) + size).astype(dtype)
    return x, w, gy, keywords, ref.conv_geometry(keywords, w_shape[2:])


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", list(CASES))
def test_conv2d_matches_reference(name, machine):
    x, w, gy, keywords, geometry = arrays(name, np.float64)
    ours = run(machine, lambda a, b: G.conv2d(a, b, **keywords), [x, w], gy)
    assert_matches(ours, ref.conv2d(x, w, gy, *geometry))


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_conv2d_float32_stays_float32(name, machine):
    x, w, gy, keywords, geometry = arrays(name, np.float32)
    ours = run(machine, lambda a, b: G.conv2d(a, b, **keywords), [x, w], gy)
    expected = ref.conv2d(x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64), *geometry)
    assert_matches(ours, expected, np.float32)
