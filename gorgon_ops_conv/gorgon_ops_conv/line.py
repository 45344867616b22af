"""The 1-D ops (conv1d, max_pool1d, avg_pool1d) as their 2-D counterparts on images one
pixel high: (N, C, L) arrays and nodes seen as (N, C, 1, L), and 1-D sizes (an int;
padding also a (left, right) pair) turned into the 2-D params that do the same."""

from __future__ import annotations

from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_ops_conv.geometry import Window, integer, pads, pair

Pads1d = int | tuple[int, int]


def length_pads(padding: Any) -> Pads1d:
    """1-D padding (an int or a (left, right) pair) in canonical form: an int when both
    sides agree."""
    if isinstance(padding, (tuple, list)):
        left, right = pair(padding, "padding")
        return left if left == right else (left, right)
    return integer(padding, "padding")


def image_params(**sizes: Any) -> dict[str, Any]:
    """2-D params for 1-D sizes: height 1 for kernel/stride/dilation, no padding above
    or below."""
    result: dict[str, Any] = {}
    for name, value in sizes.items():
        if name == "padding":
            left, right = value if isinstance(value, tuple) else (value, value)
            result[name] = ((0, 0), (left, right))
        else:
            result[name] = (1, value)
    return result


def line_window(kernel: int, stride: int, padding: Pads1d, dilation: int) -> Window:
    """The 2-D window that slides like the 1-D one along the last axis."""
    params = image_params(stride=stride, padding=padding, dilation=dilation)
    return Window((1, kernel), params["stride"], pads(params["padding"]), params["dilation"])


def as_image(array: np.ndarray | None) -> np.ndarray | None:
    """An (N, C, L) array as an (N, C, 1, L) view (None stays None)."""
    return None if array is None else array[:, :, None, :]


def image_node(node: Node) -> Node:
    """An (N, C, L) node reshaped to (N, C, 1, L)."""
    return G.reshape(node, node.shape[:2] + (1,) + node.shape[2:])


def line_node(node: Node) -> Node:
    """An (N, C, 1, L) node reshaped back to (N, C, L)."""
    return G.reshape(node, node.shape[:2] + node.shape[3:])
