"""G.scan against Python loops over numpy, on both machines: one carry, two carries and
two sequences, reverse, no sequence (length=), zero length, random and mode-dependent
bodies, one body for every length."""

import numpy as np
import pytest

import gorgon as G

MACHINES = [G.TapeMachine, lambda g: G.LispMachine(g, forward_only=True)]


def run(graph, machine):
    machine(graph).run_all()


@pytest.mark.parametrize("machine", MACHINES)
def test_two_carries_two_sequences_against_numpy(machine):
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 3))
    a0, b0, w = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((3, 3))
    g = G.Graph()
    nodes = [G.tensor(g, G.Float64, v.shape, value=v) for v in (xs, ys, a0, b0, w)]

    def step(a, b, x, y, w):
        a_new = G.tanh(a @ w + x * b)
        return (a_new, b + y), (a_new * 2.0, G.sum(a_new, axis=0) - y)

    (a_final, b_final), (out1, out2) = G.scan(step, sequences=nodes[:2], init=nodes[2:4],
                                              non_sequences=nodes[4])
    run(g, machine)
    a, b, o1, o2 = a0, b0, [], []
    for x, y in zip(xs, ys):
        a_new = np.tanh(a @ w + x * b)
        a, b = a_new, b + y
        o1.append(a_new * 2.0)
        o2.append(a_new.sum(axis=0) - y)
    np.testing.assert_allclose(a_final.value, a, rtol=1e-12)
    np.testing.assert_allclose(b_final.value, b, rtol=1e-12)
    np.testing.assert_allclose(out1.value, np.stack(o1), rtol=1e-12)
    np.testing.assert_allclose(out2.value, np.stack(o2), rtol=1e-12)


@pytest.mark.parametrize("machine", MACHINES)
def test_reverse_against_numpy(machine):
    rng = np.random.default_rng(1)
    xs, h0 = rng.standard_normal((5, 4)), rng.standard_normal(4)
    g = G.Graph()
    x, h = G.tensor(g, G.Float64, xs.shape, value=xs), G.tensor(g, G.Float64, h0.shape, value=h0)
    final, outs = G.scan(lambda h, x: (G.sin(h) + x, h * x), sequences=x, init=h, reverse=True)
    run(g, machine)
    state, expected = h0, [None] * 5
    for t in reversed(range(5)):
        expected[t] = state * xs[t]
        state = np.sin(state) + xs[t]
    np.testing.assert_allclose(final.value, state, rtol=1e-12)
    np.testing.assert_allclose(outs.value, np.stack(expected), rtol=1e-12)


def test_length_without_sequences_and_integer_carry():
    g = G.Graph()
    x = G.vector(g, G.Float64, 3, value=np.array([1.0, 2.0, 3.0]))
    count = G.constant(np.int64(0), g)
    (final, n), powers = G.scan(lambda y, k, x: ((y * x, k + 1), y), init=(x, count), non_sequences=x,
                                length=4)
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(final.value, np.array([1.0, 2.0, 3.0]) ** 5)
    assert n.value == 4 and n.dtype == np.int64
    np.testing.assert_allclose(powers.value, np.stack([np.array([1.0, 2.0, 3.0]) ** k for k in range(1, 5)]))


@pytest.mark.parametrize("machine", MACHINES)
def test_zero_length_gives_empty_outputs_and_init(machine):
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (0, 2), value=np.zeros((0, 2)))
    h0 = G.vector(g, G.Float64, 2, value=np.array([3.0, 4.0]))
    final, outs = G.scan(lambda h, x: (h + x, h * x), sequences=xs, init=h0)
    run(g, machine)
    np.testing.assert_array_equal(final.value, [3.0, 4.0])
    assert outs.value.shape == (0, 2)


def test_zero_length_gradient_is_the_final_states():
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (0, 2), value=np.zeros((0, 2)))
    h0 = G.vector(g, G.Float64, 2, value=np.array([3.0, 4.0]))
    final, _ = G.scan(lambda h, x: (h * x, None), sequences=xs, init=h0)
    dh, dx = G.grad(G.sum(final * final), h0, xs)
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(dh.value, [6.0, 8.0])
    assert dx.value.shape == (0, 2)


def test_one_body_compiled_once_for_every_length():
    def step(h, x, w):
        return G.tanh(h @ w + x), h

    rng = np.random.default_rng(2)
    w = rng.standard_normal((3, 3))
    bodies = set()
    for length in (1, 7, 50, 7):
        xs = rng.standard_normal((length, 2, 3))
        g = G.Graph()
        x = G.tensor(g, G.Float64, xs.shape, value=xs)
        wn = G.matrix(g, G.Float64, w.shape, value=w)
        h0 = G.constant(np.zeros((2, 3)), g)
        final, _ = G.scan(step, sequences=x, init=h0, non_sequences=wn)
        G.TapeMachine(g).run_all()
        h = np.zeros((2, 3))
        for t in range(length):
            h = np.tanh(h @ w + xs[t])
        np.testing.assert_allclose(final.value, h, rtol=1e-12)
        bodies.add(final.inputs[0].op.body)
    (body,) = bodies
    assert body.compiles == 1


def test_random_body_draws_anew_each_step_and_dropout_follows_the_mode():
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (6, 50), value=np.ones((6, 50)))
    h0 = G.constant(np.zeros(50), g)
    final, (noise, dropped) = G.scan(
        lambda h, x: (h + x, (G.uniform(x.graph, (50,), G.Float64, seed=3), G.dropout(x, p=0.5, seed=4))),
        sequences=xs, init=h0)
    machine = G.TapeMachine(g)
    machine.run_all()
    first = noise.value.copy()
    assert len({tuple(row) for row in first}) == 6
    assert set(np.unique(dropped.value)) == {0.0, 2.0}
    assert not all((row == dropped.value[0]).all() for row in dropped.value)
    machine.run_all()
    assert not np.array_equal(first, noise.value)
    machine.eval()
    machine.run_all()
    np.testing.assert_array_equal(dropped.value, np.ones((6, 50)))


def test_dropout_gradient_uses_the_forward_masks():
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (5, 40), value=np.ones((5, 40)))
    h0 = G.constant(np.zeros(40), g)
    final, _ = G.scan(lambda h, x: (h + G.dropout(x, p=0.5, seed=5), None), sequences=xs, init=h0)
    (dx,) = G.grad(G.sum(final), xs)
    G.TapeMachine(g).run_all()
    np.testing.assert_allclose(dx.value.sum(axis=0), final.value)
    assert set(np.unique(dx.value)) == {0.0, 2.0}


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_failed_run_restores_the_body_generators():
    def noisy_graph(fail):
        g = G.Graph()
        xs = G.tensor(g, G.Float64, (3, 4), value=np.ones((3, 4)))
        h0 = G.constant(np.zeros(4), g)
        final, noise = G.scan(lambda h, x: (h + x, G.gaussian(x.graph, (4,), G.Float64, seed=7)),
                              sequences=xs, init=h0)
        bad = G.log(final - 10.0) if fail else None
        return g, noise, bad

    g1, noise1, bad = noisy_graph(True)
    good = G.TapeMachine(g1, outputs=[noise1])
    failing = G.TapeMachine(g1, watch_nan=True)
    good.run_all()
    with pytest.raises(G.NaNError):
        failing.run_all()
    good.run_all()
    g2, noise2, _ = noisy_graph(False)
    twice = G.TapeMachine(g2)
    twice.run_all()
    twice.run_all()
    np.testing.assert_array_equal(noise1.value, noise2.value)


def test_machines_in_two_threads_share_one_body_safely():
    import threading

    def step(h, x):
        return G.tanh(h * 0.5 + x), None

    rng = np.random.default_rng(4)
    cases, errors = [], []
    for length in (30, 40):
        xs = rng.standard_normal((length, 200))
        g = G.Graph()
        final, _ = G.scan(step, sequences=G.tensor(g, G.Float64, xs.shape, value=xs),
                          init=G.constant(np.zeros(200), g))
        h = np.zeros(200)
        for x in xs:
            h = np.tanh(h * 0.5 + x)
        cases.append((G.TapeMachine(g), final, h))

    def work(machine, final, expected):
        try:
            for _ in range(20):
                machine.run_all()
                np.testing.assert_allclose(final.value, expected, rtol=1e-12)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=case) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cases[0][1].inputs[0].op.body is cases[1][1].inputs[0].op.body


@pytest.mark.parametrize("machine", MACHINES)
def test_carries_swapped_or_passed_on_unchanged(machine):
    g = G.Graph()
    a0 = G.vector(g, G.Float64, 2, value=np.array([1.0, 2.0]))
    b0 = G.vector(g, G.Float64, 2, value=np.array([10.0, 20.0]))
    xs = G.tensor(g, G.Float64, (3, 2), value=np.arange(6.0).reshape(3, 2))
    (a, b, c), _ = G.scan(lambda a, b, c, x: ((b, a, c), None), sequences=xs, init=(a0, b0, a0))
    (d, e), _ = G.scan(lambda d, e, x: ((e[::-1], d + x), None), sequences=xs, init=(a0, b0))
    run(g, machine)
    np.testing.assert_array_equal(a.value, [10.0, 20.0])
    np.testing.assert_array_equal(b.value, [1.0, 2.0])
    np.testing.assert_array_equal(c.value, [1.0, 2.0])
    d_, e_ = np.array([1.0, 2.0]), np.array([10.0, 20.0])
    for x in np.arange(6.0).reshape(3, 2):
        d_, e_ = e_[::-1], d_ + x
    np.testing.assert_array_equal(d.value, d_)
    np.testing.assert_array_equal(e.value, e_)
