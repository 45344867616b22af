"""Turn one pytest-benchmark run into a markdown table of medians and ratios.

    python -m pytest benchmarks --benchmark-enable --benchmark-json=bench.json
    python -m benchmarks.report bench.json

Per workload: each implementation's median (per op or step, as the benchmark recorded
in extra_info), and its ratio to the numpy floor and to torch measured in the same run;
then the W5 memory table, the cost of the readable-by-default TapeMachine, and the
compile-scaling exponent, and the profile of the LeNet step (benchmarks/test_lenet_profile.py)
beside the ratios. The output starts with what each workload and column means.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

FLOOR = "numpy floor"
TORCH = "torch eager"

WORKLOADS = {
    "W1": "a chain of 1,000 elementwise ops (add, multiply, tanh) on a float64 vector of 16: "
          "the cost of dispatching one op; forward, and forward+backward",
    "W2": "one training step of an MLP 784-512-256-10 (ReLU, softmax cross-entropy, SGD), "
          "batch 128, float32",
    "W4": "one training step of an LSTM (hidden 128, input 64, batch 32, 50 time steps) built "
          "from core ops",
    "W5": "tracemalloc's peak of one steady-state W2 step: what a run allocates",
    "W6": "the W2 step data-parallel over MPI ranks (gorgon_dist)",
    "LeNet": "one training step of a LeNet-sized CNN (two 3x3 convs, max pools, two dense "
             "layers), batch 64 of 1x28x28, float32",
    "conv2d": "conv2d of a batch of 32 3x32x32 images with 32 3x3 filters, padding 1, float32; "
              "forward, and forward+backward",
    "conv2d 64ch": "conv2d where channels dominate: batch 64 of 64x14x14, 64 3x3 filters, padding 1, "
                   "float32; forward, and forward+backward",
    "max_pool2d": "LeNet's first 2x2 max-pool (stride 2) on a batch of 64 32x28x28 ReLU outputs, "
                  "float32; forward, and forward+backward",
    "digits CNN epoch": "one epoch (44 batches of 32) of examples/digits_cnn.py's CNN on the 8x8 digits "
                        "with Adam, and the same model and loop in PyTorch",
    "float32 GEMM": "numpy's 1024x1024 float32 matrix product: this machine's BLAS rate, "
                    "the roof for the conv GFLOP/s",
    "compile scaling": "building, differentiating and compiling graphs of 1k to 64k nodes",
    "ONNX ResNet import": "loading a small ResNet (batch norm, residual adds) exported by "
                          "torch.onnx.export into a compiled TapeMachine, beside an onnxruntime session",
    "ONNX ResNet forward": "that ResNet's forward pass (torch under no_grad) on a batch of 16 3x32x32 "
                           "images, gorgon against onnxruntime and PyTorch, 2 threads each",
    "readable cost": "W1 forward+backward, W2, LeNet and W4 on the TapeMachine with "
                             "readable=\"all\" (default) and readable=\"lean\"",
}
COLUMNS = [
    "median: the median time of one call over the benchmark's rounds, divided by `per`",
    "per: op when a call runs many ops (W1: per op of the chain), else call (one step)",
    "vs numpy floor: median / the median of the same computation written by hand in numpy "
    "(no graph, no machine) in the same run, the floor a numpy-based library stands on; "
    "below 1x (say 0.47x) gorgon ran faster than that code (it reuses buffers where the "
    "hand-written step allocates)",
    "vs torch: median / PyTorch eager's median in the same run (when torch is installed)",
    "GFLOP/s: useful floating-point work per second at the median (conv cases)",
]


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
        if "workload" not in info or "peak_bytes" in info or "readable" in info:
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


def legend(data: dict) -> list[str]:
    """What each workload of this run and each column of the table means."""
    present = {b.get("extra_info", {}).get(key, "") for b in data["benchmarks"]
               for key in ("workload", "cost_of")}
    lines = ["Workloads:"]
    lines += [f"- {key}: {text}" for key, text in WORKLOADS.items()
              if any(name.startswith(key) for name in present)]
    lines += ["", "Columns:"] + [f"- {text}" for text in COLUMNS] + [""]
    return lines


def readable_cost(data: dict) -> list[str]:
    """The readable="all" default against readable="lean": buffer bytes and median step."""
    found: dict[str, dict[str, tuple[int, float]]] = defaultdict(dict)
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        if "readable" in info:
            median = bench["stats"]["median"]
            found[info["cost_of"]][info["readable"]] = (info["buffer_bytes"], median)
    pairs = {name: modes for name, modes in found.items() if {"all", "lean"} <= set(modes)}
    if not pairs:
        return []
    lines = ["", "| readable cost | buffers all | buffers lean | memory x | median all "
                 "| median lean | time x |", "|---|---|---|---|---|---|---|"]
    for name, modes in sorted(pairs.items()):
        (all_bytes, all_time), (lean_bytes, lean_time) = modes["all"], modes["lean"]
        lines.append(f"| {name} | {all_bytes / 2**20:.2f} MiB | {lean_bytes / 2**20:.2f} MiB "
                     f"| {all_bytes / lean_bytes:.2f}x | {_time(all_time)} | {_time(lean_time)} "
                     f"| {all_time / lean_time:.2f}x |")
    return lines


def profile_tables(data: dict) -> list[str]:
    """The profile a benchmark kept (the LeNet step's): time per op type, then the
    slowest instructions, each with its share, bytes and GFLOP/s."""
    lines = []
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        profile = info.get("profile")
        if profile is None:
            continue
        runs, total = profile["runs"], profile["total"]
        lines += ["", f"Profile of {info['workload']} ({info['implementation']}, {runs} profiled runs, "
                      f"{_time(total / runs)} in kernels per run):", "",
                  "| op | instructions | time per run | share | GFLOP/s |", "|---|---|---|---|---|"]
        for row in profile["by_op"]:
            op = row["op"] if row["kind"] == "forward" else f"{row['op']} ({row['kind']})"
            lines.append(f"| {op} | {row['node'].split()[0]} | {_time(row['total'] / runs)} | "
                         f"{row['share']:.1%} | {_rate(row['gflops'])} |")
        lines += ["", "| slowest instruction | op | time per run | share | bytes | GFLOP/s |",
                  "|---|---|---|---|---|---|"]
        for row in profile["top"]:
            lines.append(f"| {row['node']} | {row['op']} | {_time(row['total'] / runs)} | "
                         f"{row['share']:.1%} | {row['bytes']} | {_rate(row['gflops'])} |")
    return lines


def _rate(gflops: float | None) -> str:
    return "" if gflops is None else f"{gflops:.1f}"


def markdown(data: dict) -> str:
    lines = []
    machine = data.get("machine_info", {})
    lines.append(f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
                 f"Python {machine.get('python_version', '?')}; medians of one run.")
    lines.append("")
    lines += legend(data)
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
    lines += readable_cost(data)
    lines += profile_tables(data)
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
