"""Entry point of the plugin: registers every op of gorgon_ops_core and its samples."""

from gorgon import hookimpl
from gorgon_ops_core import arithmetic, compare, erf, index, linalg, random, reduce, shape, unary
from gorgon_ops_core import (diagonal, einsum, gather, layout, logexp, norms, pad, rounding, scan_ops,
                             sorting)
from gorgon_ops_core.more_samples import MORE_SAMPLES
from gorgon_ops_core.onnx_export import MAPPINGS
from gorgon_ops_core.rewrites import RULES
from gorgon_ops_core.samples import SAMPLES

MODULES = [arithmetic, unary, compare, linalg, reduce, shape, index, random, erf]
MODULES += [einsum, layout, pad, scan_ops, diagonal, gather, sorting, norms, rounding, logexp]


@hookimpl
def register_ops(register):
    for module in MODULES:
        for op in module.OPS:
            register(op)


@hookimpl
def register_samples(register):
    for name, factory in {**SAMPLES, **erf.SAMPLES, **MORE_SAMPLES}.items():
        register(name, factory)


@hookimpl
def register_rewrites(register):
    for name, rule in RULES.items():
        register(name, rule)


@hookimpl
def register_onnx(register):
    for name, emit in MAPPINGS.items():
        register(name, emit)
