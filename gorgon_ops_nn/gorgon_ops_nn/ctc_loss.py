"""ctc_loss, the connectionist temporal classification loss as torch defines it, and
ctc_loss_grad, its gradient from the forward-backward algorithm (ctc_paths.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node, NonDifferentiable, Op, TensorType
from gorgon.infer import dtype_error, require_float, shape_error
from gorgon_ops_nn.ctc_paths import Lattice, check_lengths

REDUCTIONS = ("none", "mean", "sum")


def ctc_params(name: str, blank: Any, reduction: str, zero_infinity: bool) -> dict[str, Any]:
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
        raise G.ArgumentTypeError(f"{name}: blank must be an int, got {blank!r}")
    if reduction not in REDUCTIONS:
        raise G.ArgumentValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return dict(blank=int(blank), reduction=reduction, zero_infinity=bool(zero_infinity))


class CtcOp(Op):
    """What ctc_loss and its gradient share: the checks of their inputs, and the losses
    with their gradients per example."""

    def check(self, log_probs: Node, targets: Node, input_lengths: Node, target_lengths: Node,
              *others: Node) -> np.dtype:
        nodes = (log_probs, targets, input_lengths, target_lengths) + others
        dtype = require_float(self, log_probs, *others)
        if log_probs.ndim != 3 or 0 in log_probs.shape:
            raise shape_error(self, "log_probs must be (T, N, C), non-empty", *nodes)
        batch, classes = log_probs.shape[1:]
        if any(node.dtype.kind not in "iu" for node in (targets, input_lengths, target_lengths)):
            raise dtype_error(self, "targets and lengths must be integers", *nodes)
        if targets.ndim not in (1, 2) or (targets.ndim == 2 and targets.shape[0] != batch):
            raise shape_error(self, f"targets must be padded (N={batch}, S) or concatenated (sum of "
                              "target lengths,)", *nodes)
        if input_lengths.shape != (batch,) or target_lengths.shape != (batch,):
            raise shape_error(self, f"input and target lengths must have shape ({batch},)", *nodes)
        if not 0 <= self.blank < classes:
            raise shape_error(self, f"blank {self.blank} is not one of the {classes} classes", *nodes)
        return dtype

    def losses(self, log_probs: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray,
               target_lengths: np.ndarray, gradient: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(-log p per example, its gradient (T, N, C) when asked for (the forward pass
        alone needs no beta), the reduction's factor per example); with zero_infinity,
        impossible alignments give 0 for both."""
        frames, _, classes = log_probs.shape
        check_lengths(frames, classes, targets, input_lengths, target_lengths, self.blank)
        lattice = Lattice.of(log_probs, targets, input_lengths, target_lengths, self.blank)
        nll, grad = lattice.nll_gradient(classes) if gradient else (lattice.nll(), None)
        if self.zero_infinity:
            impossible = np.isinf(nll)
            nll[impossible] = 0.0
            if grad is not None:
                grad[:, impossible] = 0.0
        if self.reduction == "mean":
            factor = 1.0 / (np.maximum(target_lengths, 1) * nll.size)
        else:
            factor = np.ones(nll.size)
        return nll, grad, factor.astype(log_probs.dtype)


class CtcLoss(CtcOp):
    """`ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0,
    reduction="mean", zero_infinity=False)`: -log p(target | input) summed over every
    alignment, for log_probs (T, N, C) (log_softmax over C), targets padded (N, S) or
    concatenated (sum of target_lengths,) and integer lengths (N,). "mean" divides each
    loss by its target length, then averages over the batch; "none" gives the (N,) losses."""

    name = "ctc_loss"

    @classmethod
    def call(cls, log_probs: Node, targets: Any, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Node:
        return G.apply(cls(**ctc_params(cls.name, blank, reduction, zero_infinity)), log_probs, targets,
                       input_lengths, target_lengths)

    def infer(self, log_probs: Node, targets: Node, input_lengths: Node, target_lengths: Node) -> TensorType:
        dtype = self.check(log_probs, targets, input_lengths, target_lengths)
        return TensorType((log_probs.shape[1],) if self.reduction == "none" else (), dtype)

    def forward(self, log_probs: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray,
                target_lengths: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        nll, _, factor = self.losses(log_probs, targets, input_lengths, target_lengths, gradient=False)
        value = nll.astype(log_probs.dtype) if self.reduction == "none" else np.asarray(
            np.dot(nll, factor), log_probs.dtype)
        if out is None:
            return value
        out[...] = value
        return out

    def vjp(self, inputs, output, gy):
        return (lambda: G.ctc_loss_grad(*inputs, gy, **self.params), None, None, None)


class CtcLossGrad(CtcOp):
    """`ctc_loss_grad(log_probs, targets, input_lengths, target_lengths, gy, blank=0,
    reduction="mean", zero_infinity=False)`: the gradient of ctc_loss for its log_probs,
    from the forward-backward algorithm: -gy times the posterior probability of each
    (frame, class) over the alignments, scaled as the reduction scales. Differentiable in
    gy only."""

    name = "ctc_loss_grad"

    @classmethod
    def call(cls, log_probs: Node, targets: Any, input_lengths: Any, target_lengths: Any, gy: Any,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Node:
        return G.apply(cls(**ctc_params(cls.name, blank, reduction, zero_infinity)), log_probs, targets,
                       input_lengths, target_lengths, gy)

    def infer(self, log_probs: Node, targets: Node, input_lengths: Node, target_lengths: Node,
              gy: Node) -> TensorType:
        dtype = self.check(log_probs, targets, input_lengths, target_lengths, gy)
        expected = (log_probs.shape[1],) if self.reduction == "none" else ()
        if gy.shape != expected:
            raise shape_error(self, f"gy must have the loss's shape {expected}", log_probs, gy)
        return TensorType(log_probs.shape, dtype)

    def forward(self, log_probs: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray,
                target_lengths: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        _, grad, factor = self.losses(log_probs, targets, input_lengths, target_lengths, gradient=True)
        return np.multiply(grad, (factor * gy)[None, :, None], out=out)

    def vjp(self, inputs, output, gg):
        log_probs, targets, input_lengths, target_lengths, gy = inputs

        def curvature():
            raise NonDifferentiable(f"{self}: the second derivative of ctc_loss for its log_probs is "
                                    "not implemented")

        def grad_gy():
            unit = np.ones(gy.shape, gy.dtype)
            grad = G.ctc_loss_grad(log_probs, targets, input_lengths, target_lengths, unit, **self.params)
            return G.sum(gg * grad, axis=(0, 2)) if gy.ndim else G.sum(gg * grad)

        return curvature, None, None, None, grad_gy


OPS = [CtcLoss, CtcLossGrad]
