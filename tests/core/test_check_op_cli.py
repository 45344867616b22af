"""`python -m gorgon check-op NAME`: the kit on an installed op's own samples, one line
per check, a non-zero exit code when one fails."""

import os
import subprocess
import sys

import gorgon.__main__ as cli
from gorgon.testing import iter_checks

SLOPPY = '''
import numpy as np
import gorgon as G
from gorgon.errors import DtypeError
from gorgon.infer import elementwise
from gorgon.testing import ErrorSample, Sample


class Halve(G.Op):
    """x / 2, with a gradient rule that forgets the 1/2."""

    name = "halve"

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        return np.multiply(x, 0.5, out=out)

    def vjp(self, inputs, output, gy):
        return (gy * 1.0,)


class Unsampled(Halve):
    name = "unsampled"


@G.hookimpl
def register_ops(register):
    register(Halve)
    register(Unsampled)


@G.hookimpl
def register_samples(register):
    register("halve", lambda: [Sample(np.ones(2), label="ones"),
                               ErrorSample(np.arange(2), error=DtypeError, match="float")])
'''


def test_check_op_prints_one_line_per_check_and_a_count(capsys):
    assert cli.main(["check-op", "neg", "--check", "gradient", "--check", "errors"]) == 0
    lines = capsys.readouterr().out.splitlines()
    cases = iter_checks("neg", checks=["gradient", "errors"])
    assert [line.split()[0] for line in lines[:len(cases)]] == [c.check for c in cases]
    assert all(line.endswith(" ... pass") for line in lines[:len(cases)])
    assert lines[len(cases):] == ["", f"neg: {len(cases)} passed, 0 skipped, 0 failed"]


def test_check_op_says_why_a_check_is_skipped(capsys):
    assert cli.main(["check-op", "argmax", "--check", "gradient"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("gradient      Sample(") and " ... skip: " in first
    assert first.endswith("is not differentiable")


def test_check_op_on_an_unknown_op_or_check_exits_2(capsys):
    assert cli.main(["check-op", "no_such_op"]) == 2
    assert "no installed plugin registers an op named 'no_such_op'" in capsys.readouterr().err
    assert cli.main(["check-op", "neg", "--check", "speed"]) == 2
    assert "unknown checks ['speed']" in capsys.readouterr().err


def test_check_op_fails_with_the_reason_and_a_snippet(fake_plugin, tmp_path):
    fake_plugin("sloppy", SLOPPY, dist="gorgon-ops-sloppy")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGON_")}
    env["PYTHONPATH"] = str(tmp_path)

    def check_op(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gorgon", "check-op", name],
                              capture_output=True, text=True, env=env)

    done = check_op("halve")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[2].startswith("gradient      Sample(ones) ... FAIL: gradient wrt 'x0' against central "
                               "differences: 2 of 2 elements differ")
    assert "errors        ErrorSample(int64(2,) -> DtypeError) ... pass" in lines
    assert "reproduce with:" in lines and lines[-1] == "halve: 6 passed, 0 skipped, 1 failed"
    unsampled = check_op("unsampled")
    assert unsampled.returncode == 1
    assert "op 'unsampled' has no conformance samples" in unsampled.stderr
