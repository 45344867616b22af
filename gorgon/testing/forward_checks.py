"""Checks of what happens before any gradient: inference against the kernel, the kernel's
`out=` contract, and the errors an op must raise when its node is built."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import numpy as np

from gorgon.graph import Graph
from gorgon.node import Node
from gorgon.op import Op, kernel, workspace
from gorgon.testing.build import build, make_inputs
from gorgon.testing.numeric import assert_close, evaluate, same
from gorgon.testing.report import Mismatch
from gorgon.testing.samples import ErrorSample, Sample
from gorgon.testing.target import Target
from gorgon.vm import TapeMachine

OUT_RTOL = 1e-12
OUT_ATOL = 1e-15
IMPURE_BOOL_ROUNDS = 8


def check_inference(target: Target, sample: Sample) -> None:
    """Every node the call built has the shape and dtype its kernel really returns."""
    built = build(target, sample)
    values = evaluate(built.graph.nodes)
    for node in built.graph.nodes:
        value = values[node]
        if node.op is not None and (value.shape != node.shape or value.dtype != node.dtype):
            raise Mismatch(f"op {node.op} inferred {node.shape} {node.dtype} for node {node.name!r}, "
                           f"but its kernel returns {value.shape} {value.dtype}")


def check_out_kernel(target: Target, sample: Sample) -> None:
    """Every op's kernel (in both modes, for mode-dependent ops), given `out=` full of
    garbage, writes all of it, returns it, agrees with its allocating call and leaves
    its inputs alone (but for those it declares in `updates`), given its declared
    `workspace` full of garbage as `work=` when it declares one; an op declaring `is_view`
    returns from `view(...)` a view of its first input's memory holding the same values,
    which follows that input when it changes."""
    built = build(target, sample)
    values: dict[Node, np.ndarray] = {}
    for node in built.graph.nodes:
        if node.op is None:
            values[node] = node.value
            continue
        arrays = [values[p] for p in node.inputs]
        modes = (True, False) if node.op.mode_dependent else (node.graph.training,)
        for training in modes:
            forward = kernel(node.op, training)
            originals = [a.copy() for a in arrays]
            expected = np.asarray(forward(*arrays))
            _check_untouched(node.op, originals, arrays, "forward(...)")
            with_work = with_workspace(node.op, forward, arrays)
            _check_out(node, with_work, originals, expected)
            _check_inplace(node, with_work, originals, expected)
            _check_view(node, originals, expected)
            if training == node.graph.training:
                values[node] = expected


def with_workspace(op: Op, forward: Callable[..., np.ndarray],
                   arrays: list[np.ndarray]) -> Callable[..., np.ndarray]:
    """`forward` given the op's declared workspace, filled with garbage, as `work=`
    (the TapeMachine's call); `forward` itself for an op that declares none."""
    work = workspace(op, arrays)
    for scratch in work:
        scratch.fill(garbage(scratch.dtype)[0])
    return functools.partial(forward, work=work) if work else forward


def garbage(dtype: np.dtype) -> list[object]:
    """Two fill values for an `out` buffer that a correct kernel overwrites."""
    if dtype.kind == "f":
        return [np.nan, np.finfo(dtype).max]
    if dtype.kind in "iu":
        return [np.iinfo(dtype).max, np.iinfo(dtype).min]
    return [True, False]


def _check_out(node: Node, forward: Callable[..., np.ndarray], arrays: list[np.ndarray],
               expected: np.ndarray) -> None:
    op = node.op
    fills = garbage(node.dtype)
    if not op.pure and node.dtype.kind == "b":
        fills *= IMPURE_BOOL_ROUNDS
    written = np.zeros(node.shape, bool)
    copies = [a.copy() for a in arrays]
    for fill in fills:
        buf = np.full(node.shape, fill, node.dtype)
        with np.errstate(all="ignore"):
            result = forward(*copies, out=buf)
        if result is not buf:
            raise Mismatch(f"op {op}: forward(..., out=buf) returned "
                           f"{'a new array' if isinstance(result, np.ndarray) else repr(result)}, not buf")
        _check_untouched(op, arrays, copies, "forward(..., out=buf)")
        if op.pure:
            assert_close(f"op {op}: out=buf filled with {fill!r}", buf, expected, OUT_RTOL, OUT_ATOL)
        else:
            written |= ~(np.isnan(buf) if node.dtype.kind == "f" and np.isnan(fill) else buf == fill)
    if not written.all() and not op.pure:
        raise Mismatch(f"op {op}: forward(..., out=buf) left {int((~written).sum())} of "
                       f"{written.size} elements of buf unwritten")


def _check_untouched(op: Op, originals: list[np.ndarray], arrays: list[np.ndarray],
                     call: str) -> None:
    for position, (original, array) in enumerate(zip(originals, arrays)):
        if position not in op.updates and not same(original, array):
            raise Mismatch(f"op {op}: {call} modified its input {position} (an op may write "
                           "only to out, and to the inputs it declares in `updates`)")


def _check_inplace(node: Node, forward: Callable[..., np.ndarray], arrays: list[np.ndarray],
                   expected: np.ndarray) -> None:
    op = node.op
    if op.inplace is None:
        return
    if not 0 <= op.inplace < len(arrays):
        raise Mismatch(f"op {op} declares inplace={op.inplace}, but node {node.name!r} has "
                       f"{len(arrays)} inputs")
    victim = arrays[op.inplace]
    if victim.shape != node.shape or victim.dtype != node.dtype:
        return
    copies = [a.copy() for a in arrays]
    result = forward(*copies, out=copies[op.inplace])
    if result is not copies[op.inplace]:
        raise Mismatch(f"op {op}: forward(..., out=input {op.inplace}) did not return that input")
    if op.pure:
        assert_close(f"op {op}: computed in place of input {op.inplace}", result, expected,
                     OUT_RTOL, OUT_ATOL)


def _check_view(node: Node, arrays: list[np.ndarray], expected: np.ndarray) -> None:
    op = node.op
    if not op.is_view:
        return
    copies = [a.copy() for a in arrays]
    view = op.view(*copies)
    if not isinstance(view, np.ndarray) or view.shape != node.shape or view.dtype != node.dtype:
        raise Mismatch(f"op {op}: view(...) returned {type(view).__name__} "
                       f"{getattr(view, 'shape', '')}, not an array of {node.shape} {node.dtype}")
    if view.size and not np.shares_memory(view, copies[0]):
        raise Mismatch(f"op {op} declares is_view, but view(...) does not share its first input's memory")
    assert_close(f"op {op}: view(...)", view, expected, OUT_RTOL, OUT_ATOL)
    copies[0][...] = np.flip(copies[0]) if copies[0].ndim else copies[0]
    assert_close(f"op {op}: view(...) after its input changed", view, np.asarray(op.forward(*copies)),
                 OUT_RTOL, OUT_ATOL)


def check_errors(target: Target, sample: ErrorSample) -> None:
    """Building the node raises `sample.error`, its message matches `sample.match` and
    names the op."""
    inputs = make_inputs(sample)
    try:
        target.build(*inputs.args, **sample.kwargs)
    except sample.error as exc:
        message = str(exc)
        if not re.search(sample.match, message):
            raise Mismatch(f"raised {type(exc).__name__} as expected, but its message does not "
                           f"match {sample.match!r}: {message!r}") from exc
        if not re.search(rf"(?<!\w){re.escape(target.name)}(?!\w)", message):
            raise Mismatch(f"raised {type(exc).__name__} as expected, but its message does not "
                           f"name the op {target.name!r}: {message!r}") from exc
        return
    except Exception as exc:
        raise Mismatch(f"expected {sample.error.__name__} when the node is built, got "
                       f"{type(exc).__name__}: {exc}") from exc
    raise Mismatch(f"expected {sample.error.__name__} when the node is built, but it was built "
                   f"without error{_run_time_failure(inputs.graph)}")


def _run_time_failure(graph: Graph) -> str:
    try:
        TapeMachine(graph).run_all()
    except Exception as exc:
        return f" (it fails only at run time: {type(exc).__name__}: {exc})"
    return " (and it runs without error)"
