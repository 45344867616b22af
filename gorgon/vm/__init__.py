"""The two machines that run a graph."""

from gorgon.vm.lisp import LispMachine
from gorgon.vm.tape import TapeMachine

__all__ = ["LispMachine", "TapeMachine"]
