"""Launching real MPI jobs from the distributed tests: `mpirun(n, script, *args)` runs
`mpiexec -n n python -m gorgon_dist script args` (`launcher=False`: `python script args`)
in tests/dist with a timeout, so a hang fails the test instead of stalling the suite.
Skips cleanly where mpi4py or mpiexec is not installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TIMEOUT = 60


@pytest.fixture
def mpirun():
    pytest.importorskip("mpi4py")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("mpiexec is not installed (pip install mpich)")

    def launch(ranks: int, script: str | Path, *args: str, launcher: bool = True) -> subprocess.CompletedProcess:
        python = [sys.executable, "-m", "gorgon_dist"] if launcher else [sys.executable]
        command = [mpiexec, "-n", str(ranks), *python, str(script), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=HERE,
                              check=False)

    return launch
