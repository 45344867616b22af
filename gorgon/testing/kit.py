"""The kit's entry points: run the conformance checks of an op over its samples.

In a plugin's test suite, one test per (op, check, sample)::

    import pytest
    from gorgon.testing import conformance_cases

    CASES = conformance_cases(["my_op"])

    @pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
    def test_conformance(case):
        result = case.run()  # raises ConformanceError on failure
        if result.status == "skipped":
            pytest.skip(result.detail)

or all at once: ``check_op("my_op")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import NamedTuple

from gorgon.errors import ArgumentTypeError, ArgumentValueError
from gorgon.registry import registry
from gorgon.testing.forward_checks import check_errors, check_inference, check_out_kernel
from gorgon.testing.grad_checks import (check_float32, check_gradient, check_lisp_agrees,
                                        check_second_order)
from gorgon.testing.report import (CheckResult, ConformanceError, Mismatch, Skip, failure_message,
                                   reproduce)
from gorgon.testing.samples import ErrorSample, Sample, describe_args
from gorgon.testing.target import OpLike, Target, resolve

AnySample = Sample | ErrorSample

SAMPLE_CHECKS: dict[str, Callable[[Target, Sample], str | None]] = {
    "inference": check_inference,
    "out_kernel": check_out_kernel,
    "gradient": check_gradient,
    "lisp_agrees": check_lisp_agrees,
    "float32": check_float32,
    "second_order": check_second_order,
}
ERROR_CHECKS: dict[str, Callable[[Target, ErrorSample], None]] = {"errors": check_errors}
CHECKS = (*SAMPLE_CHECKS, *ERROR_CHECKS)


class CheckCase(NamedTuple):
    """One check of one op on one sample; `run()` returns a passed or skipped
    CheckResult, or raises ConformanceError."""

    op: str
    check: str
    sample: AnySample
    run: Callable[[], CheckResult]

    @property
    def id(self) -> str:
        """A readable test id: `add-gradient-broadcast row`."""
        sample = self.sample
        return f"{self.op}-{self.check}-{sample.label or describe_args(sample.args, sample.kwargs)}"


def load_samples(op_name: str) -> list[AnySample]:
    """The samples the op's plugin registered; ConformanceError when there are none, the
    factory fails, or it returns anything but samples or no valid Sample at all."""
    registry.load()
    factory = registry.samples.get(op_name)
    if factory is None:
        raise ConformanceError(f"op {op_name!r} has no conformance samples: its plugin must "
                               "register some through the register_samples hook", op=op_name)
    try:
        samples = list(factory())
    except Exception as exc:
        raise ConformanceError(f"the samples factory of op {op_name!r} failed: "
                               f"{type(exc).__name__}: {exc}", op=op_name) from exc
    strays = [s for s in samples if not isinstance(s, (Sample, ErrorSample))]
    if strays:
        raise ConformanceError(f"the samples factory of op {op_name!r} returned {strays[0]!r}, "
                               "not a Sample or ErrorSample", op=op_name)
    if not any(isinstance(s, Sample) for s in samples):
        raise ConformanceError(f"op {op_name!r} has no valid Sample among its samples", op=op_name)
    return samples


def require_samples(op_names: Iterable[str] | None = None) -> None:
    """Raise one ConformanceError listing every op (default: every registered op) whose
    samples are missing or broken, and samples registered for no op."""
    registry.load()
    names = sorted(registry.ops) if op_names is None else list(op_names)
    problems = []
    for name in names:
        try:
            load_samples(name)
        except ConformanceError as exc:
            problems.append(str(exc))
    if op_names is None:
        problems += [f"samples are registered for {name!r}, which no plugin registers as an op"
                     for name in sorted(set(registry.samples) - set(registry.ops))]
    if problems:
        raise ConformanceError("\n".join(problems))


def _select(checks: Iterable[str] | None) -> set[str]:
    chosen = set(CHECKS if checks is None else checks)
    unknown = chosen - set(CHECKS)
    if unknown:
        raise ArgumentValueError(f"unknown checks {sorted(unknown)}; the checks are {list(CHECKS)}")
    return chosen


def iter_checks(op: OpLike, samples: Sequence[AnySample] | None = None,
                checks: Iterable[str] | None = None) -> list[CheckCase]:
    """Every (check, sample) case of `op`: a registered name, `G.<name>`, an Op subclass
    or a function that builds a node. `samples` default to those its plugin registered;
    `checks` to all of CHECKS."""
    target = resolve(op)
    chosen = _select(checks)
    from_registry = samples is None
    samples = load_samples(target.name) if samples is None else list(samples)
    cases = []
    for index, sample in enumerate(samples):
        if not isinstance(sample, (Sample, ErrorSample)):
            raise ArgumentTypeError(f"check_op: expected Sample or ErrorSample objects, got {sample!r}")
        table = ERROR_CHECKS if isinstance(sample, ErrorSample) else SAMPLE_CHECKS
        for name, check in table.items():
            if name in chosen:
                run = partial(_run, target, name, check, sample, index, from_registry)
                cases.append(CheckCase(target.name, name, sample, run))
    return cases


def _run(target: Target, name: str, check: Callable, sample: AnySample, index: int,
         from_registry: bool) -> CheckResult:
    try:
        note = check(target, sample)
    except Skip as skip:
        return CheckResult(target.name, name, sample, "skipped", str(skip))
    except Exception as exc:
        detail = str(exc) if isinstance(exc, Mismatch) else f"raised {type(exc).__name__}: {exc}"
        cause = exc.__cause__ if isinstance(exc, Mismatch) else exc
        snippet = reproduce(target, name, sample, index, from_registry)
        raise ConformanceError(failure_message(target.name, name, sample, detail, snippet),
                               op=target.name, check=name, sample=sample, reason=detail) from cause
    return CheckResult(target.name, name, sample, "passed", note or "")


def check_op(op: OpLike, samples: Sequence[AnySample] | None = None,
             checks: Iterable[str] | None = None, *, strict: bool = True) -> list[CheckResult]:
    """Run every check of `op` (see `iter_checks`) and return the results. With `strict`
    (the default) any failure raises one ConformanceError listing them all; otherwise
    failures come back as results with status "failed"."""
    results, failures = [], []
    for case in iter_checks(op, samples, checks):
        try:
            results.append(case.run())
        except ConformanceError as exc:
            failures.append(exc)
            results.append(CheckResult(case.op, case.check, case.sample, "failed", exc.reason, exc))
    if failures and strict:
        if len(failures) == 1:
            raise failures[0]
        raise ConformanceError(f"{len(failures)} conformance checks failed:\n\n"
                               + "\n\n".join(str(f) for f in failures),
                               op=failures[0].op, failures=failures)
    return results


def conformance_cases(op_names: Iterable[str] | None = None,
                      checks: Iterable[str] | None = None) -> list[CheckCase]:
    """The cases of every op named (default: every registered op), for pytest to
    parametrize over. Ops whose samples are missing or broken are left out: put
    `require_samples()` in the suite to fail for them."""
    registry.load()
    cases: list[CheckCase] = []
    for name in sorted(registry.ops) if op_names is None else op_names:
        try:
            cases += iter_checks(name, checks=checks)
        except ConformanceError:
            continue
    return cases
