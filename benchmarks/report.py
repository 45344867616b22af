"""Turn one pytest-benchmark run into a markdown table of medians and ratios.

    python -m pytest benchmarks --benchmark-enable --benchmark-json=bench.json
    python -m benchmarks.report bench.json

Per workload: each implementation's median (per op or step, as the benchmark recorded
in extra_info), and its ratio to the numpy floor and to torch measured in the same run.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

FLOOR = "numpy floor"
TORCH = "torch eager"


def _time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def rows(data: dict) -> dict[str, dict[str, tuple[float, int, str]]]:
    """workload -> implementation -> (median seconds per op, ops, GFLOP/s or "")."""
    table: dict[str, dict[str, tuple[float, int, str]]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        if "workload" not in info or "peak_bytes" in info:
            continue
        ops = int(info.get("ops", 1))
        gflops = f"{info['gflops']}" if "gflops" in info else ""
        table[info["workload"]][info["implementation"]] = (bench["stats"]["median"] / ops, ops, gflops)
    return table


def _ratio(value: float, reference: tuple[float, int, str] | None) -> str:
    return "" if reference is None else f"{value / reference[0]:.2f}x"


def growth_exponent(data: dict) -> float | None:
    """The slope of log(time) against log(nodes) over the compile-scaling benchmarks."""
    points = [(b["extra_info"]["nodes"], b["stats"]["median"]) for b in data["benchmarks"]
              if "nodes" in b.get("extra_info", {})]
    if len(points) < 2:
        return None
    sizes, times = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(sizes, times, 1)[0])


def markdown(data: dict) -> str:
    lines = []
    machine = data.get("machine_info", {})
    lines.append(f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
                 f"Python {machine.get('python_version', '?')}; medians of one run.")
    lines.append("")
    lines.append("| workload | implementation | median | per | vs numpy floor | vs torch | GFLOP/s |")
    lines.append("|---|---|---|---|---|---|---|")
    for workload, impls in sorted(rows(data).items()):
        floor, torch = impls.get(FLOOR), impls.get(TORCH)
        for name, (median, ops, gflops) in sorted(impls.items(), key=lambda item: item[1][0]):
            per = "op" if ops > 1 else "call"
            lines.append(f"| {workload} | {name} | {_time(median)} | {per} | "
                         f"{_ratio(median, floor)} | {_ratio(median, torch)} | {gflops} |")
    memory = [(b["extra_info"]["implementation"], b["extra_info"]["peak_bytes"])
              for b in data["benchmarks"] if "peak_bytes" in b.get("extra_info", {})]
    if memory:
        lines += ["", "| W5 implementation | tracemalloc peak per step |", "|---|---|"]
        lines += [f"| {name} | {peak / 1024:.1f} KiB |" for name, peak in sorted(memory)]
    exponent = growth_exponent(data)
    if exponent is not None:
        lines.append("")
        lines.append(f"Compile scaling: time grows as nodes^{exponent:.2f}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json_file", help="output of pytest --benchmark-json")
    args = parser.parse_args(argv)
    with open(args.json_file) as handle:
        print(markdown(json.load(handle)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
