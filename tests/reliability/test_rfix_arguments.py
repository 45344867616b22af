"""Bad arguments raise G.ArgumentTypeError / G.ArgumentValueError everywhere: each is a
G.GorgonError and still the builtin TypeError / ValueError (issue 10), in the core's
nodes and conformance kit, gorgon_ops_nn's solvers, initialisers, batch norm and
ctc_loss, and gorgon_dist's sharding and buckets."""

import numpy as np
import pytest

import gorgon as G
import gorgon.testing as T
from gorgon_dist import local_batch_size, shard
from gorgon_dist.buckets import make_buckets


def node():
    return G.tensor(G.Graph(), G.Float64, (3,), name="x", value=np.ones(3))


def run_ctc(input_lengths, target_lengths, targets):
    g = G.Graph()
    x = G.tensor(g, G.Float64, (5, 2, 3), value=np.zeros((5, 2, 3)), name="x")
    loss = G.ctc_loss(x, np.array(targets), np.array(input_lengths), np.array(target_lengths))
    G.TapeMachine(g, outputs=[loss]).run_all()


def train_batch_norm_on_one_row():
    g = G.Graph()
    x = G.tensor(g, G.Float64, (1, 3), value=np.ones((1, 3)), name="x")
    scale, shift, mean, var = (G.tensor(g, G.Float64, (3,), value=np.ones(3), name=n)
                               for n in ("scale", "shift", "mean", "var"))
    y = G.batch_norm(x, scale, shift, mean, var)
    G.TapeMachine(g, outputs=[y]).run_all()


CASES = [
    ("core iter(node)", lambda: iter(node()), TypeError, "is not iterable"),
    ("core bool(node)", lambda: bool(node()), TypeError, "truth value of node 'x'"),
    ("kit unknown check", lambda: T.iter_checks("add", checks=["speed"]), ValueError, "unknown checks"),
    ("kit bad sample", lambda: list(T.iter_checks("add", samples=[object()])), TypeError,
     "expected Sample or ErrorSample"),
    ("kit bad op", lambda: T.check_op(42), TypeError, "expected an op name"),
    ("solver rate", lambda: G.solvers.Adam(learning_rate=-1.0), ValueError, "learning_rate must be positive"),
    ("solver betas", lambda: G.solvers.Adam(beta1=1.0), ValueError, "beta1 and beta2 must lie"),
    ("solver params", lambda: G.solvers.SGD(params=node()), TypeError, "params must be a non-empty list"),
    ("solver bind", lambda: G.solvers.SGD().bind([]), TypeError, "params must be a non-empty list"),
    ("init gaussian", lambda: G.init.gaussian(std=-1.0), ValueError, "std -1.0 must not be negative"),
    ("init uniform", lambda: G.init.uniform(1.0, 1.0), ValueError, "low 1.0 must be below high 1.0"),
    ("dist batch", lambda: local_batch_size(130, 4), ValueError, "does not split evenly"),
    ("dist ranks", lambda: local_batch_size(0, 4), ValueError, "need a positive batch"),
    ("dist rank", lambda: shard(np.zeros(8), 5, 4), ValueError, "rank 5 is not one of 4 ranks"),
    ("dist buckets", lambda: make_buckets([], 0), ValueError, "bucket limit must be positive"),
]


@pytest.mark.parametrize("call, builtin, words", [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_bad_arguments_are_gorgon_errors_and_builtin_errors(call, builtin, words):
    with pytest.raises(G.GorgonError, match=words) as info:
        call()
    assert isinstance(info.value, builtin)
    wanted = G.ArgumentTypeError if builtin is TypeError else G.ArgumentValueError
    assert isinstance(info.value, wanted)


RUN_CASES = [
    ("ctc input lengths", lambda: run_ctc([6, 5], [2, 2], [[1, 2], [1, 1]]), "input lengths must lie"),
    ("ctc target lengths", lambda: run_ctc([5, 5], [3, 2], [[1, 2], [1, 1]]), "target lengths"),
    ("ctc labels", lambda: run_ctc([5, 5], [2, 2], [[1, 7], [1, 1]]), "target labels must lie"),
    ("batch norm one row", train_batch_norm_on_one_row, "more than one value per channel"),
]


@pytest.mark.parametrize("call, words", [case[1:] for case in RUN_CASES], ids=[c[0] for c in RUN_CASES])
def test_bad_values_found_at_run_time_fail_the_run_with_an_argument_error_as_cause(call, words):
    with pytest.raises(G.ExecutionError, match=words) as info:
        call()
    cause = info.value.__cause__
    assert isinstance(cause, G.ArgumentValueError) and isinstance(cause, ValueError)
