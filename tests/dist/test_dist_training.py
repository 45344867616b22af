"""Real MPI jobs (`mpiexec -n 2`) training dist_model's MLP data-parallel: they must end
with bit-identical parameters on every rank, equal (to rounding) to one process training
on the whole global batch, and a job resumed from a checkpoint must end where an
uninterrupted one does."""

from __future__ import annotations

import numpy as np
import pytest
from dist_model import Model, reference

STEPS = 5


def rank_values(prefix, ranks: int) -> list[dict[str, np.ndarray]]:
    values = []
    for rank in range(ranks):
        with np.load(f"{prefix}.{rank}.npz") as data:
            values.append({key: data[key] for key in data.files})
    return values


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_two_ranks_match_one_process(mpirun, tmp_path, solver):
    out = tmp_path / "params"
    job = mpirun(2, "dist_ranks.py", "--solver", solver, "--steps", str(STEPS), "--out", str(out))
    assert job.returncode == 0, job.stderr
    first, second = rank_values(out, 2)
    expected = reference(solver, STEPS)
    start = Model(8, solver).values()
    assert sorted(first) == sorted(expected)
    for name in expected:
        assert np.array_equal(first[name], second[name]), f"{name} differs between the ranks"
        np.testing.assert_allclose(first[name], expected[name], rtol=0, atol=1e-12, err_msg=name)
        assert not np.allclose(first[name], start[name]), f"{name} did not train"


def test_resumed_job_ends_where_an_uninterrupted_one_does(mpirun, tmp_path):
    common = ["--solver", "adam", "--steps", "6", "--checkpoint", str(tmp_path / "ckpt.npz")]
    whole = mpirun(2, "dist_ranks.py", *common, "--out", str(tmp_path / "whole"))
    first_half = mpirun(2, "dist_ranks.py", *common, "--save-at", "3")
    resumed = mpirun(2, "dist_ranks.py", *common, "--resume", "--out", str(tmp_path / "resumed"))
    for job in (whole, first_half, resumed):
        assert job.returncode == 0, job.stderr
    with np.load(tmp_path / "ckpt.npz") as checkpoint:
        assert int(checkpoint["solver/steps"]) == 3
    expected, = rank_values(tmp_path / "whole", 1)
    for values in rank_values(tmp_path / "resumed", 2):
        for name in expected:
            assert np.array_equal(values[name], expected[name]), name
