"""The numba backend's sum kernel against numpy's, over the axes it takes (all but one
contiguous block: conv bias gradients, rows, whole arrays) and the ones it declines."""

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

from gorgon.backends import find_kernel  # noqa: E402
from gorgon.registry import registry  # noqa: E402
from gorgon.types import TensorType  # noqa: E402
from gorgon_numba.sums import TOLERANCE, block_of, make_sum  # noqa: E402

registry.load()
RNG = np.random.default_rng(5)
TAKEN = [((64, 64, 14, 14), (0, 2, 3), True), ((64, 32, 28, 28), (0, 2, 3), False),
         ((7, 5), (1,), False), ((3, 4, 5), (0, 1, 2), False), ((2, 3, 4, 5), (0, 3), True),
         ((2, 3, 4, 5), (2, 3), False)]


def kernel_for(shape, axis, keepdims, dtype):
    op = registry.ops["sum"](axis=axis, keepdims=keepdims)
    result = np.sum(np.zeros(shape, dtype), axis=axis, keepdims=keepdims)
    return op, make_sum(op, (TensorType(shape, dtype),), TensorType(result.shape, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis, keepdims", TAKEN, ids=str)
def test_sum_equals_numpy(shape, axis, keepdims, dtype):
    op, kernel = kernel_for(shape, axis, keepdims, dtype)
    assert kernel is not None
    x = (RNG.standard_normal(shape) + 3).astype(dtype)  # a mean away from 0: sums of many terms
    expected = op.forward(x)
    out = np.full(expected.shape, np.nan, dtype)
    kernel.bind(x, out)()
    rtol, atol = TOLERANCE[np.dtype(dtype).name]
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)
    again = np.full(expected.shape, 1e30, dtype)
    assert kernel(x, again) is again
    np.testing.assert_allclose(again, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape, axis", [((256, 64), (0,)), ((2, 3, 4), (0, 1)),
                                          ((2, 3, 4), (1,)), ((2, 3, 4, 5), (1, 3))], ids=str)
def test_columns_and_scattered_axes_are_declined(shape, axis):
    """Sums over leading axes alone (runs of one value) and kept axes that are not one
    block (axis 1 of (2, 3, 4) keeps axes 0 and 2)."""
    _, kernel = kernel_for(shape, axis, False, np.float32)
    assert kernel is None


def test_block_of_names_the_three_extents():
    assert block_of((64, 64, 14, 14), (0, 2, 3)) == (64, 64, 196)
    assert block_of((3, 4), (0, 1)) == (1, 1, 12)
    assert block_of((2, 3, 4), (1,)) is None


def test_integers_and_a_non_contiguous_input():
    op, kernel = kernel_for((4, 6), (1,), False, np.int64)
    assert kernel is None
    op, kernel = kernel_for((4, 6), (1,), False, np.float64)
    x = RNG.standard_normal((4, 12))[:, ::2]
    assert kernel.bind(x, np.empty(4)) is None
    np.testing.assert_allclose(kernel(x, np.empty(4)), x.sum(axis=1), rtol=1e-12)


def test_the_bias_gradient_of_lenet_runs_on_numba():
    op = registry.ops["sum"](axis=(0, 2, 3), keepdims=True)
    found = find_kernel(op, (TensorType((64, 64, 14, 14), np.float32),),
                        TensorType((1, 64, 1, 1), np.float32), ("numba", "numpy"))
    assert found is not None and found[0] == "numba"
