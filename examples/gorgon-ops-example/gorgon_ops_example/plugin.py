"""Entry point of gorgon-ops-example: registers its ops and their conformance samples."""

from __future__ import annotations

from collections.abc import Callable

from gorgon import Op, hookimpl
from gorgon_ops_example.activations import BentIdentity, Swish
from gorgon_ops_example.polynomial import Polynomial
from gorgon_ops_example.samples import SAMPLES
from gorgon_ops_example.weighted import WeightedMean


@hookimpl
def register_ops(register: Callable[[type[Op]], None]) -> None:
    for op in (Swish, BentIdentity, Polynomial, WeightedMean):
        register(op)


@hookimpl
def register_samples(register: Callable[..., None]) -> None:
    for name, factory in SAMPLES.items():
        register(name, factory)
