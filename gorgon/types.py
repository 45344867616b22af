"""TensorType: what inference says of a node (shape and dtype), and how errors describe nodes."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TensorType:
    """The static type of a node: a shape (tuple of ints) and a numpy dtype."""

    shape: tuple[int, ...]
    dtype: np.dtype

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        object.__setattr__(self, "dtype", np.dtype(self.dtype))

    def __str__(self) -> str:
        return f"{self.shape} {self.dtype}"


class Shaped:
    """`ndim` and `size` from a `shape` attribute (nodes and compiler terms)."""

    __slots__ = ()
    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def describe(node: object) -> str:
    """One node for an error message: `'x' (shape (2, 3), float64)`."""
    return f"'{node.name}' (shape {node.shape}, {node.dtype})"
