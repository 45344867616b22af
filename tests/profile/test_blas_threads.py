"""blas_threads= and GORGON_BLAS_THREADS: BLAS runs with that many threads during a run
of either machine and gets its own setting back afterwards, also after a failed run."""

import numpy as np
import pytest

import gorgon as G
from gorgon.vm.threads import ENV, check_blas_threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_now() -> list[int]:
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]


def graph_seeing_blas(seen):
    """A graph whose one op records BLAS's thread count while it runs."""

    class Probe(G.Op):
        name = "probe_blas"

        def infer(self, x):
            return G.TensorType(x.shape, x.dtype)

        def forward(self, x, out=None):
            seen.append(blas_now())
            if not np.isfinite(x).all():
                raise ValueError("not finite")
            result = x * 2 if out is None else np.multiply(x, 2, out=out)
            return result

    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.ones(3))
    G.apply(Probe(), x)
    return g, x


@pytest.mark.parametrize("machine", [G.TapeMachine, G.LispMachine])
def test_runs_use_the_given_blas_threads_and_restore_them(machine):
    seen = []
    g, x = graph_seeing_blas(seen)
    m = machine(g, blas_threads=1)
    machine(g).run_all()
    before = blas_now()
    if not before:
        pytest.skip("no BLAS library threadpoolctl can control")
    m.run_all()
    assert seen[-1] == [1] * len(before)
    assert blas_now() == before
    G.let(x, np.array([1.0, np.nan, 1.0]))
    with pytest.raises(G.GorgonError):
        m.run_all()
    assert seen[-1] == [1] * len(before) and blas_now() == before


def test_the_environment_variable_sets_the_default(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    g, x = graph_seeing_blas([])
    assert G.TapeMachine(g).blas_threads == 1
    assert G.TapeMachine(g, blas_threads=2).blas_threads == 2
    monkeypatch.delenv(ENV)
    assert G.TapeMachine(g).blas_threads is None and check_blas_threads(None) is None


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_thread_counts_are_argument_errors(bad):
    g, x = graph_seeing_blas([])
    with pytest.raises(G.ArgumentValueError, match="blas_threads must be a positive integer"):
        G.TapeMachine(g, blas_threads=bad)


def test_a_bad_environment_variable_names_itself(monkeypatch):
    monkeypatch.setenv(ENV, "many")
    with pytest.raises(G.ArgumentValueError, match=ENV):
        check_blas_threads(None)
    monkeypatch.setenv(ENV, "0")
    with pytest.raises(G.ArgumentValueError, match=ENV):
        check_blas_threads(None)
