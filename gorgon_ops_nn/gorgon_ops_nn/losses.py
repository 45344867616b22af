"""Elementwise losses reduced to a scalar: mse_loss, binary_cross_entropy (from
probabilities) and binary_cross_entropy_with_logits. Prediction and target share one
shape and dtype; "mean" averages over every element, "sum" adds them."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import require_float, shape_error
from gorgon_ops_nn.reduction import (check_reduction, reduction_scale, require_nonempty,
                                     scalar_result)

LOG_FLOOR = -100.0
TINY = 1e-12


class PairLoss(Op):
    """A loss of a prediction and a target of the same shape and float dtype."""

    @classmethod
    def call(cls, prediction: Node, target: Node | np.ndarray, reduction: str = "mean") -> Node:
        return G.apply(cls(reduction=check_reduction(cls.name, reduction)), prediction, target)

    def infer(self, prediction: Node, target: Node) -> TensorType:
        dtype = require_float(self, prediction, target)
        if prediction.shape != target.shape:
            raise shape_error(self, "prediction and target must have the same shape", prediction, target)
        require_nonempty(self, prediction, target)
        return TensorType((), dtype)

    def scale(self, gy: Node, prediction: Node) -> Node:
        return gy * reduction_scale(self, prediction.size)


class MseLoss(PairLoss):
    """`mse_loss(prediction, target, reduction="mean")`: the squared error (p - t)^2."""

    name = "mse_loss"

    def forward(self, prediction: np.ndarray, target: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
        error = np.subtract(prediction, target)
        total = np.vdot(error, error) * reduction_scale(self, prediction.size)
        return scalar_result(total, prediction.dtype, out)

    def vjp(self, inputs, output, gy):
        prediction, target = inputs
        grad = (prediction - target) * (self.scale(gy, prediction) * 2.0)
        return grad, lambda: -grad


class BinaryCrossEntropy(PairLoss):
    """`binary_cross_entropy(probability, target, reduction="mean")`:
    -(t log p + (1 - t) log(1 - p)), each log floored at -100 so p = 0 or 1 stays finite."""

    name = "binary_cross_entropy"

    def forward(self, p: np.ndarray, t: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), LOG_FLOOR)
            log_q = np.maximum(np.log1p(-p), LOG_FLOOR)
        total = np.sum(log_q)
        log_p -= log_q
        total += np.vdot(t, log_p)
        return scalar_result(-total * reduction_scale(self, p.size), p.dtype, out)

    def vjp(self, inputs, output, gy):
        p, t = inputs
        scale = self.scale(gy, p)

        def grad_p():
            return (p - t) / G.maximum(p * (1.0 - p), TINY) * scale

        def grad_t():
            return (G.maximum(G.log1p(-p), LOG_FLOOR) - G.maximum(G.log(p), LOG_FLOOR)) * scale

        return grad_p, grad_t


class BinaryCrossEntropyWithLogits(PairLoss):
    """`binary_cross_entropy_with_logits(logits, target, reduction="mean")`: binary
    cross-entropy of sigmoid(x), computed stably as max(x, 0) - x t + log(1 + exp(-|x|))."""

    name = "binary_cross_entropy_with_logits"

    def forward(self, x: np.ndarray, t: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        soft = np.abs(x)
        np.negative(soft, out=soft)
        np.exp(soft, out=soft)
        np.log1p(soft, out=soft)
        total = np.sum(soft) + np.sum(np.maximum(x, 0.0)) - np.vdot(x, t)
        return scalar_result(total * reduction_scale(self, x.size), x.dtype, out)

    def vjp(self, inputs, output, gy):
        x, t = inputs
        scale = self.scale(gy, x)
        return lambda: (G.sigmoid(x) - t) * scale, lambda: -x * scale


OPS = [MseLoss, BinaryCrossEntropy, BinaryCrossEntropyWithLogits]
