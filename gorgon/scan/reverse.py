"""The gradient of a scan: a reverse scan whose body is the forward body's gradient.

Its carried state is the adjoint of the forward carried state (seeded with the final
state's gradient) and one accumulator per float non-sequence (their gradients summed
over the steps); its sequences are the per-step outputs' gradients, the forward scan's
stored residuals and the forward sequences; its per-step outputs are the sequences'
gradients. Being a scan itself, it has a gradient too (gradients of gradients).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gorgon.errors import NonDifferentiable
from gorgon.grad import ancestors
from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import CONSTANT, OPERATION, Node
from gorgon.op import apply, constant
from gorgon.registry import registry
from gorgon.scan.backprop import multi_backprop
from gorgon.scan.body import Body
from gorgon.scan.ops import Scan, ScanCotangent, ScanPart, part, part_op


def _floats(nodes: Sequence[Node]) -> list[int]:
    return [i for i, n in enumerate(nodes) if n.dtype.kind == "f"]


def cotangents(gradient: Node) -> dict[int, Node] | None:
    """The region gradients a packed gradient is the sum of, when G.grad built it from
    scan_cotangent nodes (and additions of them); None when it is anything else."""
    found: dict[int, Node] = {}
    tree: list[Node] = []
    stack = [gradient]
    while stack:
        node = stack.pop()
        tree.append(node)
        if isinstance(node.op, ScanCotangent):
            index, value = node.op.index, node.inputs[0]
            if value.shape != node.op.whole:
                value = registry.function("reshape")(value, node.op.whole)
            found[index] = value if index not in found else registry.function("add")(found[index], value)
        elif node.op is not None and node.op.name == "add" and len(node.inputs) == 2:
            stack.extend(node.inputs)
        else:
            return None
    gradient.graph.bypassed.update(tree)
    return found


def backward_body(body: Body, seeded: tuple[int, ...]) -> Body:
    """The body of the reverse scan for gradients seeded on the per-step outputs `seeded`
    (and on every float carried state), built once per forward body and seeding."""
    graph = Graph()
    carries, params = _floats(body.carries), _floats(body.params)
    gc = [tensor(graph, body.carries[i].dtype, body.carries[i].shape, name=f"d_{body.carries[i].name}")
          for i in carries]
    gy = [tensor(graph, body.outputs[j].dtype, body.outputs[j].shape, name=f"d_{body.outputs[j].name}")
          for j in seeded]
    read: dict[Node, Node] = {}
    res = [tensor(graph, r.dtype, r.shape, name=f"res_{r.name}") for r in body.residuals]
    xs = [tensor(graph, s.dtype, s.shape, name=s.name) for s in body.slices]
    ps = [tensor(graph, p.dtype, p.shape, name=p.name) for p in body.params]
    read.update(zip(body.residuals, res))
    read.update(zip(body.slices, xs))
    read.update(zip(body.params, ps))
    for node in body.graph.nodes:
        if node in read:
            continue
        if node.role == CONSTANT:
            read[node] = constant(node._value, graph, name=node.name)
        elif node.role == OPERATION:
            read[node] = Node(graph, OPERATION, node.shape, node.dtype, op=node.op,
                              inputs=tuple(read[p] for p in node.inputs))
        else:  # a placeholder the body left out (nothing it computes reads it)
            read[node] = tensor(graph, node.dtype, node.shape, name=node.name)
    add = registry.function("add")
    seeds: dict[Node, Node] = {}
    for key, seed in [(body.new_carries[i], g) for i, g in zip(carries, gc)] + \
                     [(body.outputs[j], g) for j, g in zip(seeded, gy)]:
        seeds[key] = seed if key not in seeds else add(seeds[key], seed)
    targets = [body.carries[i] for i in carries] + [body.slices[i] for i in _floats(body.slices)] + \
              [body.params[i] for i in params]
    adjoints = multi_backprop(seeds, targets, read)

    def adjoint(node: Node) -> Node:
        found = adjoints.get(node)
        return found if found is not None else constant(np.zeros(node.shape, node.dtype), graph)

    new_carries = [adjoint(body.carries[i]) for i in carries]
    outputs = [adjoint(body.slices[i]) for i in _floats(body.slices)]
    slices = gy + res + xs
    acc, accumulated, hoisted = [], [], {}
    for i in params:
        rest, pairs = _hoistable(adjoints.get(body.params[i]))
        if pairs:
            hoisted[i] = [(_source(a, slices, outputs), _source(b, slices, outputs)) for a, b in pairs]
        if rest or not pairs:
            total = tensor(graph, body.params[i].dtype, body.params[i].shape, name=f"sum_d_{body.params[i].name}")
            acc.append(total)
            accumulated.append(i)
            for term in rest:
                total = add(total, term)
            new_carries.append(total)
    used = set(ancestors(new_carries + outputs))
    kept = [k for k, placeholder in enumerate(slices) if placeholder in used]
    backward = Body(f"{body.name}_grad", graph, gc + acc, [slices[k] for k in kept], ps, new_carries, outputs)
    backward.accumulated, backward.hoisted, backward.kept = accumulated, hoisted, kept
    return backward


def _hoistable(gradient: Node | None) -> tuple[list[Node], list[tuple[Node, Node]]]:
    """A non-sequence's per-step gradient split into its terms a.T @ b (a rewrite hoists
    their sum over the steps out of the loop: one GEMM over the stacked a and b) and
    the rest (summed in the loop)."""
    if gradient is None:
        return [], []
    terms, stack = [], [gradient]
    while stack:
        node = stack.pop()
        if node.op is not None and node.op.name == "add" and all(p.shape == node.shape for p in node.inputs):
            stack.extend(node.inputs)
        else:
            terms.append(node)
    pairs = [(t.inputs[0], t.inputs[1]) for t in terms if t.op is not None and t.op.name == "matmul"
             and t.op.params == {"transpose_a": True} and all(p.ndim == 2 for p in t.inputs)]
    rest = [t for t in terms if not (t.op is not None and t.op.name == "matmul"
                                     and t.op.params == {"transpose_a": True} and all(p.ndim == 2 for p in t.inputs))]
    return rest, pairs


def _source(node: Node, slices: list[Node], outputs: list[Node]) -> tuple[str, int]:
    """Where the stack of a per-step value is: a sequence of the reverse scan, or one of
    its per-step outputs (appended when it is neither yet)."""
    for index, placeholder in enumerate(slices):
        if placeholder is node:
            return "slice", index
    for index, output in enumerate(outputs):
        if output is node:
            return "output", index
    outputs.append(node)
    return "output", len(outputs) - 1


def scan_vjp(op: Scan, inputs: Sequence[Node], output: Node, gradient: Node) -> list:
    """The gradient rule of a scan node: one reverse scan gives every input's gradient."""
    body = op.body
    if body.grad_error is not None:
        raise NonDifferentiable(f"scan {body.name!r}: {body.grad_error}")
    graph = output.graph
    count = op.stacked
    results = body.outputs[:count] + body.carries
    init, sequences, params = op.split(inputs)
    steps = op.steps(sequences)
    found = cotangents(gradient)
    if found is None:
        found = {i: apply(part_op(op, steps, i), gradient) for i, n in enumerate(results)
                 if n.dtype.kind == "f"}
    seeded = tuple(j for j in range(count) if j in found and body.outputs[j].dtype.kind == "f")
    backward = body.backwards.get(seeded)
    if backward is None:
        backward = body.backwards[seeded] = backward_body(body, seeded)

    def zeros(node: Node) -> Node:
        return constant(np.zeros(node.shape, node.dtype), graph)

    carries = _floats(body.carries)
    b_init = [found[count + i] if count + i in found else zeros(init[i]) for i in carries]
    b_init += [zeros(params[i]) for i in backward.accumulated]
    needed = set(backward.kept) | {index for pairs in backward.hoisted.values()
                                   for source in pairs for kind, index in source if kind == "slice"}
    every: list[Node | None] = [found[j] for j in seeded]
    residuals = range(len(every), len(every) + len(body.residuals))
    every += [None] * len(body.residuals) + list(sequences)
    if any(k in needed for k in residuals):
        stored, store_op = output, op
        if not op.store:  # run the loop again, keeping its residuals (a second order)
            store_op = Scan(body, op.reverse, op.length, store=True, dynamic=op.dynamic)
            stored = apply(store_op, *inputs)
        for r, k in enumerate(residuals):
            if k in needed:
                every[k] = apply(part_op(store_op, steps, body.n_user + r), stored)
    b_seqs = [every[k] for k in backward.kept]
    reverse_op = Scan(backward, not op.reverse, None if b_seqs else steps, store=False, dynamic=op.dynamic)
    length = [inputs[-1]] if op.dynamic else []
    node = apply(reverse_op, *b_init, *b_seqs, *params, *length)
    outs = reverse_op.stacked
    result: list = [None] * len(inputs)
    for position, i in enumerate(carries):
        result[i] = _lazy(node, outs + position)
    for position, i in enumerate(_floats(body.slices)):
        result[len(init) + i] = _lazy(node, position)
    accumulated = {i: outs + len(carries) + k for k, i in enumerate(backward.accumulated)}
    for i in _floats(body.params):
        result[len(init) + len(sequences) + i] = _param_gradient(node, every, accumulated.get(i),
                                                                  backward.hoisted.get(i, []))
    return result


def _param_gradient(node: Node, sequences: list[Node], accumulated: int | None,
                    pairs: list[tuple[tuple[str, int], tuple[str, int]]]):
    """A non-sequence's gradient: its in-loop sum, plus one GEMM per hoisted term."""

    def build() -> Node:
        def stacked(source: tuple[str, int]) -> Node:
            kind, index = source
            value = sequences[index] if kind == "slice" else part(node, index)
            if isinstance(value.op, ScanPart):
                return apply(value.op.flat(), value.inputs[0])
            return registry.function("reshape")(value, (value.shape[0] * value.shape[1], value.shape[2]))

        total = None if accumulated is None else part(node, accumulated)
        for a, b in pairs:
            term = registry.function("matmul")(stacked(a), stacked(b), transpose_a=True)
            total = term if total is None else registry.function("add")(total, term)
        return total

    return build


def _lazy(node: Node, index: int):
    return lambda: part(node, index)
