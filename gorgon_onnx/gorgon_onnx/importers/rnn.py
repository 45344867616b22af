"""LSTM and GRU, unrolled over the (static) sequence length into ordinary gorgon ops, so
both machines run them and G.grad differentiates them. Default activations only; the
input projection of every step is one matmul."""

from __future__ import annotations

import numpy as np

import gorgon as G

DIRECTIONS = {"forward": (False,), "reverse": (True,), "bidirectional": (False, True)}


def _check(ctx, sequence_lens, length):
    if ctx.attr("activations") is not None and [a.lower() for a in ctx.attr("activations")] not in (
            ["sigmoid", "tanh", "tanh"] * 2, ["sigmoid", "tanh", "tanh"], ["sigmoid", "tanh"],
            ["sigmoid", "tanh"] * 2):
        ctx.fail(f"activations {ctx.attr('activations')} are not supported (the defaults are)")
    if ctx.attr("clip") is not None:
        ctx.fail("cell clipping is not supported")
    if sequence_lens is not None:
        lengths = ctx.static(sequence_lens, "sequence_lens")
        if not np.all(lengths == length):
            ctx.fail("sequences of different lengths (sequence_lens) are not supported")


def _sequence(ctx, x):
    """X as (T, B, I), and whether the layout was batch-first."""
    node = ctx.tensor(x)
    batch_first = bool(ctx.attr("layout", 0))
    return (G.transpose(node, axes=(1, 0, 2)) if batch_first else node), batch_first


def _initial(ctx, value, direction, batch, hidden, dtype):
    if value is None:
        return G.constant(np.zeros((batch, hidden), dtype), ctx.graph)
    return ctx.tensor(value)[direction]


def _projected(x, w, bias, gates):
    """x_t @ W^T + bias for every step at once, as (T, B, gates * H)."""
    length, batch, features = x.shape
    flat = G.matmul(G.reshape(x, (length * batch, features)), w, transpose_b=True) + bias
    return G.reshape(flat, (length, batch, gates))


def _outputs(ctx, per_direction, finals, batch_first):
    y = G.stack(per_direction, axis=1)
    if batch_first:
        y = G.transpose(y, axes=(2, 0, 1, 3))
    states = [G.stack(f, axis=0) for f in finals]
    if batch_first:
        states = [G.transpose(s, axes=(1, 0, 2)) for s in states]
    return [y, *states]


def lstm(ctx, x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, p=None):
    """ONNX gate order i, o, f, c; c' = f*c + i*g, h' = o*tanh(c')."""
    if p is not None:
        ctx.fail("peephole weights are not supported")
    if ctx.attr("input_forget", 0):
        ctx.fail("input_forget=1 is not supported")
    seq, batch_first = _sequence(ctx, x)
    length, batch, _ = seq.shape
    _check(ctx, sequence_lens, length)
    w, r = ctx.tensor(w), ctx.tensor(r)
    hidden = int(ctx.attr("hidden_size", r.shape[-1]))
    b = ctx.tensor(b) if b is not None else None
    ys, hs, cs = [], [], []
    for d, reverse in enumerate(DIRECTIONS[ctx.attr("direction", "forward")]):
        bias = (b[d][: 4 * hidden] + b[d][4 * hidden:]) if b is not None else 0.0
        xw = _projected(seq, w[d], bias, 4 * hidden)
        h = _initial(ctx, initial_h, d, batch, hidden, seq.dtype)
        c = _initial(ctx, initial_c, d, batch, hidden, seq.dtype)
        steps = [None] * length
        for t in (range(length - 1, -1, -1) if reverse else range(length)):
            gates = xw[t] + G.matmul(h, r[d], transpose_b=True)
            i = G.sigmoid(gates[:, :hidden])
            o = G.sigmoid(gates[:, hidden:2 * hidden])
            f = G.sigmoid(gates[:, 2 * hidden:3 * hidden])
            g = G.tanh(gates[:, 3 * hidden:])
            c = f * c + i * g
            h = o * G.tanh(c)
            steps[t] = h
        ys.append(G.stack(steps, axis=0))
        hs.append(h)
        cs.append(c)
    return _outputs(ctx, ys, (hs, cs), batch_first)


def gru(ctx, x, w, r, b=None, sequence_lens=None, initial_h=None):
    """ONNX gate order z, r, h; h' = (1 - z) * n + z * h, where n = tanh(x Wn + bWn +
    r * (h Rn + bRn)) with linear_before_reset, else tanh(x Wn + bWn + (r * h) Rn + bRn)."""
    seq, batch_first = _sequence(ctx, x)
    length, batch, _ = seq.shape
    _check(ctx, sequence_lens, length)
    w, rec = ctx.tensor(w), ctx.tensor(r)
    hidden = int(ctx.attr("hidden_size", rec.shape[-1]))
    before_reset = bool(ctx.attr("linear_before_reset", 0))
    b = ctx.tensor(b) if b is not None else None
    ys, hs = [], []
    for d, reverse in enumerate(DIRECTIONS[ctx.attr("direction", "forward")]):
        wb = b[d][: 3 * hidden] if b is not None else 0.0
        rb = b[d][3 * hidden:] if b is not None else None
        xw = _projected(seq, w[d], wb, 3 * hidden)
        rz, rn = rec[d][: 2 * hidden], rec[d][2 * hidden:]
        h = _initial(ctx, initial_h, d, batch, hidden, seq.dtype)
        steps = [None] * length
        for t in (range(length - 1, -1, -1) if reverse else range(length)):
            hz = G.matmul(h, rz, transpose_b=True)
            if rb is not None:
                hz = hz + rb[: 2 * hidden]
            z = G.sigmoid(xw[t][:, :hidden] + hz[:, :hidden])
            reset = G.sigmoid(xw[t][:, hidden:2 * hidden] + hz[:, hidden:])
            if before_reset:
                hn = G.matmul(h, rn, transpose_b=True)
                hn = hn + rb[2 * hidden:] if rb is not None else hn
                n = G.tanh(xw[t][:, 2 * hidden:] + reset * hn)
            else:
                hn = G.matmul(reset * h, rn, transpose_b=True)
                hn = hn + rb[2 * hidden:] if rb is not None else hn
                n = G.tanh(xw[t][:, 2 * hidden:] + hn)
            h = (1.0 - z) * n + z * h
            steps[t] = h
        ys.append(G.stack(steps, axis=0))
        hs.append(h)
    return _outputs(ctx, ys, (hs,), batch_first)


TABLE = {"LSTM": lstm, "GRU": gru}
