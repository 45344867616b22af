"""conv2d on the TapeMachine beside torch.nn.functional.conv2d, in one run: batch 32
of 3x32x32, 32 filters 3x3, padding 1, float32 ("conv2d"), and a case where channels
dominate, batch 64 of 64x14x14, 64 filters 3x3, padding 1 ("conv2d 64ch"); forward, and
forward+backward (both gradients, given the output's gradient); and LeNet's first 2x2
max-pool, batch 64 of 32x28x28, forward and forward+backward ("max_pool2d"). Each case records its GFLOP/s at the median
in extra_info["gflops"], beside this machine's float32 GEMM rate measured in the same
run. The torch cases skip when torch is absent.

    python -m pytest benchmarks/test_conv_bench.py --benchmark-enable --benchmark-json=conv.json
    python -m benchmarks.report conv.json
"""

import numpy as np
import pytest

import gorgon as G

BATCH, CHANNELS, SIZE, FILTERS, KERNEL = 32, 3, 32, 32, 3
GEMM_SIZE = 1024
WARMUP = 10


CASES = {"conv2d": (BATCH, CHANNELS, SIZE, FILTERS), "conv2d 64ch": (64, 64, 14, 64)}


def inputs(case="conv2d"):
    batch, channels, size, filters = CASES[case]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    w = rng.standard_normal((filters, channels, KERNEL, KERNEL)).astype(np.float32)
    gy = rng.standard_normal((batch, filters, size, size)).astype(np.float32)
    return x, w, gy


def forward_flop(case):
    batch, channels, size, filters = CASES[case]
    return 2 * batch * filters * size * size * channels * KERNEL * KERNEL


def measure(benchmark, function, flop=None):
    """Warm `function` up, benchmark it, and record its GFLOP/s at the median when given
    its `flop` (and benchmarks are enabled, not when they run once as tests)."""
    for _ in range(WARMUP):
        function()
    benchmark(function)
    if benchmark.stats and flop is not None:
        benchmark.extra_info["gflops"] = round(flop / benchmark.stats.stats.median / 1e9, 1)


def direct_pixel(x, w, n, f, row, col):
    """One output pixel of the padded convolution, summed directly in float64."""
    xp = np.pad(x[n].astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    return float(np.sum(xp[:, row:row + KERNEL, col:col + KERNEL] * w[f]))


@pytest.mark.parametrize("case", list(CASES))
def test_conv2d_forward_tape(benchmark, record, case):
    record(f"{case} forward", "gorgon TapeMachine")
    x, w, _ = inputs(case)
    g = G.Graph()
    xn = G.tensor(g, G.Float32, x.shape, value=x, name="x")
    wn = G.tensor(g, G.Float32, w.shape, value=w, name="w")
    y = G.conv2d(xn, wn, padding=1)
    machine = G.TapeMachine(g)
    measure(benchmark, machine.run_all, forward_flop(case))
    assert y.value.dtype == np.float32
    assert y.value[3, 5, 0, 7] == pytest.approx(direct_pixel(x, w, 3, 5, 0, 7), rel=1e-4, abs=1e-3)


@pytest.mark.parametrize("case", list(CASES))
def test_conv2d_forward_torch(benchmark, record, torch, case):
    record(f"{case} forward", "torch eager")
    x, w, _ = (torch.from_numpy(a) for a in inputs(case))

    def forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(x, w, padding=1)

    measure(benchmark, forward, forward_flop(case))
    assert forward().shape == (x.shape[0], w.shape[0]) + x.shape[2:]


@pytest.mark.parametrize("case", list(CASES))
def test_conv2d_forward_backward_tape(benchmark, record, case):
    record(f"{case} forward+backward", "gorgon TapeMachine")
    x, w, gy = inputs(case)
    g = G.Graph()
    xn = G.tensor(g, G.Float32, x.shape, value=x, name="x")
    wn = G.tensor(g, G.Float32, w.shape, value=w, name="w")
    gyn = G.tensor(g, G.Float32, gy.shape, value=gy, name="gy")
    y = G.conv2d(xn, wn, padding=1)
    gx, gw = G.grad(y, xn, wn, grad_output=gyn)
    machine = G.TapeMachine(g)
    measure(benchmark, machine.run_all, 3 * forward_flop(case))
    assert gx.value.dtype == gw.value.dtype == np.float32
    corner = np.einsum("nfhw,nchw->fc", gy[:, :, 1:, 1:].astype(np.float64), x[:, :, :-1, :-1])
    assert gw.value[:, :, 0, 0] == pytest.approx(corner, rel=1e-3, abs=1e-2)


@pytest.mark.parametrize("case", list(CASES))
def test_conv2d_forward_backward_torch(benchmark, record, torch, case):
    record(f"{case} forward+backward", "torch eager")
    x, w, gy = (torch.from_numpy(a) for a in inputs(case))
    x.requires_grad_(True)
    w.requires_grad_(True)

    def step():
        x.grad = w.grad = None
        torch.nn.functional.conv2d(x, w, padding=1).backward(gy)

    measure(benchmark, step, 3 * forward_flop(case))
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


def test_float32_gemm_rate(benchmark, record):
    record("float32 GEMM 1024x1024", "numpy BLAS")
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((GEMM_SIZE, GEMM_SIZE)).astype(np.float32) for _ in range(2))
    out = np.empty((GEMM_SIZE, GEMM_SIZE), np.float32)
    measure(benchmark, lambda: np.matmul(a, b, out=out), 2 * GEMM_SIZE ** 3)
    assert out.dtype == np.float32
    assert out[17, 29] == pytest.approx(float(a[17].astype(np.float64) @ b[:, 29]), rel=1e-3, abs=1e-2)


POOL_SHAPE = (64, 32, 28, 28)


def pool_inputs():
    rng = np.random.default_rng(2)
    x = np.maximum(rng.standard_normal(POOL_SHAPE), 0).astype(np.float32)  # after a ReLU: ties at 0
    gy = rng.standard_normal(POOL_SHAPE[:2] + (POOL_SHAPE[2] // 2, POOL_SHAPE[3] // 2)).astype(np.float32)
    return x, gy


def pool_reference(x, gy, n, c, row, col):
    """The input gradient of one 2x2 window, by hand: gy at the window's first largest element."""
    window = x[n, c, 2 * row:2 * row + 2, 2 * col:2 * col + 2]
    expected = np.zeros((2, 2), np.float32)
    expected[np.unravel_index(np.argmax(window), (2, 2))] = gy[n, c, row, col]
    return expected


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "forward+backward"])
def test_max_pool_tape(benchmark, record, backward):
    record(f"max_pool2d {'forward+backward' if backward else 'forward'}", "gorgon TapeMachine")
    x, gy = pool_inputs()
    g = G.Graph()
    xn = G.tensor(g, G.Float32, x.shape, value=x, name="x")
    y = G.max_pool2d(xn, 2)
    if backward:
        (gx,) = G.grad(y, xn, grad_output=G.tensor(g, G.Float32, gy.shape, value=gy, name="gy"))
    machine = G.TapeMachine(g)
    measure(benchmark, machine.run_all)
    assert y.value[5, 3, 4, 6] == x[5, 3, 8:10, 12:14].max()
    if backward:
        np.testing.assert_array_equal(gx.value[5, 3, 8:10, 12:14], pool_reference(x, gy, 5, 3, 4, 6))


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "forward+backward"])
def test_max_pool_torch(benchmark, record, torch, backward):
    record(f"max_pool2d {'forward+backward' if backward else 'forward'}", "torch eager")
    x, gy = (torch.from_numpy(a) for a in pool_inputs())
    x.requires_grad_(backward)

    def step():
        x.grad = None
        if not backward:
            with torch.no_grad():
                return torch.nn.functional.max_pool2d(x, 2)
        y = torch.nn.functional.max_pool2d(x, 2)
        y.backward(gy)
        return y

    measure(benchmark, step)
    assert step().shape == gy.shape
