"""model.summary(input_shape): a table of the leaf layers in call order with their output
shapes, parameter counts and FLOPs (multiply-adds counted as two) for one example, and
the totals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import gorgon as G
from gorgon_layers import module as modules
from gorgon_layers.module import Module


def output_shape(result: Any) -> str:
    if isinstance(result, (tuple, list)):
        return ", ".join(output_shape(r) for r in result)
    return str(tuple(result.shape))


def summary(model: Module, input_shape: tuple[int, ...], dtype: Any = np.float32,
            print_fn: Callable[[str], Any] | None = print) -> str:
    """Build the model once on a batch of one example of `input_shape` and tabulate each
    leaf module; the table is printed with `print_fn` (unless None) and returned."""
    rows: list[tuple[str, str, int, int]] = []
    counted: set[int] = set()

    def record(module: Module, inputs: tuple, result: Any) -> None:
        params = 0
        for array in module._parameters.values():
            if id(array) not in counted:
                counted.add(id(array))
                params += array.size
        flops = module.flops(inputs[0], result) if hasattr(module, "flops") else 0
        rows.append((f"{module._path or '(model)'} ({type(module).__name__})", output_shape(result), params, flops))

    g = G.Graph()
    dtype = np.dtype(dtype)
    x = G.tensor(g, dtype, (1,) + tuple(input_shape), name="x")
    modules._building.recorder = record
    try:
        model(x)
    finally:
        modules._building.recorder = None
    total_params = sum(array.size for array in model.parameters())
    header = ("layer", "output shape", "params", "FLOPs")
    body = [(name, shape, f"{params:,}", f"{flops:,}") for name, shape, params, flops in rows]
    footer = ("total", "", f"{total_params:,}", f"{sum(r[3] for r in rows):,}")
    widths = [max(len(r[i]) for r in [header, *body, footer]) for i in range(4)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    rule = "-" * len(line(header))
    text = "\n".join([line(header), rule, *map(line, body), rule, line(footer)])
    if print_fn is not None:
        print_fn(text)
    return text
