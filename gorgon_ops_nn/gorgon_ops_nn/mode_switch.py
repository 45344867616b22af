"""mode_switch: one of two values by the mode the graph runs in. Gradient rules of
mode-dependent ops use it to pick their training or evaluation expression."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import same_dtype, shape_error


class ModeSwitch(Op):
    """`mode_switch(training_value, evaluation_value)`: the first in training mode, the
    second in evaluation mode (both of one shape and dtype)."""

    name = "mode_switch"
    mode_dependent = True

    def infer(self, training_value: Node, evaluation_value: Node) -> TensorType:
        dtype = same_dtype(self, training_value, evaluation_value)
        if training_value.shape != evaluation_value.shape:
            raise shape_error(self, "both values must have the same shape", training_value, evaluation_value)
        return TensorType(training_value.shape, dtype)

    def forward(self, training_value: np.ndarray, evaluation_value: np.ndarray,
                out: np.ndarray | None = None, training: bool = True) -> np.ndarray:
        chosen = training_value if training else evaluation_value
        if out is None:
            return chosen.copy()
        np.copyto(out, chosen)
        return out

    def vjp(self, inputs, output, gy):
        zeros = np.zeros(gy.shape, gy.dtype)
        return lambda: G.mode_switch(gy, zeros), lambda: G.mode_switch(zeros, gy)


OPS = [ModeSwitch]
