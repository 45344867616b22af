"""Entry point of the plugin: registers every op of gorgon_ops_conv and its samples."""

from collections.abc import Callable

from gorgon import hookimpl
from gorgon_ops_conv import avgpool, conv, conv1d, conv_transpose, im2col, maxpool, pool1d, upsample
from gorgon_ops_conv.line_samples import LINE_SAMPLES
from gorgon_ops_conv.onnx_export import MAPPINGS
from gorgon_ops_conv.samples import SAMPLES

MODULES = [im2col, conv, conv_transpose, maxpool, avgpool, upsample, conv1d, pool1d]


@hookimpl
def register_ops(register: Callable) -> None:
    for module in MODULES:
        for op in module.OPS:
            register(op)


@hookimpl
def register_samples(register: Callable) -> None:
    for name, factory in {**SAMPLES, **LINE_SAMPLES}.items():
        register(name, factory)


@hookimpl
def register_onnx(register):
    for name, emit in MAPPINGS.items():
        register(name, emit)
