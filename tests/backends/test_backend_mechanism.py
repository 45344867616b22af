"""Kernel backends without numba: a toy backend plugin registers kernels for other
plugins' ops (good ones, one that fails to compile, one that raises at run time, a fused
generator), and the machines choose, fall back and report."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import gorgon as G
from gorgon import backends
from gorgon.__main__ import plugins_report
from gorgon.backends import BackendWarning, check_backends
from gorgon.registry import Registry, registry

CALLS = {"tanh": 0, "fused": 0}


class ToyFused:
    """Evaluates a fused op's steps with numpy into out (counting calls)."""

    def __init__(self, op):
        self.op = op

    def __call__(self, *arrays):
        *inputs, out = arrays
        CALLS["fused"] += 1
        return self.op.forward(*inputs, out=out)


def make_fused(op, inputs, output):
    return ToyFused(op) if output.dtype == np.float64 else None


make_fused.fuses = lambda op, inputs, output: op.name in ("add", "mul", "tanh", "sum", "sub", "square")


def make_tanh(op, inputs, output):
    def kernel(x, out):
        CALLS["tanh"] += 1
        return np.tanh(x, out=out)

    return kernel


def make_exp(op, inputs, output):
    def kernel(x, out):
        raise RuntimeError("toy exp is broken")

    return kernel


def make_neg(op, inputs, output):
    raise ValueError("toy cannot compile neg")


def make_sqrt(op, inputs, output):
    return None  # declines every type


class Toy:
    @G.hookimpl
    def register_kernels(register):
        register("tanh", "toy", make_tanh)
        register("exp", "toy", make_exp)
        register("neg", "toy", make_neg)
        register("sqrt", "toy", make_sqrt)
        register("fused", "toy", make_fused)


@pytest.fixture
def toy(backend_plugin):
    backend_plugin("toy", Toy)
    CALLS.update(tanh=0, fused=0)
    backends.forget()


def vector(values=(0.1, -0.2, 0.3)):
    g = G.Graph()
    return g, G.vector(g, G.Float64, len(values), name="x", value=np.array(values))


def test_plugins_report_lists_kernels_per_backend(toy):
    report = plugins_report()
    assert "  kernels (toy): exp fused neg sqrt tanh" in report
    assert registry.kernel_maker("tanh", "toy") is make_tanh
    assert "toy" in registry.backends()


def test_the_preferred_backend_runs_and_numpy_is_the_default(toy):
    g, x = vector()
    y = G.tanh(x)
    G.TapeMachine(g).run_all()
    assert CALLS["tanh"] == 0
    machine = G.TapeMachine(g, backends=("toy", "numpy"))
    machine.run_all()
    machine.run_all()
    assert CALLS["tanh"] == 2 and machine.backends == ("toy", "numpy")
    np.testing.assert_array_equal(y.value, np.tanh(x.value))
    G.LispMachine(g, backends=("toy",), forward_only=True).run_all()
    assert CALLS["tanh"] == 3
    np.testing.assert_array_equal(y.value, np.tanh(x.value))


def test_the_environment_variable_chooses_backends(toy, monkeypatch):
    monkeypatch.setenv("GORGON_BACKENDS", "toy, numpy")
    assert check_backends(None) == ("toy", "numpy")
    g, x = vector()
    G.tanh(x)
    G.TapeMachine(g).run_all()
    assert CALLS["tanh"] == 1
    monkeypatch.setenv("GORGON_BACKENDS", "")
    assert check_backends(None) == ("numpy",)


def test_numpy_is_always_the_last_resort(toy):
    assert check_backends(["toy"]) == ("toy", "numpy")
    assert check_backends(("numpy", "toy")) == ("numpy", "toy")
    g, x = vector()
    G.tanh(x)
    G.TapeMachine(g, backends=("numpy", "toy")).run_all()
    assert CALLS["tanh"] == 0


def test_bad_backend_arguments_are_refused(toy):
    with pytest.raises(G.ArgumentTypeError, match="sequence of backend names"):
        check_backends("toy")
    with pytest.raises(G.ArgumentValueError, match="not a backend name"):
        G.TapeMachine(G.Graph(), backends=("toy", "no such"))
    with pytest.warns(BackendWarning, match="backend 'nothere' has no kernels registered"):
        check_backends(("nothere",))


def test_a_kernel_raising_at_run_time_is_reported_once_and_numpy_used(toy):
    g, x = vector()
    y = G.exp(x)
    z = G.tanh(y)
    machine = G.TapeMachine(g, backends=("toy",))
    with pytest.warns(BackendWarning, match=r"op exp: the toy kernel raised at run time \(RuntimeError: toy exp"):
        machine.run_all()
    np.testing.assert_allclose(z.value, np.tanh(np.exp(x.value)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        machine.run_all()
        G.TapeMachine(g, backends=("toy",)).run_all()
    assert any("op exp" in line for line in backends.failures)
    assert CALLS["tanh"] == 3


def test_the_lisp_machine_falls_back_too(toy):
    g, x = vector()
    y = G.exp(x)
    machine = G.LispMachine(g, backends=("toy",), forward_only=True)
    with pytest.warns(BackendWarning, match="op exp: the toy kernel raised at run time"):
        machine.run_all()
    np.testing.assert_allclose(y.value, np.exp(x.value))
    machine.run_all()
    np.testing.assert_allclose(y.value, np.exp(x.value))


def test_watched_and_profiled_runs_fall_back(toy):
    for options in ({"watch_nan": True}, {"profile": True}):
        backends.forget()
        g, x = vector()
        y = G.exp(x)
        with pytest.warns(BackendWarning, match="op exp"):
            G.TapeMachine(g, backends=("toy",), **options).run_all()
        np.testing.assert_allclose(y.value, np.exp(x.value))


def test_a_kernel_failing_to_compile_is_reported_and_declining_is_silent(toy):
    g, x = vector((1.0, 4.0))
    y, r = -x, G.sqrt(x)
    with pytest.warns(BackendWarning, match=r"op neg: the toy kernel failed to compile \(ValueError: toy cannot"):
        G.TapeMachine(g, backends=("toy",)).run_all()
    np.testing.assert_array_equal(y.value, [-1.0, -4.0])
    np.testing.assert_array_equal(r.value, [1.0, 2.0])


class Picky(G.Op):
    """Fails on negative inputs, in numpy too."""

    name = "picky"

    def infer(self, x):
        return G.TensorType(x.shape, x.dtype)

    def forward(self, x, out=None):
        if (x < 0).any():
            raise ValueError("picky: negative input")
        return np.copyto(out, x) or out


def test_a_failure_numpy_shares_is_the_op_failure(toy):
    def make_bad(op, inputs, output):
        def kernel(x, out):
            raise RuntimeError("toy picky")
        return kernel

    registry.kernels[("picky", "toy")] = make_bad
    g, x = vector((1.0, -1.0))
    y = G.apply(Picky(), x)
    with pytest.raises(G.GorgonError, match="picky: negative input"):
        G.TapeMachine(g, backends=("toy",)).run_all()
    assert not any("picky" in line for line in backends.failures)
    G.let(x, np.array([1.0, 2.0]))
    with pytest.warns(BackendWarning, match="op picky: the toy kernel raised at run time"):
        G.TapeMachine(g, backends=("toy",)).run_all()
    np.testing.assert_array_equal(y.value, [1.0, 2.0])


def test_a_registration_twice_is_refused_naming_both():
    reg = Registry(group="gorgon-none")

    class Other:
        @G.hookimpl
        def register_kernels(register):
            register("tanh", "toy", make_tanh)
            register("tanh", "numpy", make_tanh)

    reg.add_plugin(Toy, "toy")
    reg.add_plugin(Other, "other")
    reg.load()
    assert reg.kernel_maker("tanh", "toy") is None
    assert reg.kernel_maker("exp", "toy") is make_exp
    problems = " ".join(map(str, reg.plugins["other"].failures))
    assert "kernel ('tanh', 'toy') is registered by two plugins: 'toy'" in problems
    assert "expected a backend name other than 'numpy'" in problems
    assert ("toy", "tanh") not in reg.plugins["toy"].kernels


def test_a_backend_plugin_failing_to_import_leaves_the_others(fake_plugin):
    fake_plugin("brokenbackend", "raise ImportError('no such compiler')\n")
    fake_plugin("goodbackend", """
        import numpy as np
        import gorgon as G

        @G.hookimpl
        def register_kernels(register):
            register("tanh", "good", lambda op, inputs, output: (lambda x, out: np.tanh(x, out=out)))
        """)
    code = ("import numpy as np, gorgon as G\n"
            "from gorgon.registry import registry\n"
            "g = G.Graph(); x = G.vector(g, G.Float64, 2, value=np.ones(2)); y = G.tanh(x)\n"
            "G.TapeMachine(g, backends=('good', 'numba')).run_all()\n"
            "print(registry.plugins['brokenbackend'].error is not None, registry.backends() >= {'good'},"
            " bool(np.allclose(y.value, np.tanh(1.0))))\n")
    env_path = ":".join(sys.path)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, check=True)
    assert result.stdout.split() == ["True", "True", "True"]
