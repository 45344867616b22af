"""`python -m gorgon plugins`: the installed plugins, their versions, ops and load errors.
`python -m gorgon check-op NAME`: the conformance kit on one installed op's own samples."""

import argparse
import contextlib
import faulthandler
import sys

from gorgon.errors import GorgonError
from gorgon.registry import registry
from gorgon.testing import ConformanceError
from gorgon.testing.console import run_report


def plugins_report() -> str:
    """Each plugin: its distribution and version, what it registered (ops, solvers,
    initialisers, and kernels per backend), and its errors."""
    registry.load()
    lines = []
    for info in registry.plugins.values():
        version = f" {info.version}" if info.version else ""
        lines.append(f"{info.name}: {info.distribution}{version} ({len(info.ops)} ops)")
        for kind in ("ops", "solvers", "initializers"):
            names = getattr(info, kind)
            if names:
                lines.append(f"  {kind}: " + " ".join(sorted(names)))
        for backend in sorted({b for b, _ in info.kernels}):
            lines.append(f"  kernels ({backend}): "
                         + " ".join(sorted(op for b, op in info.kernels if b == backend)))
        lines += [f"  ERROR: {failure}" for failure in info.failures]
    lines += [f"{name}: {dist} (not loaded: {reason})" for name, (dist, reason) in registry.skipped.items()]
    lines += [f"ERROR: {problem}" for problem in registry.selection_problems]
    if not lines:
        lines.append("no gorgon plugins installed")
    failed = sum(bool(info.failures) for info in registry.plugins.values())
    lines.append(f"{len(registry.ops)} ops in all"
                 + (f"; {failed} plugin{'s' * (failed > 1)} with errors" if failed else ""))
    return "\n".join(lines)


def check_op_command(name: str, checks: list[str] | None) -> int:
    """Print the kit's report on op `name`, one line per check as it runs (faulthandler
    on: a kernel that crashes the interpreter leaves its check and sample on the last
    line, and its traceback on stderr): 0 when every check passed or was skipped, 1 when
    one failed (or the op has no usable samples), 2 when there is no such op."""
    if not faulthandler.is_enabled():
        with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr without a file
            faulthandler.enable()
    try:
        passed = run_report(name, checks, sys.stdout)
    except ConformanceError as exc:
        print(f"check-op: {exc}", file=sys.stderr)
        return 1
    except (GorgonError, ValueError) as exc:
        print(f"check-op: {exc}", file=sys.stderr)
        return 2
    return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gorgon")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plugins", help="list installed plugins, versions, ops and load errors")
    check = commands.add_parser("check-op", help="run the conformance kit on an installed op")
    check.add_argument("name", help="the op's registered name")
    check.add_argument("--check", action="append", dest="checks", metavar="CHECK",
                       help="run only this check (repeatable); default: every check")
    args = parser.parse_args(argv)
    if args.command == "check-op":
        return check_op_command(args.name, args.checks)
    print(plugins_report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
