"""Group and instance normalisation of (N, C, ...) batches, as torch defines them:
group_norm normalises each example's channels in `num_groups` groups (over the group's
channels and every spatial position), instance_norm each channel of each example (over
its spatial positions); then a per-channel scale and shift. Gradients are written with
gorgon ops (norm_rules.py), so gradients of any order work."""

from __future__ import annotations

import functools

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.infer import require_float, shape_error
from gorgon_ops_nn.moments import center, inverse_std
from gorgon_ops_nn.norm_rules import standardize, standardize_vjp


class ChannelGroups(Op):
    """What group_norm and instance_norm share: normalising x (N, C, ...) in groups of
    channels, then scale (C,) and shift (C,) per channel."""

    min_ndim = 2

    def groups(self, channels: int) -> int:
        raise NotImplementedError

    def infer(self, x: Node, scale: Node, shift: Node) -> TensorType:
        dtype = require_float(self, x, scale, shift)
        if x.ndim < self.min_ndim:
            raise shape_error(self, f"x must be (N, C{', L' if self.min_ndim > 2 else ''}, ...) "
                              f"(at least {self.min_ndim} dimensions)", x, scale, shift)
        if 0 in x.shape[1:]:
            raise shape_error(self, "x must have channels and positions (only the batch may be empty)",
                              x, scale, shift)
        channels = x.shape[1]
        if scale.shape != (channels,) or shift.shape != (channels,):
            raise shape_error(self, f"scale and shift must have shape ({channels},), one per channel",
                              x, scale, shift)
        if channels % self.groups(channels):
            raise shape_error(self, f"channels ({channels}) are not divisible by num_groups "
                              f"({self.groups(channels)})", x, scale, shift)
        return TensorType(x.shape, dtype)

    def grouped(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The (N, groups, values per group) view of an x of `shape`."""
        groups = self.groups(shape[1])
        return shape[0], groups, int(np.prod(shape[1:])) // groups

    def forward(self, x: np.ndarray, scale: np.ndarray, shift: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
        centered, _, var = center(x.reshape(self.grouped(x.shape)), (2,), None)
        centered *= inverse_std(var, self.eps)
        channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        result = np.multiply(centered.reshape(x.shape), scale.reshape(channel), out=out)
        result += shift.reshape(channel)
        return result

    def vjp(self, inputs, output, gy):
        x, scale, shift = inputs
        channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        grouped = self.grouped(x.shape)
        others = (0,) + tuple(range(2, x.ndim))

        @functools.cache
        def normalized():
            return standardize(G.reshape(x, grouped), (2,), self.eps)

        def grad_x():
            xhat, s = normalized()
            h = G.reshape(gy * G.reshape(scale, channel), grouped)
            return G.reshape(standardize_vjp(xhat, s, h, (2,)), x.shape)

        def grad_scale():
            return G.sum(gy * G.reshape(normalized()[0], x.shape), axis=others)

        return grad_x, grad_scale, lambda: G.sum(gy, axis=others)


class GroupNorm(ChannelGroups):
    """`group_norm(x, num_groups, scale, shift, eps=1e-5)`: x (N, C, ...) normalised to
    mean 0 and variance 1 within each example's `num_groups` groups of C / num_groups
    channels (over those channels and all positions), then times scale (C,) plus shift (C,)."""

    name = "group_norm"

    @classmethod
    def call(cls, x: Node, num_groups: int, scale: Node, shift: Node, eps: float = 1e-5) -> Node:
        if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
            raise G.ArgumentValueError(f"{cls.name}: num_groups must be a positive int, got {num_groups!r}")
        if not eps > 0:
            raise G.ArgumentValueError(f"{cls.name}: eps must be positive, got {eps}")
        return G.apply(cls(num_groups=int(num_groups), eps=float(eps)), x, scale, shift)

    def groups(self, channels: int) -> int:
        return self.num_groups


class InstanceNorm(ChannelGroups):
    """`instance_norm(x, scale, shift, eps=1e-5)`: each channel of each example of x
    (N, C, L, ...) normalised to mean 0 and variance 1 over its positions, then times
    scale (C,) plus shift (C,) (torch's instance_norm with input statistics)."""

    name = "instance_norm"
    min_ndim = 3

    @classmethod
    def call(cls, x: Node, scale: Node, shift: Node, eps: float = 1e-5) -> Node:
        if not eps > 0:
            raise G.ArgumentValueError(f"{cls.name}: eps must be positive, got {eps}")
        return G.apply(cls(eps=float(eps)), x, scale, shift)

    def groups(self, channels: int) -> int:
        return channels


OPS = [GroupNorm, InstanceNorm]
