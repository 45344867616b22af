"""The example plugin (examples/gorgon-ops-example), installed as its own distribution:
gorgon lists it, its own test suite passes the conformance kit through the pytest
plugin, `check-op` checks its ops, and its ops train a model. Each runs in a new
interpreter, as a user's would."""

import os
import subprocess
import sys

TRAIN = '''
import numpy as np
import gorgon as G

rng = np.random.default_rng(3)
data = rng.uniform(-1.0, 1.0, (32, 3))
g = G.Graph()
x = G.matrix(g, G.Float64, (32, 3), name="x", value=data)
y = G.vector(g, G.Float64, (32,), name="y", value=np.tanh(data @ np.array([1.0, -2.0, 0.5])))
w = G.matrix(g, G.Float64, (3, 6), name="w", value=rng.normal(0.0, 0.5, (3, 6)))
v = G.vector(g, G.Float64, (6,), name="v", value=rng.normal(0.0, 0.5, 6))
hidden = G.swish(x @ w, beta=1.5) + G.bent_identity(x @ w)
prediction = G.polynomial(hidden @ v, coefficients=(0.0, 1.0, -0.1))
loss = G.mean(G.square(prediction - y))
machine = G.LispMachine(g, cost=loss, wrt=[w, v])
solver = G.solvers.SGD([w, v], learning_rate=0.1)
losses = []
for _ in range(60):
    machine.run_all()
    losses.append(float(loss.value))
    solver.step()
print(losses[0], losses[-1])
'''


def run(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGON_")}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_plugins_lists_the_example_distribution_and_its_ops(example_plugin):
    done = run("-m", "gorgon", "plugins")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = lines.index("example: gorgon-ops-example 0.1.0 (4 ops)")
    assert lines[header + 1] == "  ops: bent_identity polynomial swish weighted_mean"
    assert not lines[header + 2].startswith("  ERROR")


def test_the_example_suite_runs_the_kit_on_every_op_and_check(example_plugin):
    done = run("-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:hypothesispytest",
               "-p", "no:benchmark", cwd=str(example_plugin))
    assert done.returncode == 0, done.stdout + done.stderr
    passed = [line for line in done.stdout.splitlines() if " PASSED" in line]
    for op in ("swish", "bent_identity", "polynomial", "weighted_mean"):
        for check in ("inference", "out_kernel", "gradient", "lisp_agrees", "float32",
                      "second_order", "errors"):
            assert any(f"test_conformance[{op}-{check}-" in line for line in passed), (op, check)


def test_check_op_runs_the_kit_on_an_installed_op(example_plugin):
    done = run("-m", "gorgon", "check-op", "polynomial")
    assert done.returncode == 0, done.stdout + done.stderr
    *checks, blank, summary = done.stdout.splitlines()
    assert blank == "" and summary == f"polynomial: {len(checks)} passed, 0 skipped, 0 failed"
    assert "second_order  Sample(cubic) ... pass" in checks


def test_the_example_ops_train_a_model_on_the_lisp_machine(example_plugin):
    done = run("-c", TRAIN)
    assert done.returncode == 0, done.stderr
    first, last = map(float, done.stdout.split())
    assert last < first / 2
