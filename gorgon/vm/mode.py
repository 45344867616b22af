"""Training or evaluation mode of a machine: its own when set, else its graph's."""

from __future__ import annotations

from typing import TypeVar

from gorgon.graph import Graph

Machine = TypeVar("Machine", bound="ModeSwitch")


class ModeSwitch:
    """`training` (True, False, or None to follow the graph) and the switches that set it."""

    graph: Graph
    training: bool | None

    @property
    def mode(self) -> bool:
        """True in training mode, False in evaluation mode."""
        return self.graph.training if self.training is None else self.training

    def train(self: Machine) -> Machine:
        """Run in training mode from now on, whatever the graph's mode."""
        self.training = True
        return self

    def eval(self: Machine) -> Machine:
        """Run in evaluation mode from now on, whatever the graph's mode."""
        self.training = False
        return self
