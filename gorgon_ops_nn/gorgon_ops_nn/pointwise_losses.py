"""Pointwise losses with torch's reductions ("none" keeps one loss per element, "mean"
averages them, "sum" adds them): huber_loss, smooth_l1_loss and kl_div (which also
has "batchmean", the sum divided by the batch size). Input and target share one shape
and float dtype; each gradient is written with gorgon ops."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import require_float, shape_error


class PointwiseLoss(Op):
    """A loss summing a pointwise term of an input and a target of one shape, reduced as
    `reduction` says."""

    reductions: ClassVar[tuple[str, ...]] = ("none", "mean", "sum")

    @classmethod
    def check(cls, reduction: str) -> str:
        if reduction not in cls.reductions:
            raise G.ArgumentValueError(f"{cls.name}: reduction must be one of {cls.reductions}, "
                                       f"got {reduction!r}")
        return reduction

    def infer(self, x: Node, target: Node) -> TensorType:
        dtype = require_float(self, x, target)
        if x.shape != target.shape:
            raise shape_error(self, "input and target must have the same shape", x, target)
        if self.reduction != "none" and x.size == 0:
            raise shape_error(self, f"reduction {self.reduction!r} needs a non-empty input", x, target)
        if self.reduction == "batchmean" and x.ndim == 0:
            raise shape_error(self, "reduction 'batchmean' needs a batch axis (the first)", x, target)
        return TensorType(x.shape if self.reduction == "none" else (), dtype)

    def divisor(self, shape: tuple[int, ...]) -> int:
        """What the sum of the pointwise terms is divided by."""
        if self.reduction == "mean":
            return int(np.prod(shape))
        return shape[0] if self.reduction == "batchmean" else 1

    def reduce(self, terms: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        """The pointwise terms reduced, written into `out` when given."""
        if self.reduction == "none":
            if out is None:
                return terms
            np.copyto(out, terms)
            return out
        total = np.sum(terms) / self.divisor(terms.shape)
        if out is None:
            return np.asarray(total, terms.dtype)
        out[...] = total
        return out

    def scaled(self, gy: Node, x: Node) -> Node:
        """The upstream gradient each pointwise term receives."""
        return gy if self.divisor(x.shape) == 1 else gy * (1.0 / self.divisor(x.shape))


class HuberLoss(PointwiseLoss):
    """`huber_loss(x, target, reduction="mean", delta=1.0)`: with d = x - target,
    0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""

    name = "huber_loss"

    @classmethod
    def call(cls, x: Node, target: Node | np.ndarray, reduction: str = "mean", delta: float = 1.0) -> Node:
        if not delta > 0:
            raise G.ArgumentValueError(f"{cls.name}: delta must be positive, got {delta}")
        return G.apply(cls(reduction=cls.check(reduction), delta=float(delta)), x, target)

    def forward(self, x: np.ndarray, target: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        d = np.abs(x - target)
        terms = np.where(d < self.delta, 0.5 * d * d, self.delta * (d - 0.5 * self.delta))
        return self.reduce(terms.astype(x.dtype, copy=False), out)

    def vjp(self, inputs, output, gy):
        x, target = inputs
        grad = G.clip(x - target, -self.delta, self.delta) * self.scaled(gy, x)
        return grad, lambda: -grad


class SmoothL1Loss(PointwiseLoss):
    """`smooth_l1_loss(x, target, reduction="mean", beta=1.0)`: with d = x - target,
    0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; beta=0 is the L1 loss."""

    name = "smooth_l1_loss"

    @classmethod
    def call(cls, x: Node, target: Node | np.ndarray, reduction: str = "mean", beta: float = 1.0) -> Node:
        if not beta >= 0:
            raise G.ArgumentValueError(f"{cls.name}: beta must not be negative, got {beta}")
        return G.apply(cls(reduction=cls.check(reduction), beta=float(beta)), x, target)

    def forward(self, x: np.ndarray, target: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        d = np.abs(x - target)
        if self.beta == 0:
            return self.reduce(d, out)
        terms = np.where(d < self.beta, 0.5 * d * d / self.beta, d - 0.5 * self.beta)
        return self.reduce(terms.astype(x.dtype, copy=False), out)

    def vjp(self, inputs, output, gy):
        x, target = inputs
        d = x - target
        slope = G.sign(d) if self.beta == 0 else G.clip(d * (1.0 / self.beta), -1.0, 1.0)
        grad = slope * self.scaled(gy, x)
        return grad, lambda: -grad


class KlDiv(PointwiseLoss):
    """`kl_div(x, target, reduction="mean", log_target=False)`: torch's KL divergence of
    log-probabilities x from target: target * (log(target) - x) pointwise (0 where
    target is 0), or with log_target=True exp(target) * (target - x). "batchmean"
    divides the sum by the batch size x.shape[0]: the true KL divergence per example."""

    name = "kl_div"
    reductions = ("none", "mean", "sum", "batchmean")

    @classmethod
    def call(cls, x: Node, target: Node | np.ndarray, reduction: str = "mean",
             log_target: bool = False) -> Node:
        return G.apply(cls(reduction=cls.check(reduction), log_target=bool(log_target)), x, target)

    def forward(self, x: np.ndarray, target: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if self.log_target:
            terms = np.exp(target) * (target - x)
        else:
            terms = special.xlogy(target, target) - target * x
        return self.reduce(terms, out)

    def vjp(self, inputs, output, gy):
        x, target = inputs
        scaled = self.scaled(gy, x)
        if self.log_target:
            weight = G.exp(target)
            return lambda: -weight * scaled, lambda: weight * (target - x + 1.0) * scaled
        return lambda: -target * scaled, lambda: (G.log(target) + 1.0 - x) * scaled


OPS = [HuberLoss, SmoothL1Loss, KlDiv]
