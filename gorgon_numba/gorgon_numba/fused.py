"""Fused elementwise kernels: a fused op's steps become one Numba loop over the elements
(a parallel loop over the cores for large arrays when asked for: see `parallel`), each
step a scalar expression, the last possibly a sum or mean over all, trailing or leading
axes. Long chains on flat loops run on the interpreter of `blocked` instead.

Inputs either have the loop's shape or broadcast to it along whole leading or trailing
axis blocks (a bias row, a per-example column, a scalar) or, elementwise, along whole
blocks around a middle one (a convolution's (C, 1, 1) bias over (N, C, H, W)); other
broadcasts, integer or mixed dtypes, and ops without an expression here are declined
(numpy runs them). Comparisons are kept as 1.0 or 0.0 inside a kernel, so a ReLU
gradient `gy * cast(gt(x, 0), dtype)` is one loop. Inputs that are column blocks of wider
arrays (an LSTM's gates) are read row by row through flat views (RowsKernel), which
vectorises. float32 exp, sigmoid and tanh run vector_math's arithmetic forms, and `alone`
asks the fuse pass for a kernel of their own where one of them is not fused with others.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gorgon import TensorType
from gorgon_numba import blocked, vector_math
from gorgon_numba.cache import load
from gorgon_numba.row_layout import KERNEL_PARAMETERS, RowsKernel

PARALLEL_ENV = "GORGON_NUMBA_PARALLEL_MIN"


def parallel(size: int) -> bool:
    """Whether a loop over `size` elements runs over the cores: from GORGON_NUMBA_PARALLEL_MIN
    elements when that is set, else never. Measured on the shared 2-core machine, parallel
    loops lost or tied everywhere (LeNet step 325 ms with them from 65,536 elements, 43 ms
    without; the GELU/layer-norm block 40 against 38 ms): with both cores busy, each parallel
    call waits a scheduler time slice (milliseconds) for its worker thread."""
    chosen = os.environ.get(PARALLEL_ENV, "").strip()
    return bool(chosen) and size >= int(chosen)
TOLERANCE = {"float32": (2e-5, 1e-6), "float64": (1e-12, 1e-14)}
FLOATS = ("float32", "float64")
GELU_TANH_SCALE = math.sqrt(2.0 / math.pi)
GELU_TANH_CUBIC = 0.044715


def _unary(template: str) -> Callable[[Any, list[str], str], str]:
    return lambda op, a, dtype: template.format(*a)


def _clip(op: Any, a: list[str], dtype: str) -> str:
    return f"min(max({a[0]}, {float(op.low)!r}), {float(op.high)!r})"


def _by_dtype(float32: str, other: str) -> Callable[[Any, list[str], str], str]:
    """An expression that calls one of vector_math's float32 helpers in float32 kernels."""
    return lambda op, a, dtype: (float32 if dtype == "float32" else other).format(*a)


def _gelu(op: Any, a: list[str], dtype: str) -> str | None:
    x = a[0]
    if op.approximate == "tanh":
        tanh = "tanh32" if dtype == "float32" else "tanh"
        return (f"(0.5 * {x} * (1.0 + {tanh}({GELU_TANH_SCALE!r} * ({x} + {GELU_TANH_CUBIC!r} * "
                f"{x} * {x} * {x}))))")
    if dtype == "float32":
        return f"({x} * normal_cdf32({x}))"
    return f"({x} * 0.5 * (1.0 + math.erf({x} * {1 / math.sqrt(2.0)!r})))"


# The standard normal CDF for float32 results: Abramowitz & Stegun 7.1.26 (erfc to 1.5e-7
# absolute), one float32 exp (vector_math's) instead of erf's series; float64 keeps math.erf.
#
# float64 tanh in arithmetic alone, so that a loop of it vectorises (libm's tanh is one
# call per element; float32 kernels call vector_math's exp32, sigmoid32 and tanh32):
# tanh|x| = m / (m + 2) with m = expm1(2|x|), and expm1(2|x|) from expm1 of 2|x| / 64 (a
# Taylor polynomial of degree 17, under 1e-18 there) doubled six times by
# expm1(2u) = expm1(u) (expm1(u) + 2), which keeps its relative accuracy near 0. 2|x| is
# capped at 40 (tanh is 1.0 in float64 from 19.1 on); nan stays nan, -0.0 stays -0.0.
# Measured against numpy's tanh: under 7e-16 relative on [-30, 30] and down to 1e-300.
TANH_TAYLOR = "\n".join(f"    p = p * z + {1 / math.factorial(k)!r}" for k in range(16, 0, -1))
TANH_DOUBLINGS = "\n".join(["    m = m * (m + 2.0)"] * 6)  # unrolled: a loop here stops vectorisation
HELPERS = f"""
from gorgon_numba.vector_math import exp32, sigmoid32, tanh32  # vector_math {vector_math.VERSION}


@numba.njit(cache=True, inline="always")
def normal_cdf32(x):
    z = abs(x) * 0.7071067811865476
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    tail = 0.5 * poly * exp32(-z * z)
    return 1.0 - tail if x >= 0 else tail


@numba.njit(cache=True, inline="always", error_model="numpy", fastmath={{"contract"}})
def tanh(x):
    z = abs(np.float64(x)) * 0.03125
    z = 0.625 if z > 0.625 else z
    p = {1 / math.factorial(17)!r}
{TANH_TAYLOR}
    m = p * z
{TANH_DOUBLINGS}
    return np.copysign(m / (m + 2.0), x)
"""

EXPRESSIONS: dict[str, Callable[[Any, list[str], str], str | None]] = {
    "add": _unary("({0} + {1})"), "sub": _unary("({0} - {1})"), "mul": _unary("({0} * {1})"),
    "div": _unary("({0} / {1})"), "pow": _unary("({0} ** {1})"),
    "maximum": _unary("np.maximum({0}, {1})"), "minimum": _unary("np.minimum({0}, {1})"),
    "neg": _unary("(-{0})"), "abs": _unary("abs({0})"), "sign": _unary("np.sign({0})"),
    "exp": _by_dtype("exp32({0})", "np.exp({0})"), "log": _unary("np.log({0})"), "log1p": _unary("np.log1p({0})"),
    "expm1": _unary("np.expm1({0})"), "sqrt": _unary("np.sqrt({0})"),
    "square": _unary("({0} * {0})"), "reciprocal": _unary("(1.0 / {0})"),
    "sin": _unary("np.sin({0})"), "cos": _unary("np.cos({0})"), "tanh": _by_dtype("tanh32({0})", "tanh({0})"),
    "sigmoid": _by_dtype("sigmoid32({0})", "(1.0 / (1.0 + np.exp(-{0})))"),
    "softplus": _unary("(max({0}, 0.0) + np.log1p(np.exp(-abs({0}))))"),
    "relu": _unary("max({0}, 0.0)"), "clip": _clip, "erf": _unary("math.erf({0})"), "gelu": _gelu,
}
# A comparison's value is kept as 1.0 or 0.0 of the kernel's float dtype (every step is
# wrapped in T(...)), so casting it to that dtype is the value itself.
COMPARISONS = {"gt": ">", "lt": "<", "ge": ">=", "le": "<=", "eq": "==", "ne": "!="}
EXPRESSIONS.update({name: _unary(f"({{0}} {sign} {{1}})") for name, sign in COMPARISONS.items()})
EXPRESSIONS["cast"] = _unary("{0}")
REDUCTIONS = ("sum", "mean")
ALONE = ("exp", "sigmoid", "tanh")


def fuses(op: Any, inputs: Sequence[TensorType], output: TensorType) -> bool:
    """Whether this backend can compute `op` inside a fused kernel: an op it has an
    expression for, or a sum/mean, all on one float dtype; a comparison of floats (its
    boolean value), and a cast of a boolean or of the same float to a float."""
    given = {np.dtype(t.dtype).name for t in inputs}
    result = np.dtype(output.dtype).name
    if op.name in COMPARISONS:
        return result == "bool" and len(given) == 1 and given <= set(FLOATS)
    if op.name == "cast":
        return result in FLOATS and given <= {result, "bool"}
    dtypes = {np.dtype(t.dtype).name for t in (*inputs, output)}
    if len(dtypes) != 1 or not dtypes <= set(FLOATS):
        return False
    if op.name in REDUCTIONS:
        return True
    make = EXPRESSIONS.get(op.name)
    return make is not None and make(op, ["x"] * len(inputs), dtypes.pop()) is not None


def _pad(shape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return (1,) * (ndim - len(shape)) + tuple(shape)


def _kind(shape: tuple[int, ...], loop: tuple[int, ...], *splits: int) -> tuple[bool, ...] | None:
    """For a broadcasting input: whether it varies over each block of axes (cut at
    `splits`), or None when it broadcasts inside a block."""
    padded = _pad(shape, len(loop))
    kinds = []
    cuts = (0, *splits, len(loop))
    for start, stop in zip(cuts, cuts[1:]):
        part, full = padded[start:stop], loop[start:stop]
        if part == full and math.prod(full) != 1:
            kinds.append(True)
        elif all(d == 1 for d in part):
            kinds.append(False)
        else:
            return None
    return tuple(kinds)


class Layout:
    """How the loop runs: `flat` (one loop over every element) or two nested loops over
    (rows, cols) = (leading block, trailing block), `reduce` None, "all", "cols"
    (trailing axes, one result per row) or "rows" (leading axes, one per column); each
    input's 2-d (or flat) view shape and how it is indexed. With `middle` (elementwise
    only) the loops are three, over (rows, middle block from `split` to `middle`, cols)."""

    def __init__(self, loop: tuple[int, ...], split: int | None, reduce: str | None,
                 kinds: list[tuple[bool, ...]], middle: int | None = None):
        self.loop, self.split, self.reduce, self.kinds, self.middle = loop, split, reduce, kinds, middle
        size = math.prod(loop)
        if split is None:
            self.rows, self.cols = size, 1
        else:
            self.rows, self.cols = math.prod(loop[:split]), math.prod(loop[split:])
        self.blocks = (self.rows, self.cols)
        if middle is not None:
            self.cols = math.prod(loop[middle:])
            self.blocks = (self.rows, math.prod(loop[split:middle]), self.cols)

    def view(self, kind: tuple[bool, ...]) -> tuple[int, ...]:
        if self.split is None:
            return (self.rows,) if kind[0] else (1,)
        return tuple(size if varies else 1 for size, varies in zip(self.blocks, kind))

    @property
    def out_view(self) -> tuple[int, ...]:
        if self.reduce is None:
            return (self.rows,) if self.split is None else self.blocks
        return {"all": (1,), "cols": (self.rows,), "rows": (self.cols,)}[self.reduce]


def plan(loop: tuple[int, ...], inputs: Sequence[TensorType], reduce_axes: tuple[int, ...] | None,
         ) -> Layout | None:
    """The loop layout for these inputs, or None when their broadcasts do not fit one."""
    ndim = len(loop)
    shapes = [tuple(t.shape) for t in inputs]
    plain = all(_pad(s, ndim) == loop or math.prod(s) == 1 for s in shapes)
    if reduce_axes is not None and len(reduce_axes) == ndim:
        return Layout(loop, None, "all", [(_pad(s, ndim) == loop, False) for s in shapes]) if plain else None
    if reduce_axes is None and plain:
        return Layout(loop, None, None, [(_pad(s, ndim) == loop and math.prod(loop) != 1, False)
                                         for s in shapes])
    if reduce_axes is None:
        splits: Sequence[tuple[int, str | None]] = [(k, None) for k in range(ndim - 1, 0, -1)]
    elif reduce_axes == tuple(range(ndim - len(reduce_axes), ndim)):
        splits = [(ndim - len(reduce_axes), "cols")]
    elif reduce_axes == tuple(range(len(reduce_axes))):
        splits = [(len(reduce_axes), "rows")]
    else:
        return None
    for split, reduce in splits:
        kinds = [_kind(s, loop, split) for s in shapes]
        if all(k is not None for k in kinds):
            return Layout(loop, split, reduce, kinds)
    if reduce_axes is None:
        for split in range(1, ndim - 1):
            for middle in range(ndim - 1, split, -1):
                kinds = [_kind(s, loop, split, middle) for s in shapes]
                if all(k is not None for k in kinds):
                    return Layout(loop, split, None, kinds, middle)
    return None


def _literal(value: Any) -> str:
    number = float(value)
    if math.isnan(number):
        return "np.nan"
    if math.isinf(number):
        return "np.inf" if number > 0 else "-np.inf"
    return repr(number)


def _steps(op: Any, hoisted: list[str], body: list[str], inputs: int, dtype: str,
           ) -> tuple[list[str], str | None] | None:
    """Append the lines of `op`'s steps (on the inputs' values v0, v1, ...) to `hoisted`
    (constants) and `body`; return every value's name and the reduced value's, or None
    when a step has no expression."""
    names = [f"v{j}" for j in range(inputs)]
    steps, result = op.steps, None
    for number, step in enumerate(steps):
        name = f"t{number}"
        if step.op is None:
            hoisted.append(f"{name} = T({_literal(step.constant)})")
        elif step.op.name in REDUCTIONS:
            result = names[step.args[0]]
            name = result
        else:
            expression = EXPRESSIONS[step.op.name](step.op, [names[a] for a in step.args], dtype)
            if expression is None:
                return None
            boolean = step is steps[-1] and np.dtype(step.dtype) == np.bool_
            body.append(f"{name} = {expression}" if boolean else f"{name} = T({expression})")
        names.append(name)
    return names, result


def source(op: Any, layout: Layout, inputs: int, dtype: str, parallel: bool) -> str | None:
    """The Python source of the fused kernel `kernel(out, a0, a1, ...)`, or None when a
    step has no expression."""
    flat = layout.split is None
    counters = ("i",) if flat else ("r", "q", "c") if layout.middle is not None else ("r", "c")
    hoisted, body = [], []
    for j, kind in enumerate(layout.kinds):
        index = ", ".join(counter if varies else "0" for counter, varies in zip(counters, kind))
        (body if any(kind) else hoisted).append(f"v{j} = a{j}[{index}]")
    made = _steps(op, hoisted, body, inputs, dtype)
    if made is None:
        return None
    names, result = made
    last = op.steps[-1]
    lines = ["import math", "import numba", "import numpy as np", "", f"T = np.{dtype}", HELPERS,
             f"@numba.njit(cache=True, nogil=True, error_model='numpy', fastmath={{'contract'}}, parallel={parallel})",
             f"def kernel(out, rows, cols, {', '.join(f'a{j}' for j in range(inputs))}):"]
    lines += [f"    {line}" for line in hoisted]
    scale = ""
    if last.op is not None and last.op.name == "mean":
        count = {"all": "rows", "cols": "cols", "rows": "rows"}[layout.reduce]
        scale = f" / max({count}, 1)"
    loop_range = "numba.prange" if parallel else "range"
    if flat and layout.reduce is None:
        lines += [f"    for i in {loop_range}(rows):"] + [f"        {b}" for b in body]
        lines.append(f"        out[i] = {names[-1]}")
    elif flat:
        lines += ["    acc = 0.0", f"    for i in {loop_range}(rows):"]
        lines += [f"        {b}" for b in body] + [f"        acc += {result}", f"    out[0] = T(acc{scale})"]
    elif layout.middle is not None:
        lines += ["    middle = out.shape[1]", f"    for r in {loop_range}(rows):",
                  "        for q in range(middle):", "            for c in range(cols):"]
        lines += [f"                {b}" for b in body] + [f"                out[r, q, c] = {names[-1]}"]
    elif layout.reduce is None:
        lines += [f"    for r in {loop_range}(rows):", "        for c in range(cols):"]
        lines += [f"            {b}" for b in body] + [f"            out[r, c] = {names[-1]}"]
    elif layout.reduce == "cols":
        lines += [f"    for r in {loop_range}(rows):", "        acc = 0.0",
                  "        for c in range(cols):"]
        lines += [f"            {b}" for b in body] + [f"            acc += {result}", f"        out[r] = T(acc{scale})"]
    else:
        lines += [f"    for c in {loop_range}(cols):", "        acc = 0.0",
                  "        for r in range(rows):"]
        lines += [f"            {b}" for b in body] + [f"            acc += {result}", f"        out[c] = T(acc{scale})"]
    return "\n".join(lines) + "\n"


class FusedKernel:
    """A compiled fused kernel: `kernel(*arrays, out)`, and `bind` for the TapeMachine
    (the 2-d views made once)."""

    tolerance = TOLERANCE

    def __init__(self, function: Callable[..., None], layout: Layout,
                 strided: Callable[..., Callable[[], None] | None] | None = None):
        self.function = function
        self.views = [layout.view(k) for k in layout.kinds]
        self.out_view = layout.out_view
        self.size = (layout.rows, layout.cols)
        self._strided = strided

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        *inputs, out = arrays
        target = out.reshape(self.out_view) if out.flags.c_contiguous else np.empty(self.out_view, out.dtype)
        self.function(target, *self.size,
                      *[np.ascontiguousarray(a).reshape(v) for a, v in zip(inputs, self.views)])
        if target.base is not out and target is not out:
            out[...] = target.reshape(out.shape)
        return out

    def bind(self, *arrays: np.ndarray) -> Callable[[], None] | None:
        """The kernel on views of these arrays (strided ones too), or None when one cannot
        be viewed in the loop's layout (a reshape would copy it, and the copy would not
        follow the array)."""
        *inputs, out = arrays
        views = [a.reshape(v) for a, v in zip(inputs, self.views)]
        target = out.reshape(self.out_view)
        pairs = [(target, out), *zip(views, inputs)]
        if not all(a.size == 0 or np.may_share_memory(v, a) for v, a in pairs):
            return None if self._strided is None else self._strided(*arrays)
        return functools.partial(self.function, target, *self.size, *views)


def rows_source(op: Any, kinds: Sequence[tuple[bool, ...]], inputs: int, dtype: str) -> str | None:
    """The source of a RowsKernel's loop of a flat elementwise kernel's steps, or None
    when a step has no expression."""
    hoisted, body = [], []
    for j, kind in enumerate(kinds):
        (body if kind[0] else hoisted).append(f"v{j} = a{j}[o{j} + c]" if kind[0] else f"v{j} = a{j}[0]")
    made = _steps(op, hoisted, body, inputs, dtype)
    if made is None:
        return None
    names = made[0]
    lines = ["import math", "import numba", "import numpy as np", "", f"T = np.{dtype}", HELPERS,
             "@numba.njit(cache=True, nogil=True, error_model='numpy', fastmath={'contract'})",
             f"def kernel({KERNEL_PARAMETERS}, {', '.join(f'a{j}, s{j}' for j in range(inputs))}):"]
    lines += [f"    {line}" for line in hoisted]
    lines += ["    width = np.uint64(cols)", "    for r in range(rows):", "        oo = np.uint64(r * so)"]
    lines += [f"        o{j} = np.uint64(r * s{j})" for j, kind in enumerate(kinds) if kind[0]]
    lines += ["        for c in range(width):"] + [f"            {b}" for b in body]
    lines.append(f"            out[oo + c] = {names[-1]}")
    return "\n".join(lines) + "\n"


def strided_variant(op: Any, layout: Layout, inputs: int, dtype: str) -> Callable[..., Callable[[], None] | None]:
    """For a flat elementwise layout: `bind(*arrays)` for arrays no flat view can read,
    the kernel over their rows (RowsKernel) when each is rows of one stride, else over two
    nested loops (the leading axes, the last axis) of strided views; each variant compiled
    when first needed."""
    loop = layout.loop
    nested = Layout(loop, len(loop) - 1, None, [(kind[0], kind[0]) for kind in layout.kinds])
    made: dict[str, Any] = {}

    def bind(*arrays: np.ndarray) -> Callable[[], None] | None:
        if "rows" not in made:
            made["rows"] = RowsKernel(load(rows_source(op, layout.kinds, inputs, dtype)).kernel,
                                     [kind[0] for kind in layout.kinds])
        step = made["rows"].bind(*arrays)
        if step is not None:
            return step
        if "nested" not in made:
            text = source(op, nested, inputs, dtype, parallel(math.prod(loop)))
            made["nested"] = FusedKernel(load(text).kernel, nested)
        return made["nested"].bind(*arrays)

    return bind


def make_fused(op: Any, inputs: Sequence[TensorType], output: TensorType) -> FusedKernel | None:
    """The compiled kernel of fused op `op` on these types, or None when declined."""
    dtype = _kernel_dtype(op, inputs, output)
    if dtype is None:
        return None
    if not all(s.op is None or s.op.name in EXPRESSIONS or s.op.name in REDUCTIONS for s in op.steps):
        return None
    last = op.steps[-1]
    reduce_axes = None
    if last.op is not None and last.op.name in REDUCTIONS:
        loop = _value_shape(op, inputs, last.args[0])
        reduce_axes = tuple(sorted(last.op.axis))
    else:
        loop = tuple(output.shape)
    if any(s.op is not None and s.op.name in REDUCTIONS for s in op.steps[:-1]):
        return None
    layout = plan(loop, inputs, reduce_axes)
    if layout is None:
        return None
    interpretable = blocked.supported(op.steps) and not any(
        s.op is not None and (s.op.name in COMPARISONS or s.op.name == "cast") for s in op.steps)
    if layout.split is None and len(op.ops) >= blocked.MIN_STEPS and interpretable:
        threaded = parallel(math.prod(loop))
        run = blocked.interpreter(dtype.name, threaded, EXPRESSIONS, HELPERS)
        program = blocked.Program(op.steps, layout.kinds, layout.reduce is not None)
        count = 0 if layout.reduce is None else (max(layout.rows, 1) if last.op.name == "mean" else 1)
        kernel = blocked.InterpretedKernel(run, program, layout.rows, count, threaded, dtype, TOLERANCE)
    else:
        text = source(op, layout, len(inputs), dtype.name, parallel(math.prod(loop)))
        if text is None:
            return None
        strided = (strided_variant(op, layout, len(inputs), dtype.name)
                   if layout.split is None and layout.reduce is None and len(loop) >= 2 else None)
        kernel = FusedKernel(load(text).kernel, layout, strided)
    kernel(*[np.ones(t.shape, t.dtype) for t in inputs], np.empty(output.shape, output.dtype))  # compile now
    return kernel


def _kernel_dtype(op: Any, inputs: Sequence[TensorType], output: TensorType) -> np.dtype | None:
    """The one float dtype a fused kernel computes in, or None when its values do not
    fit one: booleans only as comparison results and as inputs to casts, a boolean
    output only from a final comparison."""
    values = [np.dtype(t.dtype).name for t in inputs] + [np.dtype(s.dtype).name for s in op.steps]
    floats = set(values) - {"bool"}
    if len(floats) != 1 or not floats <= set(FLOATS):
        return None
    for number, step in enumerate(op.steps):
        name = step.op.name if step.op is not None else None
        if (values[len(inputs) + number] == "bool") != (name in COMPARISONS):
            return None
        if name != "cast" and any(values[a] == "bool" for a in step.args):
            return None
    result = np.dtype(output.dtype).name
    if result != values[-1] or (result == "bool" and op.steps[-1].op is None):
        return None
    return np.dtype(floats.pop())


def _value_shape(op: Any, inputs: Sequence[TensorType], index: int) -> tuple[int, ...]:
    if index < len(inputs):
        return tuple(inputs[index].shape)
    return tuple(op.steps[index - len(inputs)].shape)


def alone(op: Any, inputs: Sequence[TensorType], output: TensorType) -> bool:
    """Whether a lone `op` is worth a fused kernel of its own: float32 exp, sigmoid and
    tanh (vector_math's loops run 2-4x faster than numpy's float32 exp and tanh here)."""
    return op.name in ALONE and {np.dtype(t.dtype).name for t in (*inputs, output)} == {"float32"}


make_fused.fuses = fuses
make_fused.alone = alone
