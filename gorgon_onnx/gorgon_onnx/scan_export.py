"""Export of gorgon's loop (`G.scan`, an op of the core, so mapped here): the body is
written once per step, unrolled over the loop's static length. A scan node stands for
all of its results; each `scan_part` picks one: a per-step output (the steps' values
stacked along a new first axis) or a final carried state."""

from __future__ import annotations

from typing import Any

import numpy as np

from gorgon import Node


class Unrolled:
    """A scan written step by step: the carried state of every step, and each step's
    emitter, which writes a per-step output when one is asked for."""

    def __init__(self, emitter: Any, node: Node, inputs: Any):
        op = node.op
        body = op.body
        builder = emitter.builder
        count = len(body.carries), len(body.slices)
        names = [inputs[i] for i in range(len(node.inputs))]
        init, sequences = names[:count[0]], names[count[0]:count[0] + count[1]]
        params = names[count[0] + count[1]:]
        steps = op.steps(op.split(node.inputs)[1])
        self.body = body
        self.builder = builder
        self.steps: list[Any] = [None] * steps
        shared: dict[Node, str] = {}
        carries = init
        for t in (range(steps - 1, -1, -1) if op.reverse else range(steps)):
            known = dict(shared)
            known.update(zip(body.carries, carries))
            known.update(zip(body.params, params))
            index = builder.constant(np.int64(t))
            known.update((place, builder.add("Gather", [sequence, index], axis=0))
                         for place, sequence in zip(body.slices, sequences))
            step = emitter.child(known)
            carries = [step.name(new) for new in body.new_carries]
            shared.update((n, name) for n, name in step.names.items() if n.op is None and n not in known)
            self.steps[t] = step
        self.finals = carries

    def stacked(self, j: int) -> str:
        """The j-th per-step output of every step, stacked along a new first axis."""
        output = self.body.outputs[j]
        first = self.builder.ints([0])
        rows = [self.builder.add("Unsqueeze", [step.name(output), first]) for step in self.steps]
        return rows[0] if len(rows) == 1 else self.builder.add("Concat", rows, axis=0)


def emit_scan(emitter: Any, node: Node, inputs: Any) -> Unrolled:
    if node.op.dynamic:
        emitter.builder.unsupported("a scan whose length is a run-time value (length= a node)")
    if not node.op.steps(node.op.split(node.inputs)[1]):
        emitter.builder.unsupported("a scan of no steps")
    return Unrolled(emitter, node, inputs)


def emit_scan_part(emitter: Any, node: Node, inputs: Any) -> str:
    unrolled = inputs[0]
    index, outputs = node.op.index, len(unrolled.body.outputs)
    return unrolled.stacked(index) if index < outputs else unrolled.finals[index - outputs]


CORE_OPS = {"scan": emit_scan, "scan_part": emit_scan_part}
