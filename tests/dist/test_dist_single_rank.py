"""DataParallel in this process, a job of one rank: it trains exactly as the solver alone
does, saves and loads checkpoints, and refuses what it cannot train."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from dist_model import Model, global_batch, reference

import gorgon as G
from gorgon.errors import BindError, GorgonError
from gorgon_dist import DataParallel, DistError, run


def test_one_rank_trains_exactly_as_the_solver_alone():
    model = Model(8, "adam")
    trainer = DataParallel(model.params, model.solver)
    for step in range(3):
        model.run(*global_batch(step))
        trainer.average_gradients()
        assert model.params[0].grad is model.machine.grad_of(model.params[0])
        model.solver.step()
    trainer.check_in_sync()
    expected = reference("adam", 3)
    assert all(np.array_equal(value, expected[name]) for name, value in model.values().items())
    assert (trainer.rank, trainer.size, trainer.gradient_bytes) == (0, 1, 8 * (6 * 10 + 10 + 10 * 3 + 3))
    assert repr(trainer) == "<DataParallel rank 0 of 1: 4 parameters in 1 buckets of 824 bytes>"


def test_a_checkpoint_restores_parameters_and_solver_state(tmp_path):
    model = Model(8, "adam")
    trainer = DataParallel(model.params, model.solver)
    model.run(*global_batch(0))
    trainer.step()
    trainer.save(tmp_path / "ckpt.npz")
    saved = model.values()
    model.run(*global_batch(1))
    trainer.step()
    trainer.load(tmp_path / "ckpt.npz")
    assert model.solver.steps == 1
    assert all(np.array_equal(value, saved[name]) for name, value in model.values().items())


def test_a_failed_load_raises_naming_rank_zero(tmp_path):
    model = Model(8, "sgd")
    trainer = DataParallel(model.params, model.solver)
    with pytest.raises(DistError, match=r"rank 0 failed to load '.*missing.npz': "):
        trainer.load(tmp_path / "missing.npz")


def test_step_needs_a_solver_and_gradients():
    model = Model(8, "sgd")
    with pytest.raises(DistError, match="DataParallel.step needs a solver"):
        DataParallel(model.params).step()


def test_parameters_must_be_bound_float_inputs_matching_the_solver():
    g = G.Graph()
    unbound = G.vector(g, G.Float64, 3, name="unbound")
    counts = G.vector(g, G.Int64, 3, name="counts", value=np.zeros(3, np.int64))
    with pytest.raises(BindError, match="parameter .*unbound.* has no value bound"):
        DataParallel([unbound])
    with pytest.raises(GorgonError, match="every parameter must be a float input node"):
        DataParallel([counts])
    model = Model(8, "sgd")
    with pytest.raises(GorgonError, match="the solver's parameters .* are not the parameters given"):
        DataParallel(model.params[:2], model.solver)


def test_run_returns_what_main_returns_and_passes_a_clean_exit_on():
    assert run(lambda: 42) == 42
    with pytest.raises(SystemExit):
        run(lambda: sys.exit(0))


def test_the_package_names_only_what_it_exports():
    import gorgon_dist

    assert gorgon_dist.shard.__module__ == "gorgon_dist.sharding"
    with pytest.raises(AttributeError, match="module 'gorgon_dist' has no attribute 'Trainer'"):
        _ = gorgon_dist.Trainer
