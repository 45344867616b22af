"""Gradient rules of the fused normalisation gradients (batch_norm_grad, layer_norm_grad
and their scale gradients), written with gorgon ops so gradients of any order work.

Within each group of M values normalised together (a channel for batch_norm, an example
for layer_norm): s = 1 / sqrt(var(x) + eps) and xhat = (x - mean(x)) * s; all means
below are over the group, kept for broadcasting.
"""

from __future__ import annotations

import gorgon as G
from gorgon import Node


def group_mean(t: Node, axes: tuple[int, ...]) -> Node:
    """The mean over each group; over the empty groups of an empty batch (whose every
    use is then empty or summed away) their sum, 0, since a mean over nothing is undefined."""
    if any(t.shape[a] == 0 for a in axes):
        return G.sum(t, axis=axes, keepdims=True)
    return G.mean(t, axis=axes, keepdims=True)


def standardize(x: Node, axes: tuple[int, ...], eps: float) -> tuple[Node, Node]:
    """(xhat, s) of x over `axes`, as nodes."""
    centered = x - group_mean(x, axes)
    s = (group_mean(centered * centered, axes) + eps) ** -0.5
    return centered * s, s


def standardize_vjp(xhat: Node, s: Node, h: Node, axes: tuple[int, ...]) -> Node:
    """d/dx of sum(h * xhat): s * (h - mean(h) - xhat * mean(h * xhat)). It is also the
    fused gradient of the normalised value for x, with h = gy * scale."""
    return s * (h - group_mean(h, axes) - xhat * group_mean(h * xhat, axes))


def input_grad_vjp(xhat: Node, s: Node, h: Node, psi: Node, axes: tuple[int, ...]) -> tuple[Node, Node]:
    """The gradient rule of dx = standardize_vjp(xhat, s, h) for an upstream gradient psi:
    (d/dx, d/dh) of sum(psi * dx)."""
    mean_psi, mean_h = group_mean(psi, axes), group_mean(h, axes)
    p, q = group_mean(psi * xhat, axes), group_mean(h * xhat, axes)
    spread = group_mean(psi * h, axes) - mean_h * mean_psi - 3.0 * p * q
    grad_x = s * s * (-(xhat * spread) - q * (psi - mean_psi) - p * (h - mean_h))
    return grad_x, standardize_vjp(xhat, s, psi, axes)
