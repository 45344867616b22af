"""A picture of a model's graph: its DOT text, rendered to SVG or PNG when Graphviz's
`dot` is installed, printed as text otherwise."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import numpy as np

import gorgon as G


def model_graph() -> G.Graph:
    """A small classifier with its gradients, to draw."""
    g = G.Graph()
    x = G.matrix(g, G.Float32, (8, 4), name="x", value=np.zeros((8, 4), np.float32))
    y = G.vector(g, G.Int64, 8, name="y", value=np.zeros(8, np.int64))
    w = G.matrix(g, G.Float32, (4, 3), name="w", init="glorot_uniform")
    b = G.vector(g, G.Float32, 3, name="b", init="zeros")
    loss = G.cross_entropy(G.relu(x @ w + b), y)
    G.grad(loss, w, b)
    return g


def render(dot: str, output: Path) -> Path | None:
    """Render with Graphviz to the format of `output`'s suffix; None without Graphviz."""
    executable = shutil.which("dot")
    if executable is None:
        return None
    fmt = output.suffix.lstrip(".") or "svg"
    subprocess.run([executable, f"-T{fmt}", "-o", str(output)], input=dot, text=True, check=True)
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("graph.svg"), help="an .svg or .png file")
    args = parser.parse_args(argv)
    dot = model_graph().to_dot()
    written = render(dot, args.output)
    print(f"wrote {written}" if written else dot)


if __name__ == "__main__":
    main()
