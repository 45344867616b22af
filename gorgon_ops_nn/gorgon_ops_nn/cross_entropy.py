"""Softmax cross-entropy from logits, fused (forward and gradient), with integer class
labels or one-hot/probability targets, optionally with class weights, ignored labels and
label smoothing: cross_entropy and cross_entropy_grad."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import dtype_error, require_float, shape_error
from gorgon_ops_nn.class_weights import (check_ignore_index, check_label_reduction, check_weight,
                                         coefficient_params, coefficients, expanded, no_weight_gradient,
                                         reduced_loss)
from gorgon_ops_nn.reduction import (check_reduction, reduction_scale, require_nonempty,
                                     scalar_result)
from gorgon_ops_nn.softmax import log_softmax_into, softmax_into
from gorgon_ops_nn.softmax_work import (column_types, label_positions, label_types, log_softmax_work,
                                        softmax_work)


def check_inputs(op: Op, logits: Node, target: Node, *others: Node) -> np.dtype:
    """Logits (..., C) and either integer labels (...) or float targets (..., C)."""
    nodes = (logits, target) + others
    dtype = require_float(op, logits, *others)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise shape_error(op, "logits need a non-empty class axis (the last one)", *nodes)
    require_nonempty(op, *nodes)
    if target.dtype.kind in "iu":
        if target.shape != logits.shape[:-1]:
            raise shape_error(op, f"integer labels must have shape {logits.shape[:-1]} "
                                  "(the logits' shape without the class axis)", *nodes)
    elif target.dtype.kind == "f":
        if target.dtype != dtype:
            raise dtype_error(op, "float targets must share the logits' dtype", *nodes)
        if target.shape != logits.shape:
            raise shape_error(op, "probability targets must have the logits' shape", *nodes)
    else:
        raise dtype_error(op, "targets must be integer labels or float probabilities", *nodes)
    return dtype


def label_index(labels: np.ndarray, classes: int) -> np.ndarray:
    """Labels as an index along the class axis; labels outside [0, classes) are an error."""
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise IndexError(f"class labels must lie in [0, {classes}), got values from "
                         f"{labels.min()} to {labels.max()}")
    return labels[..., None]


def subtract_one_at_labels(result: np.ndarray, labels: np.ndarray,
                           scratch: tuple[np.ndarray, ...] | None) -> None:
    """result[..., label] -= 1 for each example, in the `scratch` of label_types when given
    (and `result` is C-ordered), else with numpy's allocating take/put_along_axis."""
    index = label_index(labels, result.shape[-1])
    if scratch is None or not result.flags.c_contiguous:
        np.put_along_axis(result, index, np.take_along_axis(result, index, -1) - 1, -1)
        return
    positions, picked = scratch
    flat = result.reshape(-1)
    label_positions(labels, result.shape[-1], positions)
    np.take(flat, positions, out=picked)
    np.subtract(picked, 1, out=picked)
    np.put(flat, positions, picked)


def example_count(logits: Node | np.ndarray) -> int:
    """How many examples the logits hold: every element of all axes but the last."""
    return logits.size // logits.shape[-1]


class CrossEntropy(Op):
    """`cross_entropy(logits, target, reduction="mean", weight=None, ignore_index=None,
    label_smoothing=0.0)`: -sum(target * log_softmax(logits)) over the last (class) axis,
    for integer labels (shape without the class axis) or probability targets (the logits'
    shape); averaged over examples ("mean"), summed, or one per example ("none"). As
    torch: class `weight`s (C,)
    weigh each term, examples labelled `ignore_index` are left out, and label smoothing
    mixes each target with the uniform distribution; "mean" over integer labels then
    divides by the summed weights of the kept labels (see class_weights.py)."""

    name = "cross_entropy"

    @classmethod
    def call(cls, logits: Node, target: Node | np.ndarray, reduction: str = "mean", weight: Any = None,
             ignore_index: int | None = None, label_smoothing: float = 0.0) -> Node:
        options = coefficient_params(cls.name, label_smoothing, ignore_index)
        params = dict(reduction=check_label_reduction(cls.name, reduction))
        if weight is not None or options != coefficient_params(cls.name, 0.0, None):
            params.update(options)
        op = cls(**params)
        return G.apply(op, logits, target) if weight is None else G.apply(op, logits, target, weight)

    @property
    def plain(self) -> bool:
        """Whether no class weights, ignored labels, smoothing or per-example losses are asked
        for: the fast path."""
        return "label_smoothing" not in self.params and self.reduction != "none"

    def options(self) -> dict[str, Any]:
        """The coefficients' options: label smoothing and ignore_index, default when not given."""
        return dict(label_smoothing=self.params.get("label_smoothing", 0.0),
                    ignore_index=self.params.get("ignore_index"), reduction=self.reduction)

    def infer(self, logits: Node, target: Node, *weight: Node) -> TensorType:
        dtype = check_inputs(self, logits, target)
        check_weight(self, logits, weight[0] if weight else None, logits, target, *weight)
        check_ignore_index(self, target, self.params.get("ignore_index"), logits, target, *weight)
        return TensorType(logits.shape[:-1] if self.reduction == "none" else (), dtype)

    def workspace(self, logits: TensorType, target: TensorType, *weight: TensorType):
        """With integer labels on the fast path: log-softmax, its exponentials and a column."""
        if not self.plain or weight or target.dtype.kind not in "iu":
            return ()
        full = (tuple(logits.shape), np.dtype(logits.dtype))
        return (full, full) + column_types(logits) + label_types(logits)

    def forward(self, logits: np.ndarray, target: np.ndarray, *weight: np.ndarray,
                out: np.ndarray | None = None, work: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
        if work is not None:
            return self._forward_work(logits, target, out, *work)
        log_p = log_softmax_into(logits, -1, None)
        if not self.plain:
            a = coefficients(target, weight[0] if weight else None, logits.shape[-1], logits.dtype,
                             **self.options())
            return reduced_loss(a, log_p, self.reduction, out)
        if target.dtype.kind in "iu":
            total = -np.take_along_axis(log_p, label_index(target, logits.shape[-1]), -1).sum()
        else:
            total = -np.vdot(target, log_p)
        return scalar_result(total * reduction_scale(self, example_count(logits)), logits.dtype, out)

    def _forward_work(self, logits: np.ndarray, target: np.ndarray, out: np.ndarray | None,
                      log_p: np.ndarray, exps: np.ndarray, column: np.ndarray, flag: np.ndarray,
                      positions: np.ndarray, picked: np.ndarray) -> np.ndarray:
        """The fast path on integer labels, in the workspace: the same sums as forward's."""
        log_softmax_work(logits, log_p, exps, column, flag)
        label_index(target, logits.shape[-1])
        label_positions(target, logits.shape[-1], positions)
        np.take(log_p.reshape(-1), positions, out=picked)
        total = -picked.sum()
        return scalar_result(total * reduction_scale(self, example_count(logits)), logits.dtype, out)

    def flops(self, inputs: list[TensorType], output: TensorType) -> int:
        """About six per logit: log_softmax's five and the target's product."""
        return 6 * int(np.prod(inputs[0].shape))

    def vjp(self, inputs, output, gy):
        logits, target, *weight = inputs
        scale = reduction_scale(self, example_count(logits))
        if self.plain:
            return (lambda: G.cross_entropy_grad(logits, target, gy, reduction=self.reduction),
                    None if target.dtype.kind in "iu" else lambda: G.log_softmax(logits) * (gy * -scale))

        def grad_logits():
            a = G.class_coefficients(target, *weight, classes=logits.shape[-1], dtype=logits.dtype,
                                     **self.options())
            if self.reduction == "none":
                return G.cross_entropy_grad(logits, a * expanded(gy, "none"), 1.0, reduction="sum")
            return G.cross_entropy_grad(logits, a, gy, reduction="sum")

        def grad_target():
            upstream = expanded(gy, self.reduction)
            smoothing = self.options()["label_smoothing"]
            grad = G.log_softmax(logits) * (upstream * -(scale * (1.0 - smoothing)))
            return grad * weight[0] if weight else grad

        def grad_weight():
            raise no_weight_gradient(self)

        return ((grad_logits, None if target.dtype.kind in "iu" else grad_target)
                + (grad_weight,) * len(weight))


class CrossEntropyGrad(Op):
    """`cross_entropy_grad(logits, target, gy, reduction="mean")`: the gradient of
    cross_entropy for its logits, gy * (softmax(logits) * sum(target) - target), scaled
    like the reduction, fused."""

    name = "cross_entropy_grad"

    @classmethod
    def call(cls, logits: Node, target: Node | np.ndarray, gy: Node | float,
             reduction: str = "mean") -> Node:
        return G.apply(cls(reduction=check_reduction(cls.name, reduction)), logits, target, gy)

    def infer(self, logits: Node, target: Node, gy: Node) -> TensorType:
        dtype = check_inputs(self, logits, target, gy)
        if gy.shape != ():
            raise shape_error(self, "gy must be a scalar", logits, target, gy)
        return TensorType(logits.shape, dtype)

    def workspace(self, logits: TensorType, target: TensorType, gy: TensorType):
        """The softmax's column scratch, and the label lookups' for integer labels."""
        return column_types(logits) + (label_types(logits) if target.dtype.kind in "iu" else ())

    def forward(self, logits: np.ndarray, target: np.ndarray, gy: np.ndarray,
                out: np.ndarray | None = None, work: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
        if work is None:
            result = softmax_into(logits, -1, out)
        else:
            result = softmax_work(logits, np.empty(logits.shape, logits.dtype) if out is None else out, *work[:2])
        if target.dtype.kind in "iu":
            subtract_one_at_labels(result, target, None if work is None else work[2:])
        else:
            result *= np.sum(target, axis=-1, keepdims=True)
            result -= target
        result *= gy * reduction_scale(self, example_count(logits))
        return result

    def flops(self, inputs: list[TensorType], output: TensorType) -> int:
        """About six per logit: softmax's five and the scaling."""
        return 6 * int(np.prod(inputs[0].shape))

    def vjp(self, inputs, output, gg):
        logits, target, gy = inputs
        scale = gy * reduction_scale(self, example_count(logits))
        integer = target.dtype.kind in "iu"

        def grad_logits():
            curvature = G.softmax_grad(G.softmax(logits), gg) * scale
            return curvature if integer else curvature * G.sum(target, axis=-1, keepdims=True)

        def grad_target():
            return (G.sum(gg * G.softmax(logits), axis=-1, keepdims=True) - gg) * scale

        def grad_gy():
            unit = G.cross_entropy_grad(logits, target, 1.0, reduction=self.reduction)
            return G.sum(gg * unit)

        return grad_logits, None if integer else grad_target, grad_gy


OPS = [CrossEntropy, CrossEntropyGrad]
