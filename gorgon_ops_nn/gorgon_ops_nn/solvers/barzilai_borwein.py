"""The Barzilai-Borwein solver: gradient descent whose step size comes from the last two
iterates."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gorgon import Node
from gorgon_ops_nn.solvers.base import Solver


class BarzilaiBorwein(Solver):
    """Barzilai-Borwein gradient descent: `w -= eta * g`, with `eta = learning_rate` on the
    first step and afterwards `eta = |<dw, dg>| / <dg, dg>`, where dw and dg are the
    changes of all parameters and of their gradients since the previous step (inner
    products over all parameters together). When that is zero or not finite, the previous eta
    is kept."""

    name = "BarzilaiBorwein"
    slots = ("previous_value", "previous_gradient")
    scalars = ("eta",)

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 0.01,
                 **options: float | None):
        super().__init__(params, learning_rate, **options)
        self.eta = self.learning_rate

    def update(self, values: list[np.ndarray], gradients: list[np.ndarray]) -> None:
        previous_values = self.state["previous_value"]
        previous_gradients = self.state["previous_gradient"]
        if self.steps == 1:
            self.eta = self.learning_rate
        else:
            dot = change = 0.0
            for value, gradient, last_value, last_gradient, work in zip(
                    values, gradients, previous_values, previous_gradients, self.work):
                np.subtract(last_value, value, out=last_value)
                np.subtract(gradient, last_gradient, out=work)
                dot -= float(np.vdot(last_value, work))
                change += float(np.vdot(work, work))
            eta = abs(dot) / change if change > 0 else math.inf
            if 0.0 < eta < math.inf:
                self.eta = eta
        for index, (value, gradient, last_value, last_gradient) in enumerate(zip(
                values, gradients, previous_values, previous_gradients)):
            np.copyto(last_value, value)
            np.copyto(last_gradient, gradient)
            self.descend(index, value, gradient, self.eta)
