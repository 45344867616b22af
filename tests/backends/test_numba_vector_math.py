"""gorgon-numba's float32 exp, sigmoid and tanh (vector_math, in arithmetic that
vectorises) against float64 numpy, and the standalone kernels over row layouts (elementwise)."""

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon.backends import find_kernel  # noqa: E402
from gorgon.registry import registry  # noqa: E402
from gorgon.types import TensorType  # noqa: E402
from gorgon_numba.row_layout import rows_of  # noqa: E402
from gorgon_numba.elementwise import make_elementwise  # noqa: E402
from scipy.special import expit  # noqa: E402

registry.load()
RNG = np.random.default_rng(11)
TINY = np.finfo(np.float32).tiny
ULP = 2.0 ** -24
REFERENCE = {"exp": np.exp, "sigmoid": expit, "tanh": np.tanh}


def kernel(name, shape=(4,)):
    op = registry.ops[name]()
    return make_elementwise(op, (TensorType(shape, np.float32),), TensorType(shape, np.float32))


def dense_values():
    return np.concatenate([np.linspace(-110, 95, 400_001), -np.logspace(-44, 2, 4001),
                           np.logspace(-44, 2, 4001)]).astype(np.float32)


@pytest.mark.parametrize("name, ulps", [("exp", 1.5), ("sigmoid", 3), ("tanh", 3)])
def test_within_a_few_ulp_of_float64_over_the_normal_range(name, ulps):
    x = dense_values()
    got = kernel(name)(x, np.empty_like(x))
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
    exp = kernel("exp")(x, np.empty_like(x))
    assert np.isnan(exp[0]) and exp[1] == np.inf and exp[2] == 0 and exp[3] == 1 and exp[4] == 1
    assert np.isfinite(exp[5]) and exp[6] == np.inf and exp[9] == 0 and exp[10] == np.inf
    assert 0 < exp[7] < TINY  # a subnormal, not flushed
    tanh = kernel("tanh")(x, np.empty_like(x))
    assert np.isnan(tanh[0]) and tanh[1] == 1 and tanh[2] == -1 and tanh[9] == -1 and tanh[10] == 1
    assert tanh[3] == 0 and not np.signbit(tanh[3]) and np.signbit(tanh[4])
    sigmoid = kernel("sigmoid")(x, np.empty_like(x))
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
    assert step is not None
    step()
    expected = REFERENCE[name](source.astype(np.float64))
    np.testing.assert_allclose(target, expected, rtol=3 * ULP, atol=TINY)
    assert (block[:, :100] == 7).all() and (block[:, 484:] == 7).all()


def test_contiguous_and_strided_arrays_bind_together_and_other_layouts_are_copied():
    x = RNG.standard_normal((32, 512)).astype(np.float32)
    tanh = kernel("tanh", (32, 128))
    out = np.empty((32, 128), np.float32)
    tanh.bind(x[:, :128], out)()
    np.testing.assert_allclose(out, np.tanh(x[:, :128]), rtol=3 * ULP)
    assert tanh.bind(x[:, ::4], out) is None and tanh.bind(x[:64, :64], out) is None
    transposed = np.empty((128, 32), np.float32).T
    assert tanh(x[:, ::4], transposed) is transposed
    np.testing.assert_allclose(transposed, np.tanh(x[:, ::4]), rtol=3 * ULP)


def test_only_float32_exp_sigmoid_and_tanh_are_taken():
    assert kernel("exp") is not None
    op = registry.ops["tanh"]()
    assert make_elementwise(op, (TensorType((4,), np.float64),), TensorType((4,), np.float64)) is None
    assert make_elementwise(registry.ops["log"](), (TensorType((4,), np.float32),), TensorType((4,), np.float32)) is None
    found = find_kernel(op, (TensorType((32, 384), np.float32),), TensorType((32, 384), np.float32),
                        ("numba", "numpy"))
    assert found is not None and found[0] == "numba"


def test_a_machine_runs_the_gate_activations_on_numba_as_numpy_does():
    value = (RNG.standard_normal((32, 512)) * 3).astype(np.float32)
    results = []
    for backends in (("numba", "numpy"), ("numpy",)):
        g = G.Graph()
        z = G.matrix(g, G.Float32, (32, 512), name="z", value=value)
        gates = G.sigmoid(z[:, :384]) * G.sum(G.tanh(z[:, 384:]))
        machine = G.TapeMachine(g, backends=backends)
        machine.run_all()
        results.append(np.array(gates.value))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5)
