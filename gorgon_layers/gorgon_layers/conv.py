"""Convolutions over NCHW (and NCL) batches: Conv2d, Conv1d, ConvTranspose2d. Weights
are laid out as PyTorch's."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers.checks import float_dtype, size, sizes
from gorgon_layers.init import fan_in_uniform
from gorgon_layers.module import Module


def grouped(owner: str, channels: int, groups: int, what: str) -> None:
    if channels % groups:
        raise G.ArgumentValueError(f"{owner}: {what} ({channels}) must be divisible by groups ({groups})")


class Conv2d(Module):
    """2-D convolution, weight (out, in/groups, kh, kw), bias (out,)."""

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 dtype: Any = np.float32):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = size(owner, "in_channels", in_channels)
        self.out_channels = size(owner, "out_channels", out_channels)
        self.kernel_size = sizes(owner, "kernel_size", kernel_size, self.dims)
        self.stride = sizes(owner, "stride", stride, self.dims)
        self.padding = sizes(owner, "padding", padding, self.dims, minimum=0)
        self.dilation = sizes(owner, "dilation", dilation, self.dims)
        self.groups = size(owner, "groups", groups)
        grouped(owner, self.in_channels, self.groups, "in_channels")
        grouped(owner, self.out_channels, self.groups, "out_channels")
        dtype = float_dtype(owner, dtype)
        fan_in = self.in_channels // self.groups * int(np.prod(self.kernel_size))
        self.weight = fan_in_uniform(self.weight_shape(), fan_in, dtype)
        if bias:
            self.bias = fan_in_uniform((self.out_channels,), fan_in, dtype)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def forward(self, x: Node) -> Node:
        self.expect(x, (None, self.in_channels) + (None,) * self.dims, "an NC" + "HW"[-self.dims:] + " batch")
        y = self.convolve(x, self.weight)
        if "bias" in self._parameters:
            y = y + G.reshape(self.bias, (self.out_channels,) + (1,) * self.dims)
        return y

    def convolve(self, x: Node, weight: Node) -> Node:
        return G.conv2d(x, weight, stride=self.stride, padding=self.padding, dilation=self.dilation,
                        groups=self.groups)

    def flops(self, x: Node, y: Node) -> int:
        per_output = 2 * self.in_channels // self.groups * int(np.prod(self.kernel_size))
        return per_output * int(np.prod(y.shape))


class Conv1d(Conv2d):
    """1-D convolution over (N, C, L), weight (out, in/groups, k), bias (out,)."""

    dims = 1

    def convolve(self, x: Node, weight: Node) -> Node:
        return G.conv1d(x, weight, stride=self.stride[0], padding=self.padding[0], dilation=self.dilation[0],
                        groups=self.groups)


class ConvTranspose2d(Conv2d):
    """Transposed 2-D convolution (the gradient of Conv2d for its input), weight
    (in, out/groups, kh, kw) as in PyTorch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, dtype: Any = np.float32):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, dtype)
        self.output_padding = sizes("ConvTranspose2d", "output_padding", output_padding, 2, minimum=0)

    def weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels // self.groups) + self.kernel_size

    def convolve(self, x: Node, weight: Node) -> Node:
        return G.conv_transpose2d(x, weight, stride=self.stride, padding=self.padding,
                                  output_padding=self.output_padding, dilation=self.dilation,
                                  groups=self.groups)

    def flops(self, x: Node, y: Node) -> int:
        return 2 * self.out_channels // self.groups * int(np.prod(self.kernel_size)) * int(np.prod(x.shape))
