"""Faults in real MPI jobs: a rank that raises or dies stops the whole job (the launch
timeout turns a hang into a failure) with an error naming the rank; ranks that build
different models, or drift apart, are caught with a clear error."""

from __future__ import annotations


def test_a_rank_that_raises_stops_the_job_and_is_named(mpirun):
    job = mpirun(2, "dist_ranks.py", "--fail-rank", "1", "--steps", "50")
    assert job.returncode != 0
    assert "gorgon_dist: rank 1 of 2 failed: RuntimeError: injected failure at step 1" in job.stderr


def test_without_the_launcher_a_rank_that_raises_aborts_the_job(mpirun):
    job = mpirun(2, "dist_ranks.py", "--fail-rank", "0", "--steps", "50", launcher=False)
    assert job.returncode != 0
    assert "gorgon_dist: rank 0 of 2 failed: RuntimeError: injected failure at step 1" in job.stderr


def test_a_rank_that_dies_stops_the_job_and_is_named(mpirun):
    job = mpirun(2, "dist_ranks.py", "--kill-rank", "0", "--steps", "50")
    assert job.returncode != 0
    assert "gorgon_dist: rank 0 of 2 died: killed by signal SIGKILL" in job.stderr


def test_a_rank_with_another_graph_is_found_at_start(mpirun):
    job = mpirun(2, "dist_ranks.py", "--hidden-on-last-rank", "7")
    assert job.returncode != 0
    assert "GraphMismatch: the ranks do not train the same model: rank 1 differs from rank 0" in job.stderr
    assert "parameter 0 is 'w0' (6, 7) float64, not 'w0' (6, 10) float64" in job.stderr
    assert "injected" not in job.stderr


def test_ranks_that_drift_apart_are_found(mpirun):
    job = mpirun(2, "dist_ranks.py", "--desync")
    assert job.returncode != 0
    assert "OutOfSync: ranks [1] hold parameters or solver state that differ from rank 0's" in job.stderr
