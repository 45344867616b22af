"""The rank launcher (`python -m gorgon_dist script.py`), run here outside mpiexec: it
passes a script's exit status on and names a rank that died."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from gorgon_dist.supervise import REPORTED, describe_exit, main, rank_environment


@pytest.fixture
def outside_mpiexec(monkeypatch):
    for name in ("PMI_RANK", "PMI_SIZE", "PMI_FD", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)


def test_exit_statuses_in_words():
    assert describe_exit(-9) == "killed by signal SIGKILL"
    assert describe_exit(3) == "exited with status 3"


def test_a_script_that_dies_is_named_and_its_status_passed_on(outside_mpiexec, capfd, tmp_path):
    script = tmp_path / "dies.py"
    script.write_text("import os\nos._exit(3)\n")
    assert main([str(script)]) == 3
    assert "gorgon_dist: rank 0 of 1 died: exited with status 3" in capfd.readouterr().err


def test_a_clean_exit_and_a_reported_failure_add_nothing(outside_mpiexec, capfd, tmp_path):
    script = tmp_path / "exits.py"
    script.write_text("import sys\nsys.exit(int(sys.argv[1]))\n")
    assert main([str(script), "0"]) == 0
    assert main([str(script), str(REPORTED)]) == REPORTED
    assert "gorgon_dist" not in capfd.readouterr().err


def test_a_killed_script_is_reported_with_its_signal(outside_mpiexec, capfd, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert main([str(script)]) == 128 + 9
    assert "gorgon_dist: rank 0 of 1 died: killed by signal SIGKILL" in capfd.readouterr().err


def test_without_a_script_it_prints_its_usage(capfd):
    assert main([]) == 2
    assert "usage: mpiexec -n N python -m gorgon_dist script.py" in capfd.readouterr().err


def test_a_rank_reporting_its_own_failure_is_not_named_twice(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text("import gorgon_dist\n\ndef main():\n    raise KeyError('lost')\n\n"
                      "gorgon_dist.run(main)\n")
    job = subprocess.run([sys.executable, "-m", "gorgon_dist", str(script)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert job.returncode == REPORTED
    assert "gorgon_dist: rank 0 of 1 failed: KeyError: 'lost'" in job.stderr
    assert "died" not in job.stderr


def test_ranks_share_the_cores_unless_a_thread_count_is_set(outside_mpiexec, monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MPI_LOCALNRANKS", str(4 * os.cpu_count()))
    assert rank_environment()["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    assert "OMP_NUM_THREADS" not in rank_environment()
