"""How an op describes the inputs the conformance kit checks it on."""

from __future__ import annotations

from typing import Any

import numpy as np


class Sample:
    """One valid call of an op: `G.<op>(*args, **kwargs)`.

    Numpy arrays and numpy scalars in `args` (also inside lists, for ops like concat)
    become input nodes; a `G.Graph()` argument (for ops without inputs, like random
    nodes) stands for the fresh graph the kit builds each check in; everything else
    (Python numbers, shapes, axes, dtypes) is passed as is, as are `kwargs`. Samples
    are written in float64; the kit derives the float32 case. `wrt` lists the
    positions of the args whose gradient the kit checks (default: every float input;
    ignored for non-differentiable ops). `second_order=False` skips the grad-of-grad
    check for this sample. `label` names the sample in reports.
    """

    def __init__(self, *args: Any, wrt: tuple[int, ...] | None = None, label: str = "",
                 second_order: bool = True, **kwargs: Any):
        self.args = args
        self.kwargs = kwargs
        self.wrt = wrt
        self.label = label
        self.second_order = second_order

    def __repr__(self) -> str:
        return f"Sample({self.label or describe_args(self.args, self.kwargs)})"


class ErrorSample:
    """One call of an op that must be rejected when the node is built, with `error`
    (an exception class) and a message matching the regular expression `match`."""

    def __init__(self, *args: Any, error: type[BaseException], match: str, label: str = "",
                 **kwargs: Any):
        self.args = args
        self.kwargs = kwargs
        self.error = error
        self.match = match
        self.label = label

    def __repr__(self) -> str:
        what = self.label or describe_args(self.args, self.kwargs)
        return f"ErrorSample({what} -> {self.error.__name__})"


def describe_args(args: tuple, kwargs: dict) -> str:
    """The arguments of a call in short: arrays as `float64(3, 4)`, the rest by repr."""

    def one(a: Any) -> str:
        if isinstance(a, np.ndarray):
            return f"{a.dtype}{a.shape}"
        if isinstance(a, list):
            return "[" + ", ".join(one(x) for x in a) + "]"
        if isinstance(a, type):
            return a.__name__
        return repr(a)

    return ", ".join([one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()])
