"""Callbacks of Trainer.fit: EarlyStopping, ModelCheckpoint (keep the best, saved
atomically), ProgressBar (a bar over batches on a terminal, one line per epoch)."""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, Any

import numpy as np

import gorgon as G

if TYPE_CHECKING:
    from gorgon_layers.trainer import Trainer


class Callback:
    """Hooks called by `Trainer.fit`; `logs` holds the epoch's loss and metrics (and
    `val_...` entries with validation)."""

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, trainer: Trainer, epoch: int, batches: int) -> None: ...

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None: ...

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, trainer: Trainer) -> None: ...


class Monitor:
    """Tracks the best value of one log entry (`mode` "min", "max", or "auto": max for
    accuracies, min otherwise)."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0):
        if mode not in ("auto", "min", "max"):
            raise G.ArgumentValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.sign = (1.0 if "acc" in monitor else -1.0) if mode == "auto" else (1.0 if mode == "max" else -1.0)
        self.min_delta = abs(float(min_delta))
        self.best = -np.inf

    def improved(self, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise G.ArgumentValueError(f"cannot monitor {self.monitor!r}: the logs hold {sorted(logs)} "
                                       "(val_ entries need validation=)")
        value = self.sign * logs[self.monitor]
        if value > self.best + self.min_delta:
            self.best = value
            return True
        return False


class EarlyStopping(Callback, Monitor):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs;
    `restore_best=True` puts back the best epoch's weights at the end."""

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True):
        Monitor.__init__(self, monitor, mode, min_delta)
        self.patience = int(patience)
        self.restore_best = restore_best
        self.wait = 0
        self.best_state: dict[str, np.ndarray] | None = None
        self.stopped_epoch: int | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best, self.wait, self.best_state, self.stopped_epoch = -np.inf, 0, None, None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.improved(logs):
            self.wait = 0
            if self.restore_best:
                self.best_state = trainer.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.restore_best and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


class ModelCheckpoint(Callback, Monitor):
    """Save the model to `path` (atomically) after each epoch where `monitor` improved
    (or every epoch with `save_best_only=False`)."""

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = True):
        Monitor.__init__(self, monitor, mode)
        self.path = path
        self.save_best_only = save_best_only
        self.saved_epochs: list[int] = []

    def on_train_begin(self, trainer: Trainer) -> None:
        self.best = -np.inf

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.improved(logs) or not self.save_best_only:
            trainer.model.save(self.path)
            self.saved_epochs.append(epoch)


def format_logs(logs: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in logs.items())


class ProgressBar(Callback):
    """A tqdm bar over each epoch's batches when `stream` is a terminal (none otherwise),
    and one line per epoch with the loss and metrics."""

    def __init__(self, stream: IO[str] | None = None, bar: bool | None = None):
        self.stream = stream
        self.bar_option = bar
        self.bar: Any = None
        self.epochs = 0

    def out(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def on_train_begin(self, trainer: Trainer) -> None:
        self.epochs = trainer.epochs

    def on_epoch_begin(self, trainer: Trainer, epoch: int, batches: int) -> None:
        on_terminal = self.bar_option if self.bar_option is not None else self.out().isatty()
        if on_terminal:
            from tqdm import tqdm

            self.bar = tqdm(total=batches, file=self.out(), desc=f"epoch {epoch}/{self.epochs}", leave=False)

    def on_batch_end(self, trainer: Trainer, batch: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.refresh()  # the last batch is drawn even within tqdm's redraw interval
            self.bar.close()
            self.bar = None
        print(f"epoch {epoch}/{self.epochs}  {format_logs(logs)}", file=self.out(), flush=True)
