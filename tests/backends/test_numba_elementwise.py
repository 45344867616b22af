"""gorgon-numba's standalone add/sub/mul/div kernels (elementwise): over strided arrays
(gate slices) they run the rows loop and equal numpy; over C-contiguous arrays they leave
the step to numpy's ufunc; broadcasts and mixed dtypes are declined."""

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

from gorgon.registry import registry  # noqa: E402
from gorgon.types import TensorType  # noqa: E402
from gorgon_numba.elementwise import ARITHMETIC, make_elementwise  # noqa: E402

registry.load()
RNG = np.random.default_rng(8)


def kernel(name, shape, dtype, other=None):
    op = registry.ops[name]()
    types = (TensorType(shape, dtype), TensorType(other or shape, dtype))
    return make_elementwise(op, types, TensorType(shape, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ARITHMETIC))
def test_strided_operands_run_the_rows_loop_and_equal_numpy(name, dtype):
    wide = (RNG.standard_normal((16, 64)) + 3).astype(dtype)  # away from 0: div
    a, b = wide[:, 0:16], wide[:, 32:48]
    block = np.full((16, 40), 5.0, dtype)
    out = block[:, 10:26]
    step = kernel(name, (16, 16), dtype).bind(a, b, out)
    assert step is not None
    step()
    np.testing.assert_allclose(out, ARITHMETIC[name](a, b), rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert (block[:, :10] == 5).all() and (block[:, 26:] == 5).all()


def test_contiguous_operands_leave_the_step_to_numpy():
    made = kernel("mul", (16, 16), np.float32)
    a, b = RNG.standard_normal((2, 16, 16)).astype(np.float32)
    out = np.empty((16, 16), np.float32)
    assert made.bind(a, b, out) is None
    assert made(a, b, out) is out
    np.testing.assert_array_equal(out, a * b)


def test_a_view_strided_inside_its_rows_is_copied_when_called_and_declined_when_bound():
    made = kernel("sub", (8, 8), np.float64)
    wide = RNG.standard_normal((8, 32))
    a, b = wide[:, ::4], wide[:, 1::4]
    out = np.empty((8, 8))
    assert made.bind(a, b, out) is None
    np.testing.assert_array_equal(made(a, b, out), a - b)


def test_broadcasts_mixed_dtypes_and_other_ops_are_declined():
    assert kernel("add", (4, 4), np.float32, other=(4,)) is None
    op = registry.ops["mul"]()
    assert make_elementwise(op, (TensorType((4,), np.float32), TensorType((4,), np.float64)),
                            TensorType((4,), np.float64)) is None
    assert make_elementwise(op, (TensorType((4,), np.int64),) * 2, TensorType((4,), np.int64)) is None
    assert make_elementwise(registry.ops["maximum"](), (TensorType((4,), np.float32),) * 2,
                            TensorType((4,), np.float32)) is None
