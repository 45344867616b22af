"""How an op describes the inputs the conformance kit checks it on."""

from __future__ import annotations

from typing import Any


class Sample:
    """One valid call of an op: `G.<op>(*args, **kwargs)`.

    Float numpy arrays in `args` (also inside lists, for ops like concat) become input
    nodes; everything else is passed as is. Samples are written in float64; the kit
    derives the float32 case. `wrt` lists the positions of the args whose gradient the
    kit checks (default: every float array argument; ignored for non-differentiable
    ops). `label` names the sample in reports.
    """

    def __init__(self, *args: Any, wrt: tuple[int, ...] | None = None, label: str = "",
                 **kwargs: Any):
        self.args = args
        self.kwargs = kwargs
        self.wrt = wrt
        self.label = label

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
        return f"ErrorSample({self.label or describe_args(self.args, self.kwargs)} -> {self.error.__name__})"


def describe_args(args: tuple, kwargs: dict) -> str:
    def one(a: Any) -> str:
        shape = getattr(a, "shape", None)
        if shape is not None:
            return f"array{tuple(shape)}:{a.dtype}"
        if isinstance(a, list):
            return "[" + ", ".join(one(x) for x in a) + "]"
        return repr(a)

    parts = [one(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)
