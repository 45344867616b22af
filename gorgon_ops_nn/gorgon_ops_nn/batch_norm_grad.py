"""The fused gradients of batch_norm: batch_norm_grad (for x) and batch_norm_scale_grad
(for the scale), following the mode as batch_norm does. Their own gradient rules are
written with gorgon ops (norm_rules.py), switching on the mode with mode_switch."""

from __future__ import annotations

import functools

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import require_float, shape_error
from gorgon_ops_nn.batch_norm import (batch_count, batch_statistics, channel_axes, check_channels,
                                      per_channel, running_inverse_std)
from gorgon_ops_nn.moments import inverse_std
from gorgon_ops_nn.norm_rules import input_grad_vjp, standardize, standardize_vjp


def channel_shape(x: Node) -> tuple[int, ...]:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def running_factor(x: Node, running_var: Node, eps: float) -> Node:
    """1 / sqrt(running_var + eps) as a node shaped per channel."""
    return G.reshape((running_var + eps) ** -0.5, channel_shape(x))


class BatchNormGrad(Op):
    """`batch_norm_grad(x, scale, gy, running_mean, running_var, eps=1e-5)`: the gradient of
    batch_norm for x, fused (through the batch statistics in training mode)."""

    name = "batch_norm_grad"
    mode_dependent = True

    @classmethod
    def call(cls, x: Node, scale: Node, gy: Node, running_mean: Node, running_var: Node,
             eps: float = 1e-5) -> Node:
        return G.apply(cls(eps=float(eps)), x, scale, gy, running_mean, running_var)

    def infer(self, x: Node, scale: Node, gy: Node, running_mean: Node, running_var: Node) -> TensorType:
        dtype = check_channels(self, x, scale, running_mean, running_var)
        require_float(self, x, gy)
        if gy.shape != x.shape:
            raise shape_error(self, "gy must have the shape of x", x, gy)
        return TensorType(x.shape, dtype)

    def forward(self, x: np.ndarray, scale: np.ndarray, gy: np.ndarray, running_mean: np.ndarray,
                running_var: np.ndarray, out: np.ndarray | None = None, training: bool = True) -> np.ndarray:
        if not training:
            return np.multiply(gy, running_inverse_std(self, running_var, scale, x.ndim), out=out)
        if batch_count(self, x) == 0:
            return np.empty(x.shape, x.dtype) if out is None else out
        result, _, _, inv = batch_statistics(self, x, out)
        axes = channel_axes(x.ndim)
        count = batch_count(self, x)
        projection = np.sum(gy * result, axis=axes, keepdims=True)
        projection *= np.square(inv) / count
        result *= -projection
        result += gy
        result -= np.sum(gy, axis=axes, keepdims=True) / count
        inv *= per_channel(scale, x.ndim)
        result *= inv
        return result

    def vjp(self, inputs, output, psi):
        x, scale, gy, running_mean, running_var = inputs
        axes = channel_axes(x.ndim)
        scale_b = G.reshape(scale, channel_shape(x))

        @functools.cache
        def training_rules():
            xhat, s = standardize(x, axes, self.eps)
            return input_grad_vjp(xhat, s, gy * scale_b, psi, axes)

        @functools.cache
        def grad_h():
            return G.mode_switch(training_rules()[1], psi * running_factor(x, running_var, self.eps))

        return (lambda: G.mode_switch(training_rules()[0], np.zeros(x.shape, x.dtype)),
                lambda: G.sum(grad_h() * gy, axis=axes),
                lambda: grad_h() * scale_b,
                None, None)


class BatchNormScaleGrad(Op):
    """`batch_norm_scale_grad(x, gy, running_mean, running_var, eps=1e-5)`: the gradient of
    batch_norm for its scale, sum(gy * normalised x) per channel, fused."""

    name = "batch_norm_scale_grad"
    mode_dependent = True

    @classmethod
    def call(cls, x: Node, gy: Node, running_mean: Node, running_var: Node, eps: float = 1e-5) -> Node:
        return G.apply(cls(eps=float(eps)), x, gy, running_mean, running_var)

    def infer(self, x: Node, gy: Node, running_mean: Node, running_var: Node) -> TensorType:
        dtype = check_channels(self, x, running_mean, running_var)
        require_float(self, x, gy)
        if gy.shape != x.shape:
            raise shape_error(self, "gy must have the shape of x", x, gy)
        return TensorType((x.shape[1],), dtype)

    def forward(self, x: np.ndarray, gy: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray,
                out: np.ndarray | None = None, training: bool = True) -> np.ndarray:
        if training and batch_count(self, x) == 0:
            return np.zeros(x.shape[1], x.dtype) if out is None else _filled(out, 0)
        if training:
            centered, _, _, inv = batch_statistics(self, x, None)
        else:
            centered = x - per_channel(running_mean, x.ndim)
            inv = inverse_std(running_var, self.eps)
        centered *= gy
        return np.multiply(np.sum(centered, axis=channel_axes(x.ndim)), inv.ravel(), out=out)

    def vjp(self, inputs, output, psi):
        x, gy, running_mean, running_var = inputs
        axes = channel_axes(x.ndim)
        psi_b = G.reshape(psi, channel_shape(x))
        running_s = running_factor(x, running_var, self.eps)
        xhat, s = standardize(x, axes, self.eps)

        def grad_x():
            return G.mode_switch(standardize_vjp(xhat, s, psi_b * gy, axes), psi_b * gy * running_s)

        def grad_gy():
            running_xhat = (x - G.reshape(running_mean, channel_shape(x))) * running_s
            return G.mode_switch(psi_b * xhat, psi_b * running_xhat)

        return grad_x, grad_gy, None, None


def _filled(out: np.ndarray, value: float) -> np.ndarray:
    out.fill(value)
    return out


OPS = [BatchNormGrad, BatchNormScaleGrad]
