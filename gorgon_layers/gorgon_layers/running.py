"""Machines specialised per input shape and cached on the model: one graph and one
machine per (purpose, input shapes and dtypes), all bound to the model's own arrays, so
every batch size (and sequence length) runs without the user building a graph, and a
cached specialisation is reused with no compile and no allocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers import module as modules
from gorgon_layers.module import Module

MACHINES = {"tape": G.TapeMachine, "lisp": G.LispMachine}
CACHE_SIZE = 32


def first(result: Any) -> Node:
    """The model's main output: the result, or the first item of a tuple (LSTM, GRU)."""
    while isinstance(result, (tuple, list)):
        result = result[0]
    return result


def machine_kind(machine: str) -> type:
    if machine not in MACHINES:
        raise G.ArgumentValueError(f"machine must be one of {sorted(MACHINES)}, got {machine!r}")
    return MACHINES[machine]


class Specialisation:
    """The graph of one model for one input shape: input nodes `x` (and `y`, the
    target, when there is a loss), the output, the loss, the parameter nodes and the
    machine. `training` picks training mode (gradients, solver-ready) or inference."""

    def __init__(self, model: Module, x: np.ndarray, y: np.ndarray | None = None,
                 loss: Callable[[Node, Node], Node] | None = None, training: bool = False,
                 machine: str = "tape"):
        self.graph = g = G.Graph()
        self.x = G.tensor(g, x.dtype, x.shape, name="x", value=np.zeros(x.shape, x.dtype))
        self.output = first(model(self.x))
        self.y = self.loss = None
        self.params: list[Node] = []
        keep = [self.output]
        if y is not None:
            self.y = G.tensor(g, y.dtype, y.shape, name="y", value=np.zeros(y.shape, y.dtype))
            self.loss = loss(self.output, self.y)
            keep.append(self.loss)
        kind = machine_kind(machine)
        if training:
            self.params = model.parameter_nodes(g)
            if kind is G.TapeMachine:
                G.grad(self.loss, *self.params, allow_unused=True)
                self.machine = G.TapeMachine(g, training=True, keep=keep)
            else:
                self.machine = G.LispMachine(g, cost=self.loss, wrt=self.params, training=True)
        elif kind is G.TapeMachine:
            self.machine = G.TapeMachine(g, training=False, outputs=keep, forward_only=True)
        else:
            self.machine = G.LispMachine(g, training=False, forward_only=True)
        self.generation = modules.generation[0]

    def run(self, x: np.ndarray, y: np.ndarray | None = None) -> None:
        """Copy the batch into the bound arrays and run the machine."""
        np.copyto(self.x.value, x, casting="same_kind")
        if y is not None:
            np.copyto(self.y.value, y, casting="same_kind")
        self.machine.run_all()


def specialised(model: Module, purpose: str, x: np.ndarray, y: np.ndarray | None = None,
                **options: Any) -> Specialisation:
    """The cached specialisation of `model` for this purpose and these input shapes, made
    on first use (and again when the model's arrays or structure changed)."""
    key = (purpose, x.shape, x.dtype.str, None if y is None else (y.shape, y.dtype.str),
           options.get("machine", "tape"), id(options.get("loss")))
    cache = model._cache
    found = cache.get(key)
    if found is not None and found.generation == modules.generation[0]:
        return found
    if len(cache) >= CACHE_SIZE:
        cache.pop(next(iter(cache)))
    made = cache[key] = Specialisation(model, x, y, **options)
    return made


def input_array(model: Module, X: Any) -> np.ndarray:
    """X as an array, floats converted to the model's parameter dtype."""
    X = np.asarray(X)
    if X.dtype.kind == "f":
        params = model.parameters()
        if params and params[0].dtype != X.dtype:
            X = X.astype(params[0].dtype)
    return X


def predict(model: Module, X: Any, batch_size: int = 256, machine: str = "tape") -> np.ndarray:
    """The model's output on every example of X, in evaluation mode, batch by batch (the
    last batch may be smaller). Returns a new array."""
    X = input_array(model, X)
    if X.ndim == 0 or len(X) == 0:
        raise G.ArgumentValueError(f"{type(model).__name__}.predict: needs a non-empty batch, got shape {X.shape}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise G.ArgumentValueError(f"predict: batch_size must be a positive int, got {batch_size!r}")
    result = None
    for start in range(0, len(X), batch_size):
        batch = X[start:start + batch_size]
        spec = specialised(model, "predict", batch, machine=machine)
        spec.run(batch)
        out = spec.output.value
        if result is None:
            result = np.empty((len(X),) + out.shape[1:], out.dtype)
        result[start:start + len(batch)] = out
    return result
