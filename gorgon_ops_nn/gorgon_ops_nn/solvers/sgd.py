"""Gradient descent: SGD, and Momentum (heavy ball, or Nesterov's)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon import Node
from gorgon_ops_nn.solvers.base import Solver, require


class SGD(Solver):
    """Plain gradient descent (Gorgonia's VanillaSolver): `w -= learning_rate * g`."""

    name = "SGD"

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 0.01,
                 **options: float | None):
        super().__init__(params, learning_rate, **options)

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        self.descend(index, value, gradient, self.learning_rate)


class Momentum(Solver):
    """Gradient descent with momentum: `v = momentum * v + g`, then `w -= learning_rate * v`,
    or with `nesterov=True`, `w -= learning_rate * (g + momentum * v)`."""

    name = "Momentum"
    slots = ("velocity",)

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 0.01,
                 momentum: float = 0.9, nesterov: bool = False, **options: float | None):
        require(0.0 <= momentum < 1.0, f"Momentum: momentum must lie in [0, 1), got {momentum}")
        super().__init__(params, learning_rate, **options)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        velocity = self.state["velocity"][index]
        velocity *= self.momentum
        velocity += gradient
        if self.nesterov:
            work = self.work[index]
            np.multiply(velocity, self.momentum, out=work)
            work += gradient
            self.descend(index, value, work, self.learning_rate)
        else:
            self.descend(index, value, velocity, self.learning_rate)
