"""A scan whose trip count is a run-time value (`length=` an integer scalar node): one
compiled program runs every length up to the sequences' axis 0, with results equal to a
static scan over the same prefix (values, gradients, second order; both machines, both
directions), nothing recompiled; bad lengths rejected with errors naming the scan."""

import numpy as np
import pytest

import gorgon as G

CAPACITY, B, I, H = 9, 2, 3, 4


def rnn_step(h, x, w, u):
    h = G.tanh(x @ w + h @ u)
    return h, G.sin(h)


def values(seed=0):
    rng = np.random.default_rng(seed)
    return {"xs": rng.standard_normal((CAPACITY, B, I)), "h0": rng.standard_normal((B, H)),
            "w": rng.standard_normal((I, H)), "u": 0.5 * rng.standard_normal((H, H))}


def build(v, steps, reverse, dynamic):
    """The loss sum(outputs) + sum(final**2) and its gradients; over the first `steps` rows
    with a length node when `dynamic`, else over a static sequence of `steps` rows."""
    g = G.Graph()
    rows = CAPACITY if dynamic else steps
    xs = G.tensor(g, G.Float64, (rows, B, I), name="xs", value=v["xs"][:rows].copy())
    h0 = G.matrix(g, G.Float64, (B, H), name="h0", value=v["h0"])
    w = G.matrix(g, G.Float64, (I, H), name="w", value=v["w"])
    u = G.matrix(g, G.Float64, (H, H), name="u", value=v["u"])
    n = G.scalar(g, G.Int64, name="n", value=np.int64(steps)) if dynamic else None
    h, outs = G.scan(rnn_step, sequences=xs, init=h0, non_sequences=(w, u), reverse=reverse,
                     length=n, name="rnn")
    loss = G.sum(outs) + G.sum(h * h)
    grads = G.grad(loss, w, u, h0, xs)
    return g, n, h, outs, loss, grads


@pytest.mark.parametrize("machine", [G.TapeMachine, G.LispMachine])
@pytest.mark.parametrize("reverse", [False, True])
def test_one_program_runs_every_length_like_a_static_scan(machine, reverse):
    v = values()
    g, n, h, outs, loss, grads = build(v, CAPACITY, reverse, dynamic=True)
    m = machine(g)
    program = getattr(m, "program", None)
    for steps in (CAPACITY, 4, 1, 7):
        G.let(n, np.int64(steps))
        m.run_all()
        sg, _, sh, souts, sloss, sgrads = build(v, steps, reverse, dynamic=False)
        G.TapeMachine(sg).run_all()
        np.testing.assert_allclose(h.value, sh.value, rtol=0, atol=1e-12)
        np.testing.assert_allclose(outs.value[:steps], souts.value, rtol=0, atol=1e-12)
        assert not outs.value[steps:].any()
        np.testing.assert_allclose(loss.value, sloss.value, rtol=1e-12)
        for mine, static in zip(grads[:3], sgrads[:3]):
            np.testing.assert_allclose(mine.value, static.value, rtol=0, atol=1e-12)
        np.testing.assert_allclose(grads[3].value[:steps], sgrads[3].value, rtol=0, atol=1e-12)
        assert not grads[3].value[steps:].any()
    if program is not None:
        assert m.program is program
    assert outs.inputs[0].op.body.compiles == 1


def test_zero_steps_give_the_init_and_zero_outputs():
    v = values()
    g, n, h, outs, loss, grads = build(v, 0, False, dynamic=True)
    G.TapeMachine(g).run_all()
    np.testing.assert_array_equal(h.value, v["h0"])
    assert not outs.value.any()
    np.testing.assert_allclose(grads[2].value, 2 * v["h0"])
    assert not grads[0].value.any() and not grads[1].value.any() and not grads[3].value.any()


def test_second_order_equals_the_static_scan():
    v = values(1)
    results = []
    for dynamic in (True, False):
        g, _, h, outs, loss, (dw, du, dh0, dxs) = build(v, 5, False, dynamic)
        w = g.by_name("w")
        (ddw,) = G.grad(G.sum(dw * dw) + G.sum(du), w)
        G.TapeMachine(g).run_all()
        results.append(ddw.value.copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-12)


def test_the_program_does_not_change_with_the_length():
    v = values()
    g, n, h, outs, loss, grads = build(v, 3, False, dynamic=True)
    m = G.TapeMachine(g)
    m.run_all()
    instructions = str(m.program)
    G.let(n, np.int64(8))
    m.run_all()
    assert str(m.program) == instructions


def test_a_length_beyond_the_sequences_is_refused_at_run_time():
    v = values()
    g, n, h, outs, loss, grads = build(v, 4, False, dynamic=True)
    m = G.TapeMachine(g)
    m.run_all()
    before = h.value.copy()
    G.let(n, np.int64(CAPACITY + 1))
    with pytest.raises(G.GorgonError, match=r"scan 'rnn'.*length input is 10, outside 0\.\.9"):
        m.run_all()
    G.let(n, np.int64(-1))
    with pytest.raises(G.GorgonError, match=r"scan 'rnn'.*length input is -1"):
        m.run_all()
    G.let(n, np.int64(4))
    m.run_all()
    np.testing.assert_array_equal(h.value, before)


def test_bad_length_nodes():
    g = G.Graph()
    xs = G.tensor(g, G.Float64, (3, 2), name="xs", value=np.ones((3, 2)))
    h0 = G.vector(g, G.Float64, 2, name="h0", value=np.zeros(2))
    step = (lambda h, x: (h + x, None))
    with pytest.raises(G.ShapeError, match=r"scan 'count'.*integer scalar.*'f'"):
        G.scan(step, sequences=xs, init=h0, length=G.scalar(g, G.Float64, name="f"), name="count")
    with pytest.raises(G.ShapeError, match=r"scan 'count'.*integer scalar.*'v'"):
        G.scan(step, sequences=xs, init=h0, length=G.vector(g, G.Int64, 2, name="v"), name="count")
    with pytest.raises(G.ArgumentValueError, match=r"scan 'count'.*another graph"):
        G.scan(step, sequences=xs, init=h0, length=G.scalar(G.Graph(), G.Int64), name="count")
    before = len(g)
    with pytest.raises(G.ArgumentValueError, match=r"scan 'count'.*needs sequences"):
        G.scan(lambda h: (h, None), init=h0, length=G.scalar(g, G.Int64, name="k"), name="count")
    assert len(g) == before + 1  # the length node built for the call, nothing of the scan


def test_onnx_export_refuses_a_run_time_length(tmp_path):
    gorgon_onnx = pytest.importorskip("gorgon_onnx")
    g = G.Graph()
    xs = G.tensor(g, G.Float32, (5, 2), name="xs")
    h0 = G.vector(g, G.Float32, 2, name="h0")
    n = G.scalar(g, G.Int64, name="n")
    h, _ = G.scan(lambda h, x: (G.tanh(h + x), None), sequences=xs, init=h0, length=n, name="loop")
    with pytest.raises(gorgon_onnx.UnsupportedError, match="run-time value"):
        gorgon_onnx.export(h, tmp_path / "loop.onnx", inputs=[xs, h0, n])
