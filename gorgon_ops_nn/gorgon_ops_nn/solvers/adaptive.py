"""Solvers with per-element step sizes from squared gradients: RMSProp, AdaGrad, AdaDelta."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon import Node
from gorgon_ops_nn.solvers.base import Solver, require


def scale_by_root(gradient: np.ndarray, total: np.ndarray, eps: float, out: np.ndarray) -> None:
    """`out = gradient / (sqrt(total) + eps)`, written into `out`."""
    np.sqrt(total, out=out)
    out += eps
    np.divide(gradient, out, out=out)


def check_rho_eps(name: str, rho: float | None, eps: float) -> None:
    require(rho is None or 0.0 <= rho < 1.0, f"{name}: rho must lie in [0, 1), got {rho}")
    require(eps > 0, f"{name}: eps must be positive, got {eps}")


class RMSProp(Solver):
    """RMSProp (Hinton): `s = rho s + (1 - rho) g^2`, then `w -= learning_rate * g / (sqrt(s) + eps)`."""

    name = "RMSProp"
    slots = ("square_average",)

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 1e-3, rho: float = 0.9,
                 eps: float = 1e-8, **options: float | None):
        check_rho_eps(self.name, rho, eps)
        super().__init__(params, learning_rate, **options)
        self.rho = float(rho)
        self.eps = float(eps)

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        average, work = self.state["square_average"][index], self.work[index]
        average *= self.rho
        np.square(gradient, out=work)
        work *= 1.0 - self.rho
        average += work
        scale_by_root(gradient, average, self.eps, work)
        self.descend(index, value, work, self.learning_rate)


class AdaGrad(Solver):
    """AdaGrad (Duchi et al.): `s += g^2`, then `w -= learning_rate * g / (sqrt(s) + eps)`."""

    name = "AdaGrad"
    slots = ("square_sum",)

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 0.01, eps: float = 1e-8,
                 **options: float | None):
        check_rho_eps(self.name, None, eps)
        super().__init__(params, learning_rate, **options)
        self.eps = float(eps)

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        total, work = self.state["square_sum"][index], self.work[index]
        np.square(gradient, out=work)
        total += work
        scale_by_root(gradient, total, self.eps, work)
        self.descend(index, value, work, self.learning_rate)


class AdaDelta(Solver):
    """AdaDelta (Zeiler): `s = rho s + (1 - rho) g^2`,
    `d = sqrt(u + eps) / sqrt(s + eps) * g`, `u = rho u + (1 - rho) d^2`, then
    `w -= learning_rate * d` (learning_rate 1.0 is the paper's rule)."""

    name = "AdaDelta"
    slots = ("square_average", "delta_average")

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 1.0, rho: float = 0.95,
                 eps: float = 1e-6, **options: float | None):
        check_rho_eps(self.name, rho, eps)
        super().__init__(params, learning_rate, **options)
        self.rho = float(rho)
        self.eps = float(eps)

    def allocate(self) -> None:
        """The base's buffers and a second work buffer per parameter."""
        super().allocate()
        self.second_work = [np.empty(p.shape, p.dtype) for p in self.params]

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        average = self.state["square_average"][index]
        delta_average = self.state["delta_average"][index]
        delta, work = self.work[index], self.second_work[index]
        average *= self.rho
        np.square(gradient, out=work)
        work *= 1.0 - self.rho
        average += work
        np.add(delta_average, self.eps, out=delta)
        np.add(average, self.eps, out=work)
        np.divide(delta, work, out=delta)
        np.sqrt(delta, out=delta)
        delta *= gradient
        np.square(delta, out=work)
        work *= 1.0 - self.rho
        delta_average *= self.rho
        delta_average += work
        self.descend(index, value, delta, self.learning_rate)
