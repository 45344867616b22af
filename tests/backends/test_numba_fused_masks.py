"""The numba backend's fused kernels with boolean steps (comparisons, casts: a ReLU
gradient) and with inputs broadcast around a middle block of axes (a convolution's
(C, 1, 1) bias): one fused kernel each, equal to numpy in float32 and float64, through
`kernel(..., out)` over garbage, `bind` and the TapeMachine."""

import re

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon import TensorType  # noqa: E402
from gorgon.dtypes import as_dtype  # noqa: E402
from gorgon.passes.fuse import FusedOp, Step  # noqa: E402
from gorgon_numba.fused import TOLERANCE, make_fused  # noqa: E402

DTYPES = [np.float32, np.float64]


def machines(build, dtype, seed=0):
    """The graph `build(g, dtype, rng)` makes, run with numba preferred and with numpy:
    the numba machine's listing and both machines' outputs."""
    results = []
    for backends in (("numba", "numpy"), ("numpy",)):
        g = G.Graph()
        output = build(g, dtype, np.random.default_rng(seed))
        machine = G.TapeMachine(g, outputs=[output], backends=backends, readable="lean")
        machine.run_all()
        results.append((str(machine.program), np.array(output.value)))
    (listing, got), (_, expected) = results
    return listing, got, expected


def close(got, expected, dtype):
    rtol, atol = TOLERANCE[np.dtype(dtype).name]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def value(g, dtype, rng, shape, name):
    return G.tensor(g, as_dtype(dtype), shape, name=name,
                    value=(rng.standard_normal(shape)).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_gradient_chain_is_one_kernel(dtype):
    def build(g, dtype, rng):
        x = value(g, dtype, rng, (64, 128), "x")
        gy = value(g, dtype, rng, (64, 128), "gy")
        return gy * G.cast(G.gt(x, 0.0), as_dtype(dtype))

    listing, got, expected = machines(build, dtype)
    assert "fused[numba: 3 ops: gt, cast" in listing
    assert not re.search(r"^\s*\d+\s+(gt|cast)\b", listing, re.MULTILINE)
    close(got, expected, dtype)
    assert np.count_nonzero(got == 0) > 1000  # the mask really zeroed half


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_bias_over_the_middle_axis_is_fused(dtype):
    def build(g, dtype, rng):
        x = value(g, dtype, rng, (4, 6, 5, 7), "x")
        b = value(g, dtype, rng, (6, 1, 1), "b")
        gy = value(g, dtype, rng, (4, 6, 5, 7), "gy")
        return G.relu(x + b) + gy * G.cast(G.le(x + b, 0.0), as_dtype(dtype))

    listing, got, expected = machines(build, dtype)
    assert listing.count("fused[numba") == 1
    assert not re.search(r"^\s*\d+\s+(add|relu|le|cast|mul)\b", listing, re.MULTILINE)
    close(got, expected, dtype)


@pytest.mark.parametrize("bias", [(6, 1), (1, 6, 1), (1, 6, 5, 1)])
def test_every_middle_block_broadcast_equals_numpy(bias):
    loop = (3, 6, 5, 2) if len(bias) == 4 else (4, 6, 5)

    def build(g, dtype, rng):
        x = value(g, dtype, rng, loop, "x")
        b = value(g, dtype, rng, bias, "b")
        return G.tanh(x * b - 1.0)

    listing, got, expected = machines(build, np.float64)
    assert "fused[numba" in listing
    close(got, expected, np.float64)


def test_a_broadcast_over_two_separate_blocks_is_declined_and_still_right():
    def build(g, dtype, rng):
        x = value(g, dtype, rng, (3, 4, 5, 6), "x")
        b = value(g, dtype, rng, (1, 4, 1, 6), "b")
        return G.exp(x + b)

    listing, got, expected = machines(build, np.float32)
    assert "fused[numba" not in listing
    close(got, expected, np.float32)


def kernel_of(steps, inputs, output):
    return make_fused(FusedOp(steps=tuple(steps), backend="numba"), inputs, output)


@pytest.mark.parametrize("dtype", DTYPES)
def test_middle_broadcast_kernel_writes_out_and_binds(dtype):
    """`(x + b) * y` with b (C, 1, 1) over (N, C, H, W), straight through the kernel."""
    code = np.dtype(dtype).str
    loop, bias = (3, 4, 5, 6), (4, 1, 1)
    add, mul = G.registry.ops["add"](), G.registry.ops["mul"]()
    steps = [Step(add, (0, 1), loop, code), Step(mul, (3, 2), loop, code)]
    types = [TensorType(loop, dtype), TensorType(bias, dtype), TensorType(loop, dtype)]
    kernel = kernel_of(steps, types, TensorType(loop, dtype))
    assert kernel is not None
    rng = np.random.default_rng(1)
    x, b, y = (rng.standard_normal(t.shape).astype(dtype) for t in types)
    expected = (x + b) * y
    for garbage in (np.nan, 1e30):
        out = np.full(loop, garbage, dtype)
        assert kernel(x, b, y, out) is out
        close(out, expected, dtype)
    out = np.full(loop, np.nan, dtype)
    kernel.bind(x, b, y, out)()
    close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_final_comparison_gives_booleans_and_a_cast_reads_them(dtype):
    code = np.dtype(dtype).str
    shape = (7, 9)
    gt, cast = G.registry.ops["gt"](), G.registry.ops["cast"](dtype=as_dtype(dtype))
    x = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    compare = kernel_of([Step(gt, (0, 1), shape, "|b1")],
                        [TensorType(shape, dtype), TensorType((), dtype)], TensorType(shape, np.bool_))
    out = np.zeros(shape, np.bool_)
    compare(x, np.array(0.25, dtype), out)
    np.testing.assert_array_equal(out, x > 0.25)
    back = kernel_of([Step(cast, (0,), shape, code)], [TensorType(shape, np.bool_)], TensorType(shape, dtype))
    result = np.full(shape, np.nan, dtype)
    back(out, result)
    np.testing.assert_array_equal(result, (x > 0.25).astype(dtype))


def test_booleans_elsewhere_are_declined():
    """A boolean fed to arithmetic, a comparison ending in a float output, two float dtypes."""
    shape = (4, 5)
    gt, mul = G.registry.ops["gt"](), G.registry.ops["mul"]()
    f32 = TensorType(shape, np.float32)
    assert kernel_of([Step(gt, (0, 1), shape, "|b1"), Step(mul, (2, 0), shape, "<f4")],
                     [f32, f32], f32) is None
    assert kernel_of([Step(gt, (0, 1), shape, "|b1")], [f32, f32], f32) is None
    assert kernel_of([Step(mul, (0, 1), shape, "<f4")], [f32, TensorType(shape, np.float64)], f32) is None
