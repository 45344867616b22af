"""Adam, and AdamW (Adam with decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon import Node
from gorgon_ops_nn.solvers.base import Solver, require


class Adam(Solver):
    """Adam (Kingma & Ba): moments `m = beta1 m + (1 - beta1) g`, `v = beta2 v + (1 - beta2) g^2`,
    bias-corrected by `1 - beta^t`, then `w -= learning_rate * m_hat / (sqrt(v_hat) + eps)`."""

    name = "Adam"
    slots = ("m", "v")

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 1e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8, **options: float | None):
        require(0.0 <= beta1 < 1.0 and 0.0 <= beta2 < 1.0,
                f"{self.name}: beta1 and beta2 must lie in [0, 1), got {beta1}, {beta2}")
        require(eps > 0, f"{self.name}: eps must be positive, got {eps}")
        super().__init__(params, learning_rate, **options)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.eps = float(eps)

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        m, v, work = self.state["m"][index], self.state["v"][index], self.work[index]
        m *= self.beta1
        np.multiply(gradient, 1.0 - self.beta1, out=work)
        m += work
        v *= self.beta2
        np.square(gradient, out=work)
        work *= 1.0 - self.beta2
        v += work
        np.divide(v, 1.0 - self.beta2 ** self.steps, out=work)
        np.sqrt(work, out=work)
        work += self.eps
        np.divide(m, work, out=work)
        self.descend(index, value, work, self.learning_rate / (1.0 - self.beta1 ** self.steps))


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter): Adam, with the weights decayed apart from the gradient,
    `w -= learning_rate * weight_decay * w`, before Adam's step."""

    name = "AdamW"

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 1e-3,
                 weight_decay: float = 0.01, **options: float | None):
        require(weight_decay >= 0, f"AdamW: weight_decay must not be negative, got {weight_decay}")
        super().__init__(params, learning_rate, **options)
        self.weight_decay = float(weight_decay)

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        value *= 1.0 - self.learning_rate * self.weight_decay
        super().update_one(index, value, gradient)
