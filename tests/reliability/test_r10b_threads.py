"""Issue 10 item 2: G.function is safe and correct from many threads; one machine run
from two threads at once raises ConcurrentRunError naming the machine and both threads;
pausing the garbage collector nests across threads."""

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import gorgon as G
from gorgon.collector import gc_paused
from r10b_faults import fault


@pytest.mark.parametrize("machine", [G.TapeMachine, G.LispMachine])
def test_g_function_from_eight_threads_returns_each_call_its_own_answer(machine):
    @G.function(machine=machine)
    def affine(x, w):
        return G.tanh(x @ w) * 2.0 + 1.0

    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 8))
    inputs = [rng.normal(size=(32, 16)) for _ in range(64)]

    def call(x):
        return affine(x, w)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, inputs * 4))
    wrong = sum(not np.allclose(result, np.tanh(x @ w) * 2.0 + 1.0)
                for result, x in zip(results, inputs * 4))
    assert wrong == 0, f"{wrong} of {len(results)} calls got another call's answer"
    assert len(affine.traces) == 1


def test_g_function_traces_a_new_signature_once_when_threads_race_to_it():
    traced = []
    start = threading.Barrier(8)

    @G.function
    def double(x):
        traced.append(threading.get_ident())
        return x * 2.0

    def call(i):
        start.wait()
        return double(np.full(3, float(i)))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert len(traced) == 1
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result, np.full(3, 2.0 * i))


@pytest.mark.parametrize("kind", ["tape", "lisp"])
def test_one_machine_run_from_two_threads_at_once_is_a_clear_error(kind):
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    h, op = fault(x * 2.0)
    cost = G.sum(h)
    machine = (G.TapeMachine if kind == "tape" else G.LispMachine)(g)
    op.block = True
    first = threading.Thread(target=machine.run_all, name="first-runner")
    first.start()
    try:
        assert op.entered.wait(10)
        with pytest.raises(G.ConcurrentRunError) as caught:
            machine.run_all()
    finally:
        op.release.set()
        first.join(10)
    message = str(caught.value)
    assert repr(machine) in message
    assert "'first-runner'" in message and repr(threading.current_thread().name) in message
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, G.GorgonError)
    assert float(cost.value) == 6.0, "the first thread's run was disturbed"
    op.block = False
    machine.run_all()
    assert float(cost.value) == 6.0 and op.calls == 2


def test_a_machine_runs_from_any_thread_one_after_another():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, name="x", value=np.arange(3.0))
    cost = G.sum(x * x)
    machine = G.TapeMachine(g)
    for _ in range(3):
        thread = threading.Thread(target=machine.run_all)
        thread.start()
        thread.join()
    assert float(cost.value) == 5.0


def test_the_gc_pause_lasts_until_the_last_thread_inside_leaves():
    inside, leave_first, first_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    @gc_paused
    def first():
        inside.set()
        leave_first.wait(10)

    @gc_paused
    def second():
        leave_first.set()
        first_left.wait(10)
        seen["during"] = gc.isenabled()

    assert gc.isenabled()
    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(10)
    two = threading.Thread(target=second)
    two.start()
    one.join(10)
    first_left.set()
    two.join(10)
    assert seen["during"] is False, "the first thread to leave turned the collector back on"
    assert gc.isenabled()
