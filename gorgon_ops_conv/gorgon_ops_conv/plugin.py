"""Entry point of the plugin: registers every op of gorgon_ops_conv and its samples."""

from collections.abc import Callable

from gorgon import hookimpl
from gorgon_ops_conv import avgpool, conv, conv_transpose, im2col, maxpool, upsample
from gorgon_ops_conv.samples import SAMPLES

MODULES = [im2col, conv, conv_transpose, maxpool, avgpool, upsample]


@hookimpl
def register_ops(register: Callable) -> None:
    for module in MODULES:
        for op in module.OPS:
            register(op)


@hookimpl
def register_samples(register: Callable) -> None:
    for name, factory in SAMPLES.items():
        register(name, factory)
