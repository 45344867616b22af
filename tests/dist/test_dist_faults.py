"""Faults in real MPI jobs: a rank that raises or dies stops the whole job (the launch
timeout turns a hang into a failure) with an error naming the rank; ranks that build
different models, or drift apart, are caught with a clear error."""

from __future__ import annotations

import time

import pytest


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


def test_a_rank_with_another_loss_on_the_same_parameters_is_found_at_start(mpirun):
    job = mpirun(2, "dist_ranks.py", "--loss-scale-on-last-rank", "2")
    assert job.returncode != 0
    assert "GraphMismatch: the ranks do not train the same model: rank 1 differs from rank 0: " in job.stderr
    assert "the graph differs at node " in job.stderr and "constant " in job.stderr


def test_ranks_with_other_bucket_sizes_are_found_at_start(mpirun):
    job = mpirun(2, "dist_ranks.py", "--bucket-bytes-on-last-rank", "64")
    assert job.returncode != 0
    assert "bucket_bytes 64 instead of 33554432" in job.stderr
    assert "Message truncated" not in job.stderr


@pytest.mark.parametrize("how", ["return", "exit"])
@pytest.mark.parametrize("launcher", [True, False])
def test_a_rank_that_leaves_early_is_named_at_once(mpirun, how, launcher):
    job = mpirun(2, "dist_ranks.py", "--leave-rank", "1", "--leave-by", how, "--steps", "5",
                 "--timeout", "30", launcher=launcher)
    assert job.returncode != 0
    assert "gorgon_dist: rank 0 of 2 failed: rank 1 of 2 left the job after " in job.stderr
    assert "the ranks did not run the same steps" in job.stderr


def test_a_rank_that_runs_one_step_more_is_stopped_naming_the_other(mpirun):
    job = mpirun(2, "dist_ranks.py", "--extra-step-rank", "0", "--steps", "3", "--timeout", "30")
    assert job.returncode != 0
    assert "gorgon_dist: rank 0 of 2 failed: rank 1 of 2 left the job after " in job.stderr
    assert "waits in call " in job.stderr and "the gradient allreduce of step 4" in job.stderr


def test_a_rank_that_stops_calling_collectives_ends_the_job_within_the_timeout(mpirun):
    start = time.monotonic()
    job = mpirun(2, "dist_ranks.py", "--stall-rank", "1", "--steps", "5", "--timeout", "2")
    assert job.returncode != 0
    assert time.monotonic() - start < 30
    assert "gorgon_dist: rank 0 of 2 failed: rank 0 of 2 waited 2 s in call " in job.stderr
    assert "ranks [1] never came (stuck, or busy outside gorgon_dist's collectives)" in job.stderr
