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
from gorgon.graph import Graph
from gorgon.inputs import tensor
from gorgon.node import CONSTANT, OPERATION, Node
from gorgon.op import apply, constant
from gorgon.registry import registry
from gorgon.scan.backprop import multi_backprop
from gorgon.scan.body import Body
from gorgon.scan.ops import Scan, ScanCotangent, part, part_op


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
    acc = [tensor(graph, body.params[i].dtype, body.params[i].shape, name=f"sum_d_{body.params[i].name}")
           for i in params]
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
    new_carries += [a if body.params[i] not in adjoints else add(a, adjoints[body.params[i]])
                    for i, a in zip(params, acc)]
    outputs = [adjoint(body.slices[i]) for i in _floats(body.slices)]
    return Body(f"{body.name}_grad", graph, gc + acc, gy + res + xs, ps, new_carries, outputs)


def scan_vjp(op: Scan, inputs: Sequence[Node], output: Node, gradient: Node) -> list:
    """The gradient rule of a scan node: one reverse scan gives every input's gradient."""
    body = op.body
    if body.grad_error is not None:
        raise NonDifferentiable(f"scan {body.name!r}: {body.grad_error}")
    graph = output.graph
    count = len(body.outputs)
    regions = count + len(body.carries)
    init, sequences, params = op.split(inputs)
    steps = op.steps(sequences)
    found = cotangents(gradient)
    if found is None:
        found = {i: apply(part_op(op, steps, i), gradient) for i in range(regions)
                 if (body.outputs + body.carries)[i].dtype.kind == "f"}
    seeded = tuple(j for j in range(count) if j in found and body.outputs[j].dtype.kind == "f")
    backward = body.backwards.get(seeded)
    if backward is None:
        backward = body.backwards[seeded] = backward_body(body, seeded)

    def zeros(node: Node) -> Node:
        return constant(np.zeros(node.shape, node.dtype), graph)

    carries, float_params = _floats(body.carries), _floats(body.params)
    b_init = [found[count + i] if count + i in found else zeros(init[i]) for i in carries]
    b_init += [zeros(params[i]) for i in float_params]
    b_seqs = [found[j] for j in seeded]
    b_seqs += [apply(part_op(op, steps, body.n_user + r), output) for r in range(len(body.residuals))]
    b_seqs += list(sequences)
    reverse_op = Scan(backward, not op.reverse, None if b_seqs else steps)
    node = apply(reverse_op, *b_init, *b_seqs, *params)
    outs = len(backward.outputs)
    slices = _floats(body.slices)
    result: list = [None] * len(inputs)
    for position, i in enumerate(carries):
        result[i] = _lazy(node, outs + position)
    for position, i in enumerate(slices):
        result[len(init) + i] = _lazy(node, position)
    for position, i in enumerate(float_params):
        result[len(init) + len(sequences) + i] = _lazy(node, outs + len(carries) + position)
    return result


def _lazy(node: Node, index: int):
    return lambda: part(node, index)
