"""`python -m gorgon plugins`: the installed plugins, their versions and ops."""

import argparse
import sys

from gorgon.registry import registry


def plugins_report() -> str:
    registry.load()
    lines = []
    for info in registry.plugins.values():
        version = f" {info.version}" if info.version else ""
        lines.append(f"{info.name}: {info.distribution}{version} ({len(info.ops)} ops)")
        for kind in ("ops", "solvers", "initializers"):
            names = getattr(info, kind)
            if names:
                lines.append(f"  {kind}: " + " ".join(sorted(names)))
        if info.error:
            lines.append(f"  ERROR: {info.error}")
    if not lines:
        lines.append("no gorgon plugins installed")
    lines.append(f"{len(registry.ops)} ops in all")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gorgon")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plugins", help="list installed plugins, versions and their ops")
    args = parser.parse_args(argv)
    if args.command == "plugins":
        print(plugins_report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
