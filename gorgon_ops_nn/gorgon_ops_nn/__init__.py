"""gorgon plugin for neural networks: activations, the softmax family, losses, dropout,
batch and layer normalisation, embedding (ops, as `G.<name>`), solvers (`G.solvers.<Name>`),
initialisers (`G.init.<name>`), and saving/loading parameters (`save`, `load`)."""

from gorgon_ops_nn.checkpoint import load, save
from gorgon_ops_nn.solvers import Solver

__version__ = "0.1.0"

__all__ = ["Solver", "load", "save"]
