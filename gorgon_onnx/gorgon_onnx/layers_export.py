"""A gorgon_layers model as a graph with a dynamic batch axis.

The model is built (in evaluation mode) on two batch sizes; the graphs are the same
node for node, and the axes whose sizes differ between them are the batch-sized ones,
which the builder writes as dynamic (-1 in Reshape targets, 1 in Expand shapes, the
graph input's first axis named "batch").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node

BATCHES = (2, 3)


def _is_model(model: Any) -> bool:
    try:
        from gorgon_layers import Module
    except ImportError:
        return False
    return isinstance(model, Module)


def _build(model: Any, shape: tuple[int, ...], dtype: np.dtype) -> tuple[Node, Node]:
    g = G.Graph()
    x = G.tensor(g, dtype, shape, name="input", value=np.zeros(shape, dtype))
    result = model(x)
    while isinstance(result, (tuple, list)):
        result = result[0]
    return x, result


def model_graph(model: Any, input_shape: Sequence[int] | None) -> tuple[Node, list[Node], dict]:
    """The model's output and input nodes (batch size BATCHES[0]) and the dynamic axes of
    every node."""
    if not _is_model(model):
        raise G.ArgumentTypeError(f"export: expected gorgon nodes or a gorgon_layers model, got "
                                  f"{type(model).__name__}")
    if input_shape is None:
        raise G.ArgumentValueError("export: a gorgon_layers model needs input_shape= (one example's "
                                   "shape, without the batch axis)")
    parameters = model.parameters()
    dtype = parameters[0].dtype if parameters else np.dtype(np.float32)
    was_training = model.training
    model.eval()
    try:
        (xa, ya), (xb, yb) = (_build(model, (n, *input_shape), dtype) for n in BATCHES)
    finally:
        model.train(was_training)
    nodes_a, nodes_b = xa.graph.nodes, xb.graph.nodes
    if len(nodes_a) != len(nodes_b):
        raise G.ArgumentValueError("export: the model builds different graphs for different batch sizes, "
                                   "so it cannot be exported with a dynamic batch axis")
    dynamic: dict[Node, tuple[int, ...]] = {}
    _compare(nodes_a, nodes_b, dynamic)
    return ya, [xa], dynamic


def _compare(nodes_a: Sequence[Node], nodes_b: Sequence[Node], dynamic: dict) -> None:
    """Record the axes whose sizes differ between paired nodes, also inside the bodies
    of paired scans."""
    for a, b in zip(nodes_a, nodes_b):
        axes = tuple(i for i, (da, db) in enumerate(zip(a.shape, b.shape)) if da != db)
        if axes:
            dynamic[a] = axes
        body_a, body_b = getattr(a.op, "body", None), getattr(b.op, "body", None)
        if body_a is not None and body_b is not None:
            _compare(body_a.graph.nodes, body_b.graph.nodes, dynamic)
