"""The op under test: what `check_op` accepts (a name, a public function, an Op class)
resolved to a name, a function that builds its node, and how a snippet refers to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gorgon.errors import ArgumentTypeError
from gorgon.op import Op
from gorgon.registry import registry

OpLike = str | type[Op] | Callable[..., Any]


@dataclass(frozen=True)
class Target:
    """An op to check. `ref` is Python source naming it for `T.check_op` in a snippet,
    which needs `module` imported first when not None."""

    name: str
    build: Callable[..., Any]
    ref: str
    module: str | None = None


def resolve(op: OpLike) -> Target:
    """The Target for a registered op name, a function `G.<name>`, an Op subclass, or any
    function that builds a node (named by its `__name__`)."""
    if isinstance(op, str):
        return Target(op, registry.function(op), repr(op))
    if isinstance(op, type) and issubclass(op, Op):
        return _of_class(op, op.call)
    cls = getattr(op, "op", None)
    if isinstance(cls, type) and issubclass(cls, Op):
        return _of_class(cls, op)
    if callable(op):
        return Target(op.__name__, op, f"{op.__module__}.{op.__qualname__}", op.__module__)
    raise ArgumentTypeError(f"check_op: expected an op name, an Op subclass or a function, got {op!r}")


def _of_class(cls: type[Op], build: Callable[..., Any]) -> Target:
    registry.load()
    if registry.ops.get(cls.name) is cls:
        return Target(cls.name, build, repr(cls.name))
    return Target(cls.name, build, f"{cls.__module__}.{cls.__qualname__}", cls.__module__)
