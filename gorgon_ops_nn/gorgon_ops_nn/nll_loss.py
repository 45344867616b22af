"""nll_loss: the negative log-likelihood of integer class labels under log-probabilities,
with torch's class weights and ignore_index (class_weights.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import dtype_error
from gorgon_ops_nn.class_weights import (check_label_reduction, check_weight, coefficient_params, coefficients,
                                         expanded, no_weight_gradient, reduced_loss)
from gorgon_ops_nn.cross_entropy import check_inputs


class NllLoss(Op):
    """`nll_loss(log_probs, target, reduction="mean", weight=None, ignore_index=None)`:
    -sum_i w[y_i] log_probs[i, y_i] over the examples whose label y_i is not ignore_index,
    for log_probs (..., C) (the class axis last, as cross_entropy) and integer labels
    (...); "mean" divides by sum_i w[y_i] over those examples (torch's weighted mean),
    "none" gives each example's term (0 where ignored)."""

    name = "nll_loss"

    @classmethod
    def call(cls, log_probs: Node, target: Any, reduction: str = "mean", weight: Any = None,
             ignore_index: int | None = None) -> Node:
        params = coefficient_params(cls.name, 0.0, ignore_index)
        op = cls(reduction=check_label_reduction(cls.name, reduction), ignore_index=params["ignore_index"])
        return G.apply(op, log_probs, target) if weight is None else G.apply(op, log_probs, target, weight)

    def infer(self, log_probs: Node, target: Node, *weight: Node) -> TensorType:
        dtype = check_inputs(self, log_probs, target)
        if target.dtype.kind not in "iu":
            raise dtype_error(self, "targets must be integer class labels", log_probs, target, *weight)
        check_weight(self, log_probs, weight[0] if weight else None, log_probs, target, *weight)
        return TensorType(target.shape if self.reduction == "none" else (), dtype)

    def forward(self, log_probs: np.ndarray, target: np.ndarray, *weight: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
        a = coefficients(target, weight[0] if weight else None, log_probs.shape[-1], log_probs.dtype, 0.0,
                         self.ignore_index, self.reduction)
        return reduced_loss(a, log_probs, self.reduction, out)

    def vjp(self, inputs, output, gy):
        log_probs, target, *weight = inputs

        def grad_log_probs():
            a = G.class_coefficients(target, *weight, classes=log_probs.shape[-1], dtype=log_probs.dtype,
                                     ignore_index=self.ignore_index, reduction=self.reduction)
            return a * -expanded(gy, self.reduction)

        def grad_weight():
            raise no_weight_gradient(self)

        return (grad_log_probs, None) + (grad_weight,) * len(weight)


OPS = [NllLoss]
