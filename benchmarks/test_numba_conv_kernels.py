"""LeNet's convolution kernels (conv2d, conv2d_grad_weight, conv_transpose2d) on the
numba backend against the numpy kernels, per layer: batch 64, 3x3 windows, padding 1,
float32 (layer 1: 1 -> 32 channels at 28x28; layer 2: 32 -> 64 at 14x14). Each case
calls the two bound kernels in turn, 21 rounds in one process, and records their
medians in extra_info (ratios that hold on a shared machine).

    python -m pytest benchmarks/test_numba_conv_kernels.py --benchmark-enable
"""

import time

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

from gorgon.backends import find_kernel  # noqa: E402
from gorgon.registry import registry  # noqa: E402
from gorgon.types import TensorType  # noqa: E402

LAYERS = {"layer 1": (64, 1, 32, 28), "layer 2": (64, 32, 64, 14)}
GEOMETRY = dict(stride=1, padding=1, dilation=1, groups=1)
ROUNDS = 21


def case(op_name, layer):
    """The op and its float32 inputs for one of LeNet's layers."""
    n, c, f, size = LAYERS[layer]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    gy = rng.standard_normal((n, f, size, size)).astype(np.float32)
    registry.load()
    if op_name == "conv2d":
        return registry.ops[op_name](**GEOMETRY), (x, w)
    if op_name == "conv2d_grad_weight":
        return registry.ops[op_name](kernel_size=3, **GEOMETRY), (x, gy)
    return registry.ops[op_name](output_padding=0, **GEOMETRY), (gy, w)


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("op_name", ["conv2d", "conv2d_grad_weight", "conv_transpose2d"])
def test_conv_kernel(benchmark, record, op_name, layer):
    record(f"LeNet {layer} {op_name} kernel, numpy against numba (interleaved)", "numpy / numba")
    if benchmark.disabled:
        pytest.skip("a timing only: it measures nothing without --benchmark-enable")
    op, inputs = case(op_name, layer)
    expected = np.asarray(op.forward(*inputs))
    types = tuple(TensorType(a.shape, a.dtype) for a in inputs)
    backend, kernel = find_kernel(op, types, TensorType(expected.shape, expected.dtype), ("numba", "numpy"))
    assert backend == "numba"
    outs = {name: np.empty_like(expected) for name in ("numpy", "numba")}
    steps = {"numpy": lambda: op.forward(*inputs, out=outs["numpy"]),
             "numba": kernel.bind(*inputs, outs["numba"])}
    times = {name: [] for name in steps}

    def rounds() -> None:
        for _ in range(ROUNDS):
            for name, step in steps.items():
                start = time.perf_counter()
                step()
                times[name].append((time.perf_counter() - start) * 1e3)

    for step in steps.values():
        step()
    benchmark.pedantic(rounds, rounds=1, iterations=1)
    benchmark.extra_info["median_ms"] = {name: round(float(np.median(v)), 3) for name, v in times.items()}
    np.testing.assert_allclose(outs["numba"], outs["numpy"], rtol=1e-4, atol=1e-3)
