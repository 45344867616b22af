"""What `python -m gorgon check-op NAME` prints: one line per check of the op on its own
samples, then each failure in full (with the snippet that reproduces it), then a count."""

from __future__ import annotations

from collections.abc import Iterable

from gorgon.testing.kit import check_op
from gorgon.testing.report import CheckResult

MARKS = {"passed": "pass", "skipped": "skip", "failed": "FAIL"}


def result_line(result: CheckResult) -> str:
    """`pass  gradient      Sample(matrix)`, with the reason after a colon when there is one."""
    reason = result.detail.splitlines()[0] if result.detail else ""
    line = f"{MARKS[result.status]}  {result.check:<12}  {result.sample!r}"
    return f"{line}: {reason}" if reason else line


def check_report(op_name: str, checks: Iterable[str] | None = None) -> tuple[str, bool]:
    """The report of every check of the registered op `op_name`, and whether all passed
    or were skipped. Raises ConformanceError when the op has no usable samples."""
    results = check_op(op_name, checks=checks, strict=False)
    lines = [result_line(r) for r in results]
    failed = [r for r in results if r.error is not None]
    for result in failed:
        lines += ["", str(result.error)]
    counts = {status: sum(r.status == status for r in results) for status in MARKS}
    lines += ["", f"{op_name}: " + ", ".join(f"{n} {status}" for status, n in counts.items())]
    return "\n".join(lines), not failed
