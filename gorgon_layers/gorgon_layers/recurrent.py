"""Recurrent layers over batch-first sequences (N, T, features), and their cells, with
PyTorch's parameter names and gate order (LSTM: input, forget, cell, output; GRU: reset,
update, new). A sequence layer is one G.scan over time per layer (the input projections
of all steps one GEMM before it): its step body is traced and compiled once, whatever
the length; the model's per-shape cache keeps one small outer graph per length, unless
the call passes `length=` (an integer scalar node): then one program runs every length
up to the sequences' T."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers.checks import float_dtype, size
from gorgon_layers.init import fan_in_uniform
from gorgon_layers.module import Module


def gate(gates: Node, index: int, hidden: int) -> Node:
    """The index-th block of `hidden` columns of gates (N, k * hidden)."""
    return gates[:, index * hidden:(index + 1) * hidden]


def gate_of(hw: Node, index: int, hidden: int) -> Node:
    """A gate block of hw, which is (N, k * hidden) or the bias vector (k * hidden,)."""
    return hw[index * hidden:(index + 1) * hidden] if hw.ndim == 1 else gate(hw, index, hidden)


def lstm_step(xw: Node, h: Node | None, c: Node | None, w_hh: Node, hidden: int) -> tuple[Node, Node]:
    """One LSTM step from the input's projection xw (biases included); h, c None are zeros."""
    gates = xw if h is None else xw + G.matmul(h, w_hh, transpose_b=True)
    i, f = G.sigmoid(gate(gates, 0, hidden)), G.sigmoid(gate(gates, 1, hidden))
    g, o = G.tanh(gate(gates, 2, hidden)), G.sigmoid(gate(gates, 3, hidden))
    c = i * g if c is None else f * c + i * g
    return o * G.tanh(c), c


def gru_step(xw: Node, h: Node | None, w_hh: Node, b_hh: Node, hidden: int) -> Node:
    """One GRU step from the input's projection xw (b_ih included); h None is zeros."""
    hw = b_hh if h is None else G.matmul(h, w_hh, transpose_b=True) + b_hh
    r = G.sigmoid(gate(xw, 0, hidden) + gate_of(hw, 0, hidden))
    z = G.sigmoid(gate(xw, 1, hidden) + gate_of(hw, 1, hidden))
    n = G.tanh(gate(xw, 2, hidden) + r * gate_of(hw, 2, hidden))
    return n - z * n if h is None else n + z * (h - n)


def _lstm_scan_step(h: Node, c: Node, xw: Node, w_hh: Node) -> tuple[tuple[Node, Node], Node]:
    """The body of an LSTM layer's scan: one step, the new state and the output h."""
    h, c = lstm_step(xw, h, c, w_hh, w_hh.shape[1])
    return (h, c), h


def _gru_scan_step(h: Node, xw: Node, w_hh: Node, b_hh: Node) -> tuple[Node, Node]:
    """The body of a GRU layer's scan: one step, the new state and the output h."""
    h = gru_step(xw, h, w_hh, b_hh, w_hh.shape[1])
    return h, h


class _Cell(Module):
    blocks = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = np.float32):
        super().__init__()
        owner = type(self).__name__
        self.input_size = size(owner, "input_size", input_size)
        self.hidden_size = size(owner, "hidden_size", hidden_size)
        if not bias:
            raise G.ArgumentValueError(f"{owner}: only bias=True is supported")
        dtype = float_dtype(owner, dtype)
        k, h = self.blocks * self.hidden_size, self.hidden_size
        self.weight_ih = fan_in_uniform((k, self.input_size), h, dtype)
        self.weight_hh = fan_in_uniform((k, h), h, dtype)
        self.bias_ih = fan_in_uniform((k,), h, dtype)
        self.bias_hh = fan_in_uniform((k,), h, dtype)

    def project(self, x: Node) -> Node:
        self.expect(x, (None, self.input_size), "an input (N, input_size)")
        return G.matmul(x, self.weight_ih, transpose_b=True) + self.bias_ih

    def check_state(self, state: Node, x: Node) -> None:
        self.expect(state, (x.shape[0], self.hidden_size), "a state (N, hidden_size)")

    def flops(self, x: Node, y: Any) -> int:
        return 2 * x.shape[0] * self.blocks * self.hidden_size * (self.input_size + self.hidden_size)


class LSTMCell(_Cell):
    """One LSTM step: `cell(x, (h, c)) -> (h', c')`; without a state, h and c are zeros."""

    def forward(self, x: Node, state: tuple[Node, Node] | None = None) -> tuple[Node, Node]:
        xw = self.project(x) + self.bias_hh
        h = c = None
        if state is not None:
            h, c = state
            self.check_state(h, x)
            self.check_state(c, x)
        return lstm_step(xw, h, c, self.weight_hh, self.hidden_size)


class GRUCell(_Cell):
    """One GRU step: `cell(x, h) -> h'`; without a state, h is zeros."""

    blocks = 3

    def forward(self, x: Node, h: Node | None = None) -> Node:
        if h is not None:
            self.check_state(h, x)
        return gru_step(self.project(x), h, self.weight_hh, self.bias_hh, self.hidden_size)


class _Recurrent(Module):
    blocks = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = True, dtype: Any = np.float32):
        super().__init__()
        owner = type(self).__name__
        self.input_size = size(owner, "input_size", input_size)
        self.hidden_size = size(owner, "hidden_size", hidden_size)
        self.num_layers = size(owner, "num_layers", num_layers)
        if not (bias and batch_first):
            raise G.ArgumentValueError(f"{owner}: only bias=True and batch_first=True are supported")
        dtype = float_dtype(owner, dtype)
        k, h = self.blocks * self.hidden_size, self.hidden_size
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else h
            setattr(self, f"weight_ih_l{layer}", fan_in_uniform((k, width), h, dtype))
            setattr(self, f"weight_hh_l{layer}", fan_in_uniform((k, h), h, dtype))
            setattr(self, f"bias_ih_l{layer}", fan_in_uniform((k,), h, dtype))
            setattr(self, f"bias_hh_l{layer}", fan_in_uniform((k,), h, dtype))

    def layer(self, name: str, index: int) -> Node:
        return getattr(self, f"{name}_l{index}")

    def check(self, x: Node, states: tuple[Node, ...]) -> None:
        self.expect(x, (None, None, self.input_size), "a batch-first sequence (N, T, input_size)")
        for state in states:
            self.expect(state, (self.num_layers, x.shape[0], self.hidden_size),
                        "a state (num_layers, N, hidden_size)")

    def flops(self, x: Node, y: Any) -> int:
        n, t = x.shape[:2]
        per_step = sum(self.blocks * self.hidden_size * ((self.input_size if i == 0 else self.hidden_size)
                                                         + self.hidden_size) for i in range(self.num_layers))
        return 2 * n * t * per_step


class LSTM(_Recurrent):
    """`lstm(x, (h0, c0)=None, length=None) -> (output (N, T, H), (h_n, c_n) each (layers, N, H))`;
    `length` (an integer scalar node) runs that many of the T steps, read at run time:
    one compiled program for every length up to T (the output's later steps are zeros)."""

    def forward(self, x: Node, state: tuple[Node, Node] | None = None,
                length: Node | None = None) -> tuple[Node, tuple[Node, Node]]:
        self.check(x, () if state is None else tuple(state))
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            xw = (G.matmul(x, self.layer("weight_ih", layer), transpose_b=True)
                  + (self.layer("bias_ih", layer) + self.layer("bias_hh", layer)))
            if state is None:
                h = c = G.constant(np.zeros((x.shape[0], self.hidden_size), xw.dtype), x.graph)
            else:
                h, c = state[0][layer], state[1][layer]
            (h, c), outputs = G.scan(_lstm_scan_step, sequences=G.transpose(xw, (1, 0, 2)), init=(h, c),
                                     non_sequences=self.layer("weight_hh", layer), length=length, name="lstm")
            x = G.transpose(outputs, (1, 0, 2))
            finals_h.append(h)
            finals_c.append(c)
        return x, (G.stack(finals_h, axis=0), G.stack(finals_c, axis=0))


class GRU(_Recurrent):
    """`gru(x, h0=None, length=None) -> (output (N, T, H), h_n (layers, N, H))`; `length` as
    LSTM's."""

    blocks = 3

    def forward(self, x: Node, h0: Node | None = None, length: Node | None = None) -> tuple[Node, Node]:
        self.check(x, () if h0 is None else (h0,))
        finals = []
        for layer in range(self.num_layers):
            xw = G.matmul(x, self.layer("weight_ih", layer), transpose_b=True) + self.layer("bias_ih", layer)
            if h0 is None:
                h = G.constant(np.zeros((x.shape[0], self.hidden_size), xw.dtype), x.graph)
            else:
                h = h0[layer]
            h, outputs = G.scan(_gru_scan_step, sequences=G.transpose(xw, (1, 0, 2)), init=h,
                                non_sequences=(self.layer("weight_hh", layer), self.layer("bias_hh", layer)),
                                length=length, name="gru")
            x = G.transpose(outputs, (1, 0, 2))
            finals.append(h)
        return x, G.stack(finals, axis=0)
