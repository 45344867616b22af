"""Entry point of the plugin: registers the nn ops and their samples, the solvers, the
initialisers and a compile-time rewrite."""

from gorgon import hookimpl
from gorgon_ops_nn import (activations, batch_norm, batch_norm_grad, class_weights, cross_entropy, ctc_loss,
                           dropout, embedding, group_norm, layer_norm, losses, mode_switch,
                           modern_activations, nll_loss, one_hot, pointwise_losses, softmax, sparsemax)
from gorgon_ops_nn.initializers import INITIALIZERS
from gorgon_ops_nn.more_samples import MORE_SAMPLES
from gorgon_ops_nn.onnx_export import MAPPINGS
from gorgon_ops_nn.rewrites import RULES
from gorgon_ops_nn.samples import SAMPLES
from gorgon_ops_nn.solvers import SOLVERS

MODULES = [activations, softmax, cross_entropy, losses, dropout, batch_norm, batch_norm_grad, layer_norm,
           embedding, mode_switch, modern_activations, pointwise_losses, one_hot, sparsemax,
           group_norm, ctc_loss, class_weights, nll_loss]


@hookimpl
def register_ops(register):
    for module in MODULES:
        for op in module.OPS:
            register(op)


@hookimpl
def register_samples(register):
    for name, factory in {**SAMPLES, **MORE_SAMPLES}.items():
        register(name, factory)


@hookimpl
def register_solvers(register):
    for solver in SOLVERS:
        register(solver)


@hookimpl
def register_initializers(register):
    for name, factory in INITIALIZERS.items():
        register(name, factory)


@hookimpl
def register_rewrites(register):
    for name, rule in RULES.items():
        register(name, rule)


@hookimpl
def register_onnx(register):
    for name, emit in MAPPINGS.items():
        register(name, emit)
