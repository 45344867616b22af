"""What `python -m gorgon check-op NAME` prints: one line per check of the op on its own
samples, written as the check runs (the check and sample first, flushed, then its
outcome), so that when a kernel crashes the interpreter the last line names the check and
sample that crashed; then each failure in full (with the snippet that reproduces it),
then a count."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from gorgon.testing.kit import iter_checks
from gorgon.testing.report import CheckResult, ConformanceError

MARKS = {"passed": "pass", "skipped": "skip", "failed": "FAIL"}


def outcome(result: CheckResult) -> str:
    """`pass`, or `skip: <why>` / `FAIL: <reason>` (the first line of the detail)."""
    reason = result.detail.splitlines()[0] if result.detail else ""
    return f"{MARKS[result.status]}: {reason}" if reason else MARKS[result.status]


def run_report(op_name: str, checks: Iterable[str] | None, out: TextIO) -> bool:
    """Run every check of the registered op `op_name`, writing the report to `out` as it
    goes: `gradient      Sample(ones) ... pass`. Returns whether all passed or were
    skipped. Raises ConformanceError when the op has no usable samples (before writing)."""
    results = []
    for case in iter_checks(op_name, checks=checks):
        out.write(f"{case.check:<12}  {case.sample!r} ... ")
        out.flush()
        try:
            result = case.run()
        except ConformanceError as exc:
            result = CheckResult(case.op, case.check, case.sample, "failed", exc.reason, exc)
        out.write(outcome(result) + "\n")
        out.flush()
        results.append(result)
    failed = [r for r in results if r.error is not None]
    for result in failed:
        out.write(f"\n{result.error}\n")
    counts = {status: sum(r.status == status for r in results) for status in MARKS}
    out.write(f"\n{op_name}: " + ", ".join(f"{n} {status}" for status, n in counts.items()) + "\n")
    out.flush()
    return not failed
