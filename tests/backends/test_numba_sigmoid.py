"""gorgon-numba's fused sigmoid keeps its relative precision far into the negative tail
(1 / (1 + exp(-x)); the former 0.5 + 0.5 * tanh(x / 2) rounded every result below about
x = -37 to zero in float64), with no warnings at the extremes."""

import warnings

import numpy as np
import pytest
from scipy import special

import gorgon as G

pytest.importorskip("gorgon_numba")


@pytest.mark.parametrize("dtype,tolerance", [(G.Float64, 1e-14), (G.Float32, 3e-7)])
def test_fused_sigmoid_is_relatively_precise_in_both_tails(dtype, tolerance):
    values = np.concatenate([np.linspace(-80, 80, 2001), [-np.inf, np.inf, np.nan]]).astype(dtype)
    g = G.Graph()
    x = G.vector(g, dtype, values.size, name="x", value=values)
    y = G.sigmoid(x) * 0.5
    machine = G.TapeMachine(g, backends=("numba", "numpy"), readable="lean")
    assert "fused[numba" in str(machine.program)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        machine.run_all()
    reference = special.expit(values.astype(np.float64)) * 0.5
    normal = reference >= np.finfo(values.dtype).tiny
    assert normal[0] and np.max(np.abs(y.value[normal] - reference[normal]) / reference[normal]) < tolerance
    assert y.value[0] > 0 and np.isnan(y.value[-1]) and y.value[-3] == 0.0 and y.value[-2] == 0.5
