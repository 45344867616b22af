"""Errors point at the right line: a node's "built at" is the user's line, or the
plugin's for a node the conformance kit built (never gorgon's own frames); a kernel
failure also names the kernel's line that raised."""

import functools
import os
import subprocess
import sys

import numpy as np
import pytest

import gorgon as G
from gorgon.origin import defined_at, raised_at, user_origin

CRASH = '''
import numpy as np
import gorgon as G
from gorgon.infer import elementwise
from gorgon.testing import Sample


class Crash(G.Op):
    """x, with a kernel that fails."""

    name = "crash"

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        raise ValueError("the kernel gave up")

    def vjp(self, inputs, output, gy):
        return (gy,)


class Scaled(Crash):
    name = "scaled_crash"

    @classmethod
    def call(cls, x, factor=2.0):
        return G.apply(cls(factor=factor), x)


@G.hookimpl
def register_ops(register):
    register(Crash)
    register(Scaled)


@G.hookimpl
def register_samples(register):
    register("crash", lambda: [Sample(np.ones(2), label="ones")])
    register("scaled_crash", lambda: [Sample(np.ones(2), label="ones")])
'''


def line_of(path, text):
    with open(path) as handle:
        return next(i for i, line in enumerate(handle, 1) if text in line)


def test_a_node_built_by_user_code_points_at_that_line():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.ones(3))
    y = G.softmax(G.tanh(x) * 2.0)  # the line
    assert y.origin == f"{__file__}:{line_of(__file__, '# the line')}"
    (dx,) = G.grad(G.sum(y * y), x)  # the grad line
    assert dx.origin == f"{__file__}:{line_of(__file__, '# the grad line')}"


def module_function(name, filename, source):
    """A function compiled as if it lived in module `name`, file `filename`."""
    namespace = {"__name__": name}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["run"]


def test_kit_frames_are_skipped_for_the_outermost_plugin_line_or_the_kernel():
    kit = module_function("gorgon.testing.fake_kit", "/kit/fake_kit.py",
                          "def run(function, *args):\n    return function(*args)\n")
    plugin = module_function("gorgon_fake_ops.call", "/plugin/ops.py",
                             "def run(origin):\n    return origin()\n")
    assert kit(plugin, user_origin) == "/plugin/ops.py:2"
    op = G.registry.op("tanh")()
    assert kit(user_origin, op) == defined_at(op)
    assert defined_at(op).startswith(sys.modules[type(op).__module__].__file__)
    assert kit(user_origin) == "/kit/fake_kit.py:2"


def test_raised_at_names_the_innermost_frame_outside_gorgon_and_numpy():
    def kernel():
        return np.reshape(np.ones(3), (2,))  # the kernel line

    with pytest.raises(ValueError) as info:
        kernel()
    assert raised_at(info.value) == f"{__file__}:{line_of(__file__, '# the kernel line')}"
    assert raised_at(ValueError("never raised")) is None


def test_an_execution_error_names_the_plugin_line_when_the_kit_built_it(fake_plugin, tmp_path):
    module = fake_plugin("crash", CRASH, dist="gorgon-ops-crash")
    source = str(tmp_path / f"{module}.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGON_")}
    env["PYTHONPATH"] = str(tmp_path)
    forward = f"{source}:{line_of(source, 'def forward')}"
    raised = f"{source}:{line_of(source, 'raise ValueError')}"
    called = f"{source}:{line_of(source, 'return G.apply')}"
    for op, built in (("crash", forward), ("scaled_crash", called)):
        command = [sys.executable, "-m", "gorgon", "check-op", op, "--check", "gradient"]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        assert done.returncode == 1
        assert f"built at {built}; raised at {raised}" in done.stdout, done.stdout
        assert "__main__.py" not in done.stdout and f"{os.sep}gorgon{os.sep}" not in done.stdout


def test_a_failing_ufunc_kernel_is_named_when_no_python_line_raised():
    g = G.Graph()
    x = G.vector(g, G.Float64, 2, name="x", value=np.ones(2))
    y = G.exp(x)
    machine = G.TapeMachine(g)
    machine.run_all()
    machine._steps[0] = functools.partial(np.exp, np.ones(3), np.empty(2))
    expected = r"built at .*test_origin.py:\d+; raised in the kernel of exp"
    with pytest.raises(G.ExecutionError, match=expected):
        machine.run_all()
    assert y.origin.startswith(__file__)
