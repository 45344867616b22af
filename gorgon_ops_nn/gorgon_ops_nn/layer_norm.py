"""Layer normalisation over the trailing axes: layer_norm, and its fused gradients
layer_norm_grad (for x) and layer_norm_scale_grad (for the scale), whose own gradient
rules are written with gorgon ops (norm_rules.py)."""

from __future__ import annotations

import functools

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import nodes_in, real, require_float, shape_error
from gorgon_ops_nn.moments import center, inverse_std
from gorgon_ops_nn.norm_rules import input_grad_vjp, standardize, standardize_vjp


def trailing_axes(ndim: int, count: int) -> tuple[int, ...]:
    return tuple(range(ndim - count, ndim))


def check_trailing(op: Op, x: Node, *params: Node) -> np.dtype:
    """Every parameter has the shape of x's trailing axes, all of one float dtype."""
    dtype = require_float(op, x, *params)
    shape = params[0].shape
    if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape):] != shape:
        raise shape_error(op, "scale must have the shape of x's trailing axes (at least one)", x, *params)
    if any(p.shape != shape for p in params):
        raise shape_error(op, "scale and shift must have the same shape", x, *params)
    if 0 in shape:
        raise shape_error(op, "cannot normalise over empty trailing axes (an empty batch is fine)",
                          x, *params)
    return dtype


def normalized(x: np.ndarray, count: int, eps: float,
               out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """`((x - mean) / sqrt(var + eps), 1 / sqrt(var + eps))` over the `count` trailing axes,
    the first written into `out` when given."""
    centered, _, var = center(x, trailing_axes(x.ndim, count), out)
    inv = inverse_std(var, eps)
    centered *= inv
    return centered, inv


class LayerNorm(Op):
    """`layer_norm(x, scale, shift, eps=1e-5)`: each example normalised to mean 0 and
    variance 1 over x's trailing axes (as many as scale has, scale's shape being theirs),
    then scaled and shifted: (x - mean) / sqrt(var + eps) * scale + shift."""

    name = "layer_norm"

    @classmethod
    def call(cls, x: Node, scale: Node, shift: Node, eps: float = 1e-5) -> Node:
        eps = real(cls.name, "eps", eps, *nodes_in(x, scale, shift))
        if eps <= 0:
            raise G.ArgumentValueError(f"{cls.name}: eps must be positive, got {eps}")
        return G.apply(cls(eps=eps), x, scale, shift)

    def infer(self, x: Node, scale: Node, shift: Node) -> TensorType:
        return TensorType(x.shape, check_trailing(self, x, scale, shift))

    def forward(self, x: np.ndarray, scale: np.ndarray, shift: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
        result, _ = normalized(x, scale.ndim, self.eps, out)
        result *= scale
        result += shift
        return result

    def vjp(self, inputs, output, gy):
        x, scale, shift = inputs
        leading = tuple(range(x.ndim - scale.ndim))
        return (lambda: G.layer_norm_grad(x, scale, gy, eps=self.eps),
                lambda: G.layer_norm_scale_grad(x, gy, scale.ndim, eps=self.eps),
                lambda: G.sum(gy, axis=leading) if leading else gy)


class LayerNormGrad(Op):
    """`layer_norm_grad(x, scale, gy, eps=1e-5)`: the gradient of layer_norm for x, fused."""

    name = "layer_norm_grad"

    @classmethod
    def call(cls, x: Node, scale: Node, gy: Node, eps: float = 1e-5) -> Node:
        return G.apply(cls(eps=float(eps)), x, scale, gy)

    def infer(self, x: Node, scale: Node, gy: Node) -> TensorType:
        dtype = check_trailing(self, x, scale)
        require_float(self, x, gy)
        if gy.shape != x.shape:
            raise shape_error(self, "gy must have the shape of x", x, gy)
        return TensorType(x.shape, dtype)

    def forward(self, x: np.ndarray, scale: np.ndarray, gy: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
        axes = trailing_axes(x.ndim, scale.ndim)
        result, inv = normalized(x, scale.ndim, self.eps, out)
        scaled = gy * scale
        projection = np.mean(scaled * result, axis=axes, keepdims=True)
        result *= -projection
        result += scaled
        result -= np.mean(scaled, axis=axes, keepdims=True)
        result *= inv
        return result

    def vjp(self, inputs, output, psi):
        x, scale, gy = inputs
        axes = trailing_axes(x.ndim, scale.ndim)
        leading = tuple(range(x.ndim - scale.ndim))

        @functools.cache
        def rules():
            xhat, s = standardize(x, axes, self.eps)
            return input_grad_vjp(xhat, s, gy * scale, psi, axes)

        def grad_scale():
            product = rules()[1] * gy
            return G.sum(product, axis=leading) if leading else product

        return lambda: rules()[0], grad_scale, lambda: rules()[1] * scale


class LayerNormScaleGrad(Op):
    """`layer_norm_scale_grad(x, gy, scale_ndim, eps=1e-5)`: the gradient of layer_norm for
    its scale, sum(gy * normalised x) over the leading axes, fused."""

    name = "layer_norm_scale_grad"

    @classmethod
    def call(cls, x: Node, gy: Node, scale_ndim: int, eps: float = 1e-5) -> Node:
        return G.apply(cls(scale_ndim=int(scale_ndim), eps=float(eps)), x, gy)

    def infer(self, x: Node, gy: Node) -> TensorType:
        dtype = require_float(self, x, gy)
        if not 1 <= self.scale_ndim <= x.ndim:
            raise shape_error(self, f"scale_ndim {self.scale_ndim} must lie in [1, {x.ndim}]", x, gy)
        if gy.shape != x.shape:
            raise shape_error(self, "gy must have the shape of x", x, gy)
        return TensorType(x.shape[x.ndim - self.scale_ndim:], dtype)

    def forward(self, x: np.ndarray, gy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        result, _ = normalized(x, self.scale_ndim, self.eps, None)
        result *= gy
        return np.sum(result, axis=tuple(range(x.ndim - self.scale_ndim)), out=out)

    def vjp(self, inputs, output, psi):
        x, gy = inputs
        axes = trailing_axes(x.ndim, self.scale_ndim)
        xhat, s = standardize(x, axes, self.eps)
        return lambda: standardize_vjp(xhat, s, psi * gy, axes), lambda: psi * xhat


OPS = [LayerNorm, LayerNormGrad, LayerNormScaleGrad]
