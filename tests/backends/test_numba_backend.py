"""The numba backend: every kernel it registers passes the kit's backend check, fused
chains and gradients equal numpy's, the on-disk cache works from a cold folder."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("gorgon_numba")

import gorgon as G  # noqa: E402
from gorgon.testing.backend_checks import backend_cases  # noqa: E402
from gorgon_numba.fused import EXPRESSIONS, REDUCTIONS  # noqa: E402

CASES = backend_cases("numba")
KERNELS = {"softmax", "log_softmax", "layer_norm", "max_pool2d", "max_pool2d_grad", "im2col", "col2im",
           "conv2d", "conv2d_grad_weight", "conv_transpose2d", "cross_entropy", "cross_entropy_grad", "batch_norm",
           "batch_norm_grad", "batch_norm_scale_grad"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_kit_backend_check(case):
    checked = case.run()
    if case.op in EXPRESSIONS or case.op in REDUCTIONS or case.op in KERNELS:
        assert checked > 0, f"numba declined every sample of {case.op}"
    else:
        assert checked == 0


def test_every_registered_kernel_is_checked():
    ops = {c.op for c in CASES}
    assert KERNELS <= ops and {"add", "tanh", "gelu", "sum", "mean"} <= ops


def chain(length, with_grad):
    g = G.Graph()
    x = G.vector(g, G.Float64, 16, name="x", value=np.linspace(-0.5, 0.5, 16))
    h = x
    for i in range(length):
        h = h + 0.1 if i % 3 == 0 else h * 0.9 if i % 3 == 1 else G.tanh(h)
    cost = G.sum(h)
    if with_grad:
        G.grad(cost, x)
    return g, x, cost


@pytest.mark.parametrize("with_grad", [False, True])
def test_a_chain_fuses_and_equals_numpy(with_grad):
    g, x, cost = chain(60, with_grad)
    G.TapeMachine(g).run_all()
    expected = cost.value.copy(), None if x.grad is None else x.grad.copy()
    machine = G.TapeMachine(g, backends=("numba",), readable="lean")
    machine.run_all()
    assert machine.program.op_count == (2 if with_grad else 1)
    assert "fused[numba: 61 ops" in str(machine.program)
    np.testing.assert_allclose(cost.value, expected[0], rtol=1e-12)
    if with_grad:
        np.testing.assert_allclose(x.grad, expected[1], rtol=1e-12)


def mlp_block(shape, dtype):
    g = G.Graph()
    rng = np.random.default_rng(0)
    x = G.matrix(g, dtype, shape, name="x", value=rng.standard_normal(shape).astype(dtype))
    scale = G.vector(g, dtype, shape[1], name="scale", value=np.ones(shape[1], dtype))
    shift = G.vector(g, dtype, shape[1], name="shift", value=np.zeros(shape[1], dtype))
    bias = G.vector(g, dtype, shape[1], name="bias", value=rng.standard_normal(shape[1]).astype(dtype))
    y = G.layer_norm(G.gelu(x + bias) * 0.5 + x, scale, shift)
    return g, y


@pytest.fixture
def threads(monkeypatch, request):
    """Parallel loops from 65,536 elements for the test's "parallel" case (off by default)."""
    if "parallel" in request.node.name:
        from gorgon import backends
        from gorgon_numba.fused import PARALLEL_ENV

        monkeypatch.setenv(PARALLEL_ENV, str(1 << 16))
        backends.forget()
        yield
        backends.forget()
    else:
        yield


@pytest.mark.parametrize("shape", [(8, 16), (300, 256)], ids=["small", "parallel"])
def test_a_gelu_layer_norm_block_equals_numpy(shape, threads):
    g, y = mlp_block(shape, G.Float32)
    G.TapeMachine(g, outputs=[y]).run_all()
    expected = y.value.copy()
    machine = G.TapeMachine(g, outputs=[y], backends=("numba",), readable="lean")
    machine.run_all()
    listing = str(machine.program)
    assert "fused[numba: 4 ops: add x2, gelu{approximate='none'}, mul]" in listing
    assert machine.program.op_count == 2
    np.testing.assert_allclose(y.value, expected, rtol=2e-4, atol=2e-5)
    G.LispMachine(g, outputs=[y], backends=("numba",), forward_only=True).run_all()
    np.testing.assert_allclose(y.value, expected, rtol=2e-4, atol=2e-5)


def test_a_strided_input_is_bound_through_its_view():
    g = G.Graph()
    base = np.arange(24.0).reshape(4, 6)
    x = G.matrix(g, G.Float64, (4, 3), name="x", value=base[:, ::2])
    y = G.tanh(x * 0.1) + 1.0
    machine = G.TapeMachine(g, outputs=[y], backends=("numba",), readable="lean")
    machine.run_all()
    np.testing.assert_allclose(y.value, np.tanh(base[:, ::2] * 0.1) + 1.0)
    base[:, ::2] += 1.0
    machine.run_all()
    np.testing.assert_allclose(y.value, np.tanh(base[:, ::2] * 0.1) + 1.0)


def test_a_cold_cache_folder_is_filled_and_reused(tmp_path):
    code = ("import numpy as np, gorgon as G\n"
            "g = G.Graph(); x = G.vector(g, G.Float32, 3, value=np.ones(3, np.float32))\n"
            "y = G.exp(x * 0.25) - 1.0\n"
            "m = G.TapeMachine(g, outputs=[y], backends=('numba',), readable='lean'); m.run_all()\n"
            "print(m.program.op_count, float(y.value[0]))\n")
    env = {"GORGON_NUMBA_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": ":".join(sys.path), "HOME": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    sources = list((tmp_path / "cache").glob("kernel_*.py"))
    cached = list((tmp_path / "cache").rglob("*.nbi"))
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout == second.stdout
    assert first.stdout.split()[0] == "1"
    assert float(first.stdout.split()[1]) == pytest.approx(np.exp(0.25) - 1.0, rel=1e-6)
    assert len(sources) == 1 and cached


def test_an_unwritable_cache_folder_falls_back(tmp_path, monkeypatch):
    from gorgon_numba import cache

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(cache.ENV, str(blocked / "sub"))
    folder = cache.cache_dir()
    assert folder != blocked / "sub" and folder.is_dir()
