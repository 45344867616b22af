"""The class coefficients of the weighted classification losses. cross_entropy and
nll_loss with class weights, ignored labels or label smoothing are all linear in the
log-probabilities: loss = -sum(A * log_probs), with A (..., C) made from the target alone
(torch's semantics):

- integer labels y: A[i, c] = m_i ((1 - eps) w_y_i [c = y_i] + eps w_c / C), m_i = 0 where
  y_i is ignore_index, else 1; "mean" divides by sum_i m_i w_y_i;
- probabilities t: A[i, c] = w_c ((1 - eps) t[i, c] + eps / C); "mean" divides by the
  number of examples.

With reduction "none" the loss of example i is -sum_c A[i, c] log_probs[i, c].
class_coefficients is that A as an op, so the losses' gradients are written with it."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, NonDifferentiable, Op, TensorType
from gorgon.dtypes import as_dtype
from gorgon.infer import dtype_error, shape_error


LABEL_REDUCTIONS = ("none", "mean", "sum")


def check_label_reduction(op_name: str, reduction: str) -> str:
    """`reduction` itself, or an ArgumentValueError naming the op and the choices."""
    if not isinstance(reduction, str) or reduction not in LABEL_REDUCTIONS:
        raise G.ArgumentValueError(f"{op_name}: reduction must be one of {LABEL_REDUCTIONS}, "
                                   f"got {reduction!r}")
    return reduction


def expanded(gy: Node, reduction: str) -> Node:
    """The upstream gradient of a loss, broadcastable over the class axis: per example
    (a trailing axis added) with reduction "none", else the scalar itself."""
    return G.expand_dims(gy, -1) if reduction == "none" else gy


def coefficient_params(op_name: str, label_smoothing: Any, ignore_index: Any) -> dict[str, Any]:
    """The checked options: label_smoothing in [0, 1], ignore_index an int or None."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise G.ArgumentValueError(f"{op_name}: label_smoothing must lie in [0, 1], got {label_smoothing}")
    if ignore_index is not None and (isinstance(ignore_index, bool)
                                     or not isinstance(ignore_index, (int, np.integer))):
        raise G.ArgumentTypeError(f"{op_name}: ignore_index must be an int or None, got {ignore_index!r}")
    return dict(label_smoothing=float(label_smoothing),
                ignore_index=None if ignore_index is None else int(ignore_index))


def check_weight(op: Op, logits: Node, weight: Node | None, *nodes: Node) -> None:
    """Class weights, when given, are one float per class of the logits' dtype."""
    if weight is None:
        return
    if weight.shape != logits.shape[-1:]:
        raise shape_error(op, f"class weights must have shape {logits.shape[-1:]}, one per class", *nodes)
    if weight.dtype != logits.dtype:
        raise dtype_error(op, "class weights must share the logits' dtype", *nodes)


def check_ignore_index(op: Op, target: Node, ignore_index: int | None, *nodes: Node) -> None:
    if ignore_index is not None and target.dtype.kind not in "iu":
        raise G.ArgumentValueError(f"{op}: ignore_index applies to integer labels only, but the "
                                   f"target {target.name!r} holds {target.dtype} probabilities")


def coefficients(target: np.ndarray, weight: np.ndarray | None, classes: int, dtype: np.dtype,
                 label_smoothing: float, ignore_index: int | None, reduction: str) -> np.ndarray:
    """A (..., classes) such that the loss is -sum(A * log_probs) (see the module's doc)."""
    w = np.ones(classes, dtype) if weight is None else weight
    smoothing = label_smoothing / classes
    if target.dtype.kind == "f":
        result = target * (1.0 - label_smoothing) + smoothing
        result *= w
        if reduction == "mean":
            result /= target.size // classes
        return result
    kept = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    labels = np.where(kept, target, 0)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise IndexError(f"class labels must lie in [0, {classes}) (or equal ignore_index "
                         f"{ignore_index}), got values from {target.min()} to {target.max()}")
    label_weight = np.where(kept, w[labels], 0.0).astype(dtype)
    result = np.multiply.outer(kept.astype(dtype), w * smoothing)
    np.put_along_axis(result, labels[..., None],
                      np.take_along_axis(result, labels[..., None], -1)
                      + (1.0 - label_smoothing) * label_weight[..., None], -1)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            result /= label_weight.sum()
    return result


def reduced_loss(a: np.ndarray, log_probs: np.ndarray, reduction: str, out: np.ndarray | None) -> np.ndarray:
    """-sum(A * log_probs): per example with reduction "none" (shape without the class
    axis), else one number; written into `out` when given."""
    loss = -np.sum(a * log_probs, axis=-1) if reduction == "none" else -np.vdot(a, log_probs)
    if out is None:
        return np.asarray(loss, log_probs.dtype)
    out[...] = loss
    return out


def no_weight_gradient(op: Op) -> NonDifferentiable:
    return NonDifferentiable(f"{op}: class weights get no gradient (they are constants of the loss)")


class ClassCoefficients(Op):
    """`class_coefficients(target, weight=None, classes, dtype, label_smoothing=0.0,
    ignore_index=None, reduction="mean")`: the coefficients A of the weighted losses (see
    the module's doc), shape (..., classes). Linear in probability targets; integer
    labels and class weights get no gradient."""

    name = "class_coefficients"

    @classmethod
    def call(cls, target: Any, weight: Any = None, *, classes: int, dtype: Any,
             label_smoothing: float = 0.0, ignore_index: int | None = None, reduction: str = "mean") -> Node:
        op = cls(classes=int(classes), dtype=as_dtype(dtype), reduction=check_label_reduction(cls.name, reduction),
                 **coefficient_params(cls.name, label_smoothing, ignore_index))
        return G.apply(op, target) if weight is None else G.apply(op, target, weight)

    def infer(self, target: Node, *weight: Node) -> TensorType:
        nodes = (target,) + weight
        if target.dtype.kind == "f":
            if target.ndim == 0 or target.shape[-1] != self.classes or target.dtype != self.dtype:
                raise shape_error(self, f"probability targets must be (..., {self.classes}) of "
                                  f"{self.dtype}", *nodes)
            shape = target.shape
        elif target.dtype.kind in "iu":
            shape = target.shape + (self.classes,)
        else:
            raise dtype_error(self, "targets must be integer labels or float probabilities", *nodes)
        check_ignore_index(self, target, self.ignore_index, *nodes)
        if self.reduction == "mean" and target.size == 0:
            raise shape_error(self, "reduction 'mean' needs at least one example", *nodes)
        if weight and (weight[0].shape != (self.classes,) or weight[0].dtype != self.dtype):
            raise shape_error(self, f"class weights must be ({self.classes},) of {self.dtype}", *nodes)
        return TensorType(shape, self.dtype)

    def forward(self, target: np.ndarray, *weight: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result = coefficients(target, weight[0] if weight else None, self.classes, self.dtype,
                              self.label_smoothing, self.ignore_index, self.reduction)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, g):
        target = inputs[0]

        def grad_weight():
            raise no_weight_gradient(self)

        if target.dtype.kind in "iu":
            return (None,) + (grad_weight,) * (len(inputs) - 1)
        scale = 1.0 - self.label_smoothing
        if self.reduction == "mean":
            scale /= target.size // self.classes
        grad = g * scale if len(inputs) == 1 else g * inputs[1] * scale
        return (grad,) + (grad_weight,) * (len(inputs) - 1)


OPS = [ClassCoefficients]
