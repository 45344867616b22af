"""Learning-rate schedules for any solver: each sets `solver.learning_rate` (which every
solver reads at each step) once per epoch, from the rate the solver had when attached.
Use them as Trainer callbacks, or by hand: `schedule.attach(solver)`, then
`schedule.step()` after each epoch (`schedule.step(val_loss)` for ReduceLROnPlateau)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import gorgon as G
from gorgon_layers.callbacks import Callback

if TYPE_CHECKING:
    from gorgon_layers.trainer import Trainer


class Schedule(Callback):
    """Base: `factor(epoch)` times the base rate, epoch counting from 0."""

    def __init__(self) -> None:
        self.solver: Any = None
        self.base = 0.0
        self.epoch = 0

    def attach(self, solver: Any) -> Schedule:
        if not hasattr(solver, "learning_rate"):
            raise G.ArgumentTypeError(f"{type(self).__name__}: {solver!r} has no learning_rate")
        self.solver, self.base, self.epoch = solver, float(solver.learning_rate), 0
        self.apply()
        return self

    def apply(self) -> None:
        self.solver.learning_rate = self.base * self.factor(self.epoch)

    def factor(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self, metric: float | None = None) -> float:
        """Move to the next epoch; returns the new learning rate."""
        if self.solver is None:
            raise G.GorgonError(f"{type(self).__name__}.step: attach(solver) first")
        self.epoch += 1
        self.apply()
        return self.solver.learning_rate

    def on_train_begin(self, trainer: Trainer) -> None:
        self.attach(trainer.solver)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self.step()


class StepLR(Schedule):
    """Multiply by `gamma` every `step_size` epochs."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        super().__init__()
        if step_size < 1:
            raise G.ArgumentValueError(f"StepLR: step_size must be positive, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)

    def factor(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """Multiply by `gamma` every epoch."""

    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = float(gamma)

    def factor(self, epoch: int) -> float:
        return self.gamma ** epoch


class CosineLR(Schedule):
    """Half a cosine from the base rate down to `min_lr` over `total_epochs` epochs, then
    `min_lr` (PyTorch's CosineAnnealingLR would rise again)."""

    def __init__(self, total_epochs: int, min_lr: float = 0.0):
        super().__init__()
        if total_epochs < 1:
            raise G.ArgumentValueError(f"CosineLR: total_epochs must be positive, got {total_epochs}")
        self.total, self.min_lr = int(total_epochs), float(min_lr)

    def apply(self) -> None:
        progress = min(self.epoch, self.total) / self.total
        self.solver.learning_rate = self.min_lr + (self.base - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


class LinearWarmup(Schedule):
    """Grow linearly from `start_factor` times the base rate to the base rate over
    `warmup_epochs` epochs, then stay."""

    def __init__(self, warmup_epochs: int, start_factor: float = 0.1):
        super().__init__()
        if warmup_epochs < 1 or not 0 < start_factor <= 1:
            raise G.ArgumentValueError("LinearWarmup: needs warmup_epochs >= 1 and 0 < start_factor <= 1")
        self.warmup, self.start = int(warmup_epochs), float(start_factor)

    def factor(self, epoch: int) -> float:
        return self.start + (1.0 - self.start) * min(epoch, self.warmup) / self.warmup


class ReduceLROnPlateau(Schedule):
    """Multiply by `factor` when `monitor` has not improved (relatively, by `threshold`)
    for more than `patience` epochs; never below `min_lr`."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "min", threshold: float = 1e-4, min_lr: float = 0.0):
        super().__init__()
        if not 0 < factor < 1 or mode not in ("min", "max"):
            raise G.ArgumentValueError("ReduceLROnPlateau: needs 0 < factor < 1 and mode 'min' or 'max'")
        self.monitor, self.reduce, self.patience = monitor, float(factor), int(patience)
        self.mode, self.threshold, self.min_lr = mode, float(threshold), float(min_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0

    def apply(self) -> None:  # the rate changes only in step()
        pass

    def better(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best * (1 - self.threshold)
        return value > self.best * (1 + self.threshold)

    def step(self, metric: float | None = None) -> float:
        if metric is None:
            raise G.ArgumentValueError("ReduceLROnPlateau.step needs the monitored value")
        self.epoch += 1
        if self.better(metric):
            self.best, self.bad_epochs = metric, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.solver.learning_rate = max(self.solver.learning_rate * self.reduce, self.min_lr)
            self.bad_epochs = 0
        return self.solver.learning_rate

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise G.ArgumentValueError(f"ReduceLROnPlateau: no {self.monitor!r} in the logs {sorted(logs)}")
        self.step(logs[self.monitor])
