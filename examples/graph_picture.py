"""A picture of a model's graph, with a legend and its gradients labelled (d loss / d w):
rendered by Graphviz to the format of --output's suffix (SVG, PNG, PDF...) when its `dot`
program is installed; otherwise the DOT text is printed, and stderr says why."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import gorgon as G
from gorgon.dot import render


def model_graph() -> G.Graph:
    """A small classifier with its gradients, to draw."""
    g = G.Graph()
    x = G.matrix(g, G.Float32, (8, 4), name="x", value=np.zeros((8, 4), np.float32))
    y = G.vector(g, G.Int64, 8, name="y", value=np.zeros(8, np.int64))
    w = G.matrix(g, G.Float32, (4, 3), name="w", init="glorot_uniform")
    b = G.vector(g, G.Float32, 3, name="b", init="zeros")
    loss = G.cross_entropy(G.relu(x @ w + b), y, name="loss")
    G.grad(loss, w, b)
    return g


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--output", type=Path, default=Path("graph.svg"),
                        help="the picture to write; its suffix is the format")
    args = parser.parse_args(argv)
    dot = model_graph().to_dot()
    picture = render(dot, args.output.suffix.lstrip(".") or "svg")
    if picture is None:
        print(f"graph_picture: Graphviz's `dot` program is not installed (not on PATH), so "
              f"{args.output} was not written; printing the graph as DOT text instead. Install "
              f"Graphviz (e.g. `apt-get install graphviz`) to get the picture.", file=sys.stderr)
        print(dot, end="")
        return 0
    args.output.write_bytes(picture)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
