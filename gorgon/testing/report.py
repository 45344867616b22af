"""What the kit reports: the result of one check, the error a failed check raises, and
the Python snippet in that error that reproduces the failure."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gorgon.graph import Graph
from gorgon.testing.samples import ErrorSample, Sample
from gorgon.testing.target import Target

Status = Literal["passed", "skipped", "failed"]
MAX_INLINE = 64


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check of one op on one sample; `detail` says why it was
    skipped, how it failed, or what it left out; a failed check keeps its `error`."""

    op: str
    check: str
    sample: Sample | ErrorSample
    status: Status
    detail: str = ""
    error: ConformanceError | None = None


class ConformanceError(AssertionError):
    """A conformance check failed. The message names the check, the op and the sample,
    and ends with a snippet that reproduces the failure; `reason` is what went wrong, in
    short. An error for several failures (from `check_op`) lists them and keeps each in
    `failures`."""

    def __init__(self, message: str, *, op: str | None = None, check: str | None = None,
                 sample: Sample | ErrorSample | None = None, reason: str = "",
                 failures: list[ConformanceError] | None = None):
        super().__init__(message)
        self.op = op
        self.check = check
        self.sample = sample
        self.reason = reason
        self.failures = failures or []


class Mismatch(Exception):
    """Raised inside a check: what the op did wrong. The kit adds the op, the sample and
    the snippet."""


class Skip(Exception):
    """Raised inside a check: it does not apply to this op or sample, and why."""


class _TooBig(Exception):
    pass


def literal(value: Any, imports: set[str]) -> str:
    """Python source for `value`, adding the modules it needs to `imports`; arrays over
    MAX_INLINE elements (or not finite) cannot be written out and raise _TooBig."""
    if isinstance(value, np.ndarray):
        if value.size > MAX_INLINE or (value.dtype.kind == "f" and not np.isfinite(value).all()):
            raise _TooBig
        imports.add("numpy as np")
        return f"np.array({value.tolist()!r}, dtype={value.dtype.name!r})"
    if isinstance(value, np.generic):
        imports.add("numpy as np")
        item = value.item()
        text = repr(item) if not isinstance(item, float) or np.isfinite(item) else repr(str(item))
        return f"np.{type(value).__name__}({text})"
    if isinstance(value, np.dtype):
        imports.add("numpy as np")
        return f"np.dtype({value.name!r})"
    if isinstance(value, type):
        return type_literal(value, imports)
    if isinstance(value, Graph):
        imports.add("gorgon as G")
        return "G.Graph()"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, imports) for v in value) + "]"
    if isinstance(value, tuple):
        items = [literal(v, imports) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return repr(value)


def type_literal(cls: type, imports: set[str]) -> str:
    """Source naming a class: numpy scalar types as `np.<name>`, builtins by name, the
    rest by module path."""
    if issubclass(cls, np.generic):
        imports.add("numpy as np")
        return f"np.{cls.__name__}"
    if cls.__module__ == "builtins":
        return cls.__name__
    imports.add(cls.__module__)
    return f"{cls.__module__}.{cls.__qualname__}"


def sample_literal(sample: Sample | ErrorSample, imports: set[str]) -> str:
    """Source that rebuilds `sample` with its exact values (as `T.Sample(...)`)."""
    imports.add("gorgon.testing as T")
    parts = [literal(a, imports) for a in sample.args]
    if isinstance(sample, ErrorSample):
        parts += [f"error={type_literal(sample.error, imports)}", f"match={sample.match!r}"]
    else:
        if sample.wrt is not None:
            parts.append(f"wrt={sample.wrt!r}")
        if not sample.second_order:
            parts.append("second_order=False")
    if sample.label:
        parts.append(f"label={sample.label!r}")
    parts += [f"{k}={literal(v, imports)}" for k, v in sample.kwargs.items()]
    return f"T.{type(sample).__name__}({', '.join(parts)})"


def reproduce(target: Target, check: str, sample: Sample | ErrorSample, index: int,
              from_registry: bool) -> str:
    """A snippet that runs `check` of the op on `sample` alone: the sample written out, or
    for big arrays taken again from the registry (`from_registry`) by its `index`."""
    imports = {"gorgon.testing as T"}
    if target.module:
        imports.add(target.module)
    try:
        sample_line = f"sample = {sample_literal(sample, imports)}"
    except _TooBig:
        sample_line = (f"sample = T.load_samples({target.name!r})[{index}]" if from_registry
                       else f"sample = ...  # sample {index} of those given to check_op: {sample!r}")
    lines = [f"import {module}" for module in sorted(imports)]
    lines += [sample_line, f"T.check_op({target.ref}, samples=[sample], checks=[{check!r}])"]
    return "\n".join(lines)


def failure_message(op: str, check: str, sample: Sample | ErrorSample, detail: str,
                    snippet: str) -> str:
    """The message of a ConformanceError for one failed check."""
    return (f"conformance check {check!r} failed for op {op!r} on {sample!r}:\n"
            f"{textwrap.indent(detail, '  ')}\nreproduce with:\n{textwrap.indent(snippet, '    ')}")
