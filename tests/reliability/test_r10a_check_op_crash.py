"""`python -m gorgon check-op` on an op whose kernel kills the interpreter (abort, segfault):
each check's line is written and flushed as it starts, with faulthandler on, so the last
line names the check and sample that crashed and stderr holds the kernel's traceback."""

import os
import re
import subprocess
import sys

import pytest

FRAGILE = '''
import faulthandler
import os

import numpy as np
import gorgon as G
from gorgon.infer import elementwise
from gorgon.testing import Sample


class Fragile(G.Op):
    """x, except that a length-3 input kills the interpreter."""

    name = "fragile"

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        if x.shape == (3,):
            {crash}
        if out is None:
            return x.copy()
        np.copyto(out, x)
        return out

    def vjp(self, inputs, output, gy):
        return (gy,)


@G.hookimpl
def register_ops(register):
    register(Fragile)


@G.hookimpl
def register_samples(register):
    register("fragile", lambda: [Sample(np.ones(2), label="fine"), Sample(np.ones(3), label="deadly")])
'''


@pytest.mark.parametrize("crash", ["os.abort()", "faulthandler._sigsegv()"])
def test_the_last_line_names_the_check_and_sample_that_crashed(fake_plugin, tmp_path, crash):
    module = fake_plugin("fragile", FRAGILE.replace("{crash}", crash), dist="gorgon-ops-fragile")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GORGON_")}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "gorgon", "check-op", "fragile"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode < 0, (done.returncode, done.stdout, done.stderr)
    *finished, last = done.stdout.splitlines()
    assert finished and all(re.fullmatch(r"\w+ +Sample\(fine\) \.\.\. (pass|skip.*)", line)
                            for line in finished), finished
    assert re.fullmatch(r"\w+ +Sample\(deadly\) \.\.\. ", last), last
    assert "Fatal Python error" in done.stderr
    assert re.search(rf'File "[^"]*{module}\.py", line \d+ in forward', done.stderr), done.stderr
