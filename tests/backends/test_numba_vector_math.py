"""gorgon-numba's float32 exp, sigmoid and tanh (vector_math, in arithmetic that
vectorises) against float64 numpy, through the fused kernels that run them; the rows
layout of strided views (row_layout); and which lone ops get a fused kernel of their
own (a float32 exp/sigmoid/tanh, an op reading a slice)."""

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon.backends import find_kernel  # noqa: E402
from gorgon.passes.fuse import FusedOp, Step  # noqa: E402
from gorgon.registry import registry  # noqa: E402
from gorgon.types import TensorType  # noqa: E402
from gorgon_numba.row_layout import rows_of  # noqa: E402
from scipy.special import expit  # noqa: E402

RNG = np.random.default_rng(11)
TINY = np.finfo(np.float32).tiny
ULP = 2.0 ** -24
REFERENCE = {"exp": np.exp, "sigmoid": expit, "tanh": np.tanh}
NUMBA = ("numba", "numpy")


def kernel(name, shape=(4,)):
    """The numba fused kernel of the one op `name` on float32 arrays of `shape`."""
    op = FusedOp(steps=(Step(registry.op(name)(), (0,), shape, "<f4"),), backend="numba")
    found = find_kernel(op, (TensorType(shape, np.float32),), TensorType(shape, np.float32), NUMBA)
    assert found is not None and found[0] == "numba"
    return found[1]


def dense_values():
    return np.concatenate([np.linspace(-110, 95, 400_001), -np.logspace(-44, 2, 4001),
                           np.logspace(-44, 2, 4001)]).astype(np.float32)


@pytest.mark.parametrize("name, ulps", [("exp", 1.5), ("sigmoid", 3), ("tanh", 3)])
def test_within_a_few_ulp_of_float64_over_the_normal_range(name, ulps):
    x = dense_values()
    got = kernel(name, x.shape)(x, np.empty_like(x))
    with np.errstate(all="ignore"):
        expected = REFERENCE[name](x.astype(np.float64))
        normal = (np.abs(expected) >= TINY) & (np.abs(expected) < np.finfo(np.float32).max)
        relative = np.abs(got[normal] - expected[normal]) / np.abs(expected[normal])
    assert relative.max() <= ulps * ULP, (name, x[normal][np.argmax(relative)])
    small = np.abs(expected) < TINY  # subnormal and underflowing results
    np.testing.assert_allclose(got[small], expected[small], rtol=0, atol=2 * TINY)
    assert (got[expected > 3.41e38] == np.inf).all()


def test_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 88.5, 89.0, -87.5, -104.0, -1e4, 1e4], np.float32)
    exp = kernel("exp", x.shape)(x, np.empty_like(x))
    assert np.isnan(exp[0]) and exp[1] == np.inf and exp[2] == 0 and exp[3] == 1 and exp[4] == 1
    assert np.isfinite(exp[5]) and exp[6] == np.inf and exp[9] == 0 and exp[10] == np.inf
    assert 0 < exp[7] < TINY  # a subnormal, not flushed
    tanh = kernel("tanh", x.shape)(x, np.empty_like(x))
    assert np.isnan(tanh[0]) and tanh[1] == 1 and tanh[2] == -1 and tanh[9] == -1 and tanh[10] == 1
    assert tanh[3] == 0 and not np.signbit(tanh[3]) and np.signbit(tanh[4])
    sigmoid = kernel("sigmoid", x.shape)(x, np.empty_like(x))
    assert np.isnan(sigmoid[0]) and sigmoid[1] == 1 and sigmoid[2] == 0 and sigmoid[3] == 0.5
    assert sigmoid[9] == 0 and sigmoid[10] == 1


@pytest.mark.parametrize("make, form", [
    (lambda z: z, (1, 16384, 16384)),
    (lambda z: z[:, :384], (32, 384, 512)),
    (lambda z: z[:, 128:256], (32, 128, 512)),
    (lambda z: z[::2], (16, 512, 1024)),
    (lambda z: z.reshape(4, 8, 512)[:, :4, :], (4, 2048, 4096)),
    (lambda z: z[:0], (1, 0, 0)),
], ids=["contiguous", "leading columns", "middle columns", "every other row", "3-d block", "empty"])
def test_rows_of_reads_rows_of_one_stride(make, form):
    z = np.zeros((32, 512), np.float32)
    view = make(z)
    flat, *found = rows_of(view)
    assert tuple(found) == form
    assert np.shares_memory(flat, z) or view.size == 0


@pytest.mark.parametrize("make", [lambda z: z[:, ::2], lambda z: z.T, lambda z: z.reshape(4, 8, 512)[:, :, :100]],
                         ids=["strided columns", "transposed", "two strides"])
def test_rows_of_declines_other_layouts(make):
    assert rows_of(make(np.zeros((32, 512), np.float32))) is None


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_a_bound_gate_slice_writes_its_columns_only(name):
    """The flat view spans the columns between the rows; the loop writes none of them."""
    gates = (RNG.standard_normal((32, 512)) * 4).astype(np.float32)
    block = np.full((32, 640), 7.0, np.float32)
    source, target = gates[:, 128:512], block[:, 100:484]
    step = kernel(name, (32, 384)).bind(source, target)
    assert step is not None and step.args[0].ndim == 1  # the rows variant, over flat views
    step()
    expected = REFERENCE[name](source.astype(np.float64))
    np.testing.assert_allclose(target, expected, rtol=3 * ULP, atol=TINY)
    assert (block[:, :100] == 7).all() and (block[:, 484:] == 7).all()


def fused_ops(dtype, build):
    g = G.Graph()
    z = G.matrix(g, dtype, (32, 512), name="z", value=RNG.standard_normal((32, 512)).astype(dtype))
    c = G.matrix(g, dtype, (32, 128), name="c", value=RNG.standard_normal((32, 128)).astype(dtype))
    out = build(z, c)
    machine = G.TapeMachine(g, outputs=[out], backends=NUMBA, readable="lean")
    machine.run_all()
    got = np.array(out.value)
    G.TapeMachine(g, outputs=[out]).run_all()
    np.testing.assert_allclose(got, out.value, rtol=2e-6)
    return [str(ins.term.op) for ins in machine.program.instructions if ins.kind == "exec"]


def test_lone_float32_transcendentals_and_ops_on_slices_get_fused_kernels():
    assert fused_ops(np.float32, lambda z, c: G.tanh(c)) == ["fused[numba: 1 ops: tanh]"]
    assert fused_ops(np.float32, lambda z, c: z[:, 128:256] * c) == ["fused[numba: 1 ops: mul]"]
    assert fused_ops(np.float64, lambda z, c: z[:, 128:256] * c) == ["fused[numba: 1 ops: mul]"]
    assert fused_ops(np.float32, lambda z, c: G.transpose(z)[:128, :32] * 2.0) == ["fused[numba: 1 ops: mul]"]


def test_other_lone_ops_keep_their_own_kernels():
    assert fused_ops(np.float64, lambda z, c: G.tanh(c)) == ["tanh"]
    assert fused_ops(np.float32, lambda z, c: c * c) == ["mul"]
