"""Dropout: a random keep-mask node (dropout_mask), drawn anew on every training run and
all ones in evaluation mode, multiplied into the input (dropout). The gradient flows
through the same mask the forward pass used."""

from __future__ import annotations

import numpy as np

import gorgon as G
from gorgon import Node, Op, TensorType
from gorgon.dtypes import Float64
from gorgon.infer import check_seed, dtype_error, elementwise, inputs_of, random_spec, real, shape_error


def check_rate(op_name: str, p: float, *nodes: Node) -> float:
    """`p` as a float: an ArgumentTypeError unless it is a number, an ArgumentValueError
    unless 0 <= p < 1 (p = 1 would drop everything and scale by 1 / 0)."""
    rate = real(op_name, "the drop probability p", p, *nodes)
    if not 0.0 <= rate < 1.0:
        raise G.ArgumentValueError(f"{op_name}: the drop probability p must lie in [0, 1), got {p}"
                                   f"{inputs_of(nodes)}")
    return rate


class DropoutMask(Op):
    """`dropout_mask(graph, shape, dtype=Float64, p=0.5, seed=None)`: in training mode each
    element is 0 with probability p, else 1 / (1 - p) (so the mask's mean is 1), drawn
    anew on every run from a generator seeded by `seed`; all ones in evaluation mode."""

    name = "dropout_mask"
    pure = False
    mode_dependent = True

    @classmethod
    def call(cls, graph: G.Graph, shape: int | tuple[int, ...], dtype: object = Float64,
             p: float = 0.5, seed: int | None = None) -> Node:
        dims, dtype = random_spec(cls.name, graph, shape, dtype)
        op = cls(shape=dims, dtype=dtype, p=check_rate(cls.name, p), seed=check_seed(cls.name, seed))
        op.generator = np.random.default_rng(seed)
        return G.apply(op, graph=graph)

    def infer(self) -> TensorType:
        return TensorType(self.shape, self.dtype)

    def forward(self, out: np.ndarray | None = None, training: bool = True) -> np.ndarray:
        if out is None:
            out = np.empty(self.shape, self.dtype)
        if not training or self.p == 0.0:
            out.fill(1)
            return out
        keep = 1.0 - self.p
        self.generator.random(out=out, dtype=out.dtype)
        np.less(out, keep, out=out)
        out *= 1.0 / keep
        return out


class Dropout(Op):
    """`dropout(x, p=0.5, seed=None)`: each element zeroed with probability p and the
    rest scaled by 1 / (1 - p) in training mode, a fresh mask on every run; the identity
    in evaluation mode (`g.eval()` or `machine.eval()`). `seed` makes the masks
    reproducible."""

    name = "dropout"

    @classmethod
    def call(cls, x: Node, p: float = 0.5, seed: int | None = None) -> Node:
        if not isinstance(x, Node):
            raise G.ArgumentTypeError(f"{cls.name}: expected a node, got {type(x).__name__}")
        p, seed = check_rate(cls.name, p, x), check_seed(cls.name, seed)
        if x.dtype.kind != "f":
            raise dtype_error(cls(p=p), f"needs a float input, got {x.dtype}", x)
        mask = G.dropout_mask(x.graph, x.shape, x.dtype, p=p, seed=seed)
        return G.apply(cls(p=p), x, mask)

    def infer(self, x: Node, mask: Node) -> TensorType:
        if x.shape != mask.shape:
            raise shape_error(self, "x and its mask must have the same shape", x, mask)
        return elementwise(self, x, mask, floats_only=True)

    def forward(self, x: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.multiply(x, mask, out=out)

    def vjp(self, inputs, output, gy):
        return lambda: gy * inputs[1], None


OPS = [DropoutMask, Dropout]
