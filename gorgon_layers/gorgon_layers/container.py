"""Sequential: modules applied one after another, named 0, 1, 2, ... as in PyTorch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gorgon as G
from gorgon_layers.module import Module


class Sequential(Module):
    """`Sequential(m0, m1, ...)`: `m1(m0(x))` ...; index, iterate and `len()` like a list."""

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise G.ArgumentTypeError(f"Sequential: item {index} is not a module: {module!r}")
            setattr(self, str(index), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def constructor_args(self) -> tuple[tuple, dict[str, Any]]:
        return tuple(self._modules.values()), {}

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
