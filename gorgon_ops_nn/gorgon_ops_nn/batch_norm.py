"""Batch normalisation over the channel axis 1 of (N, C) or (N, C, ...) inputs (NCHW):
batch_norm, with batch statistics in training and running statistics in evaluation,
and what its fused gradients (batch_norm_grad.py) share with it."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.errors import ArgumentValueError, GorgonError
from gorgon.infer import real, require_float, shape_error
from gorgon.types import describe
from gorgon_ops_nn.moments import center, inverse_std


def channel_axes(ndim: int) -> tuple[int, ...]:
    """Every axis but the channel axis 1."""
    return (0,) + tuple(range(2, ndim))


def per_channel(vector: np.ndarray, ndim: int) -> np.ndarray:
    """A (C,) vector shaped to broadcast along axis 1 of an ndim-dimensional input."""
    return vector.reshape((1, vector.size) + (1,) * (ndim - 2))


def check_channels(op: Op, x: Node, *vectors: Node) -> np.dtype:
    """x is (N, C, ...) and every vector is (C,), all of one float dtype."""
    dtype = require_float(op, x, *vectors)
    if x.ndim < 2:
        raise shape_error(op, "x must be (N, C) or (N, C, ...)", x, *vectors)
    for vector in vectors:
        if vector.shape != (x.shape[1],):
            raise shape_error(op, f"per-channel inputs must have shape ({x.shape[1]},)", x, *vectors)
    return dtype


def batch_count(op: Op, x: np.ndarray) -> int:
    """How many values each channel's batch statistics average over: at least 2, or 0
    for an empty batch (whose output is empty and which changes no statistic, as in
    PyTorch)."""
    count = x.size // x.shape[1] if x.shape[1] else 0
    if count == 1:
        raise ArgumentValueError(f"{op}: training needs more than one value per channel, got input "
                                 f"shape {x.shape}")
    return count


def running_inverse_std(op: Op, running_var: np.ndarray, scale: np.ndarray, ndim: int) -> np.ndarray:
    """scale / sqrt(running_var + eps), shaped per channel: evaluation mode's factor."""
    factor = inverse_std(running_var, op.eps)
    factor *= scale
    return per_channel(factor, ndim)


def batch_statistics(op: Op, x: np.ndarray, out: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`(x - mean, mean, var, 1 / sqrt(var + eps))` with the batch's statistics per
    channel; `x - mean` is written into `out` when given."""
    batch_count(op, x)
    centered, mean, var = center(x, channel_axes(x.ndim), out)
    return centered, mean, var, inverse_std(var, op.eps)


class BatchNorm(Op):
    """`batch_norm(x, scale, shift, running_mean, running_var, momentum=0.1, eps=1e-5)`:
    (x - mean) / sqrt(var + eps) * scale + shift per channel (axis 1). In training mode
    mean and var are the batch's, and each run updates the running statistics in place,
    `running = (1 - momentum) * running + momentum * batch` (the unbiased variance goes into
    running_var); in evaluation mode the running statistics are used. running_mean and
    running_var must be input nodes (their arrays are updated); they get no gradient."""

    name = "batch_norm"
    mode_dependent = True
    updates = (3, 4)

    @classmethod
    def call(cls, x: Node, scale: Node, shift: Node, running_mean: Node, running_var: Node,
             momentum: float = 0.1, eps: float = 1e-5) -> Node:
        momentum, eps = real(cls.name, "momentum", momentum), real(cls.name, "eps", eps)
        if not 0.0 <= momentum <= 1.0 or eps <= 0:
            raise G.ArgumentValueError(f"{cls.name}: needs 0 <= momentum <= 1 and eps > 0, got {momentum}, {eps}")
        return G.apply(cls(momentum=momentum, eps=eps),
                       x, scale, shift, running_mean, running_var)

    def infer(self, x: Node, scale: Node, shift: Node, running_mean: Node, running_var: Node) -> TensorType:
        for state in (running_mean, running_var):
            if state.role != "input":
                raise GorgonError(f"{self}: running statistics {describe(state)} must be an input "
                                  "node, since batch_norm updates its array in place")
        return TensorType(x.shape, check_channels(self, x, scale, shift, running_mean, running_var))

    def forward(self, x: np.ndarray, scale: np.ndarray, shift: np.ndarray, running_mean: np.ndarray,
                running_var: np.ndarray, out: np.ndarray | None = None, training: bool = True) -> np.ndarray:
        if training and batch_count(self, x) == 0:
            return np.empty(x.shape, x.dtype) if out is None else out
        if training:
            result, mean, var, factor = batch_statistics(self, x, out)
            self.update(batch_count(self, x), mean, var, running_mean, running_var)
            factor *= per_channel(scale, x.ndim)
        else:
            result = np.subtract(x, per_channel(running_mean, x.ndim), out=out)
            factor = running_inverse_std(self, running_var, scale, x.ndim)
        result *= factor
        result += per_channel(shift, x.ndim)
        return result

    def update(self, count: int, mean: np.ndarray, var: np.ndarray,
               running_mean: np.ndarray, running_var: np.ndarray) -> None:
        """Move the running statistics towards this batch's, in place."""
        keep = 1.0 - self.momentum
        running_mean *= keep
        running_mean += mean.ravel() * self.momentum
        running_var *= keep
        running_var += var.ravel() * (self.momentum * count / (count - 1))

    def vjp(self, inputs, output, gy):
        x, scale, shift, running_mean, running_var = inputs
        return (lambda: G.batch_norm_grad(x, scale, gy, running_mean, running_var, eps=self.eps),
                lambda: G.batch_norm_scale_grad(x, gy, running_mean, running_var, eps=self.eps),
                lambda: G.sum(gy, axis=channel_axes(x.ndim)),
                None, None)


OPS = [BatchNorm]
