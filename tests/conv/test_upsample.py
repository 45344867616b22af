"""upsample2d against the plain-loop reference, forward and gradient, on both machines."""

import numpy as np
import pytest

import gorgon as G
import conv_reference as ref
from conv_harness import MACHINES, assert_matches, run


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("shape, scale, pair", [
    ((2, 3, 3, 4), 2, (2, 2)),
    ((1, 2, 3, 2), (3, 1), (3, 1)),
    ((1, 1, 2, 3), 1, (1, 1)),
    ((2, 1, 1, 1), (2, 5), (2, 5)),
])
def test_upsample2d_matches_reference(shape, scale, pair, machine):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape)
    gy = rng.standard_normal(shape[:2] + (shape[2] * pair[0], shape[3] * pair[1]))
    ours = run(machine, lambda a: G.upsample2d(a, scale), [x], gy)
    assert_matches(ours, ref.upsample2d(x, gy, pair))
