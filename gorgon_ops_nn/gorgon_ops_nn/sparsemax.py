"""sparsemax (Martins & Astudillo, 2016): the Euclidean projection onto the probability
simplex along one axis, a softmax whose outputs can be exactly 0."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon_ops_nn.softmax import AlongAxis


def threshold(z: np.ndarray) -> np.ndarray:
    """tau along the last axis (kept): the support is where z > tau, and the values there
    are z - tau, summing to 1. An empty axis has nothing to threshold."""
    if z.shape[-1] == 0:
        return np.zeros(z.shape[:-1] + (1,), z.dtype)
    ordered = -np.sort(-z, axis=-1)
    totals = np.cumsum(ordered, axis=-1)
    ranks = np.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    size = np.sum(1.0 + ranks * ordered > totals, axis=-1, keepdims=True)
    return (np.take_along_axis(totals, size - 1, -1) - 1.0) / size.astype(z.dtype)


class Sparsemax(AlongAxis):
    """`sparsemax(x, axis=-1)`: max(x - tau, 0) along `axis`, tau chosen so that each
    slice sums to 1. Its gradient is gy minus its mean over the support, on the support
    (never empty, except along an empty axis)."""

    name = "sparsemax"

    def forward(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        z = np.moveaxis(x, self.axis, -1)
        tau = np.moveaxis(threshold(z), -1, self.axis)
        result = np.subtract(x, tau, out=out)
        np.maximum(result, 0.0, out=result)
        return result

    def vjp(self, inputs, output, gy):
        support = G.cast(G.gt(output, 0.0), output.dtype)
        size = G.maximum(G.sum(support, axis=self.axis, keepdims=True), 1.0)
        return (support * (gy - G.sum(support * gy, axis=self.axis, keepdims=True) / size),)


OPS = [Sparsemax]
