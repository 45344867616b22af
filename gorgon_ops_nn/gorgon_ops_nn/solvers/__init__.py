"""The solvers this plugin registers (`G.solvers.<Name>`), on the base class `Solver`."""

from gorgon_ops_nn.solvers.adam import Adam, AdamW
from gorgon_ops_nn.solvers.adaptive import AdaDelta, AdaGrad, RMSProp
from gorgon_ops_nn.solvers.barzilai_borwein import BarzilaiBorwein
from gorgon_ops_nn.solvers.base import Solver
from gorgon_ops_nn.solvers.sgd import SGD, Momentum

SOLVERS = [SGD, Momentum, Adam, AdamW, RMSProp, AdaGrad, AdaDelta, BarzilaiBorwein]

__all__ = ["SOLVERS", "AdaDelta", "AdaGrad", "Adam", "AdamW", "BarzilaiBorwein", "Momentum",
           "RMSProp", "SGD", "Solver"]
