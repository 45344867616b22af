"""The kit checks a mode-dependent op's backend kernel (`make_kernel.modes`) in training
and in evaluation mode: a toy batch_norm kernel that is right in one mode only fails."""

import numpy as np
import pytest

from gorgon.registry import registry
from gorgon.testing.backend_checks import check_backend
from gorgon.testing.report import ConformanceError

WRONG_IN = {"mode": None}


def make_batch_norm(op, inputs, output):
    def kernel(*arrays, training=True):
        *inputs, out = arrays
        np.copyto(out, op.forward(*inputs, training=training))
        if training == WRONG_IN["mode"]:
            out += 0.5
        return out

    return kernel


make_batch_norm.modes = True


@pytest.fixture
def mode_toy(backend_plugin):
    backend_plugin("modetoy", {"batch_norm": make_batch_norm})
    assert registry.kernel_maker("batch_norm", "modetoy") is make_batch_norm


def test_a_kernel_right_in_both_modes_passes(mode_toy):
    WRONG_IN["mode"] = None
    assert check_backend("batch_norm", "modetoy") > 0


@pytest.mark.parametrize("mode", [True, False])
def test_a_kernel_wrong_in_one_mode_fails_naming_it(mode_toy, mode):
    WRONG_IN["mode"] = mode
    with pytest.raises(ConformanceError, match=f"training={mode}"):
        check_backend("batch_norm", "modetoy")
