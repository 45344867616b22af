"""W6 data-parallel training step (gorgon_dist) on the W2 MLP workload: one rank in this
process as a smoke test; the 1- and 2-rank mpiexec jobs of benchmarks/dist_bench.py only
when benchmarking is enabled (they take seconds each)."""

import numpy as np
import pytest

pytest.importorskip("gorgon_dist")

import gorgon as G
from benchmarks.dist_bench import MLP_BATCH, launch, mlp_workload
from gorgon_dist import DataParallel


def test_w6_data_parallel_step_one_rank(benchmark, record):
    record("W6 data-parallel MLP step", "gorgon_dist, 1 rank in-process")
    run, params = mlp_workload(MLP_BATCH)
    trainer = DataParallel(params, G.solvers.SGD(params=params, learning_rate=1e-6))
    before = params[0].value.copy()

    def step():
        run()
        trainer.step()

    benchmark(step)
    assert not np.array_equal(params[0].value, before) and np.isfinite(params[0].value).all()


@pytest.mark.parametrize("ranks", [1, 2])
def test_w6_data_parallel_job(benchmark, record, ranks):
    if benchmark.disabled:
        pytest.skip("the mpiexec jobs run only when benchmarking (--benchmark-enable)")
    record("W6 data-parallel MLP job", f"gorgon_dist, {ranks} ranks")
    result = benchmark.pedantic(launch, args=(ranks, "mlp", 100), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    assert result["ranks"] == ranks and result["steps_per_s"] > 0
