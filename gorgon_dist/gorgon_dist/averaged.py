"""What `node.grad` reads once the gradients have been averaged over the ranks.

A machine's run makes it the graph's value source (`graph.source`); DataParallel puts this
source in front of it, answering the averaged gradient for each parameter and asking the
machine for everything else. The machine's own buffers are never written, so nothing a
later run reads (a buffer the compiler shared between gradients, a constant, a bound
input) can be corrupted. The next run of any machine makes that machine the source again.
"""

from __future__ import annotations

import numpy as np

from gorgon import Node
from gorgon.graph import ValueSource


class AveragedGradients:
    """A graph's value source after averaging: `averaged[node]` for those nodes' gradients,
    `machine` (the source it stands in front of) for every other question."""

    def __init__(self, machine: ValueSource | None, averaged: dict[Node, np.ndarray]):
        self.machine = machine.machine if isinstance(machine, AveragedGradients) else machine
        self.averaged = averaged

    def value_of(self, node: Node) -> np.ndarray | None:
        return None if self.machine is None else self.machine.value_of(node)

    def grad_of(self, node: Node) -> np.ndarray | None:
        averaged = self.averaged.get(node)
        if averaged is not None:
            return averaged
        return None if self.machine is None else self.machine.grad_of(node)
