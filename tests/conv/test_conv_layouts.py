"""conv2d, its weight gradient and conv_transpose2d (its input gradient) in each column
layout the plugin picks: batch-major, channel-major with wide rows (stride 1) and
channel-major with strided rows, against the plain-loop reference on both machines."""

import numpy as np
import pytest

import gorgon as G
import conv_reference as ref
from conv_harness import MACHINES, assert_matches, run
from gorgon_ops_conv.columns import Layout
from gorgon_ops_conv.geometry import Window

# name: (x shape, w shape, conv2d keywords, (batch_first, wide))
CASES = {
    "batch-major": ((2, 2, 5, 6), (20, 2, 3, 3), dict(padding=1), (True, False)),
    "batch-major, strided": ((2, 1, 7, 7), (8, 1, 2, 2), dict(stride=2), (True, False)),
    "channel-major, wide": ((2, 3, 5, 6), (4, 3, 3, 3), dict(padding=1), (False, True)),
    "channel-major, wide, dilated, asymmetric padding": (
        (1, 2, 6, 7), (3, 2, 2, 3), dict(dilation=(2, 1), padding=((1, 0), (0, 2))), (False, True)),
    "channel-major, strided": ((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=(2, 1), padding=1), (False, False)),
    "channel-major, groups": ((2, 4, 5, 5), (4, 2, 3, 3), dict(padding=1, groups=2), (False, True)),
}


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("name", list(CASES))
def test_each_layout_matches_the_reference(name, machine):
    x_shape, w_shape, keywords, (batch_first, wide) = CASES[name]
    rng = np.random.default_rng(len(name))
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    g = G.Graph()
    node = G.conv2d(G.tensor(g, G.Float64, x_shape), G.tensor(g, G.Float64, w_shape), **keywords)
    rows = x_shape[1] * w_shape[2] * w_shape[3]
    layout = Layout.choose(Window.of(node.op, w_shape[2:]), x_shape[2:], rows, w_shape[0])
    assert (layout.batch_first, layout.wide) == (batch_first, wide)
    gy = rng.standard_normal(node.shape)
    ours = run(machine, lambda a, b: G.conv2d(a, b, **keywords), [x, w], gy)
    assert_matches(ours, ref.conv2d(x, w, gy, *ref.conv_geometry(keywords, w_shape[2:])))
