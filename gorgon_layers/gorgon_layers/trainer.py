"""Trainer: fit a model to arrays (any batch size, the last partial batch included),
evaluate it, with metrics, callbacks and a learning-rate schedule, on the TapeMachine by
default or the LispMachine (`machine="lisp"`) for data-dependent structure."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import gorgon as G
from gorgon import Node
from gorgon_layers.callbacks import Callback
from gorgon_layers.data import batches
from gorgon_layers.metrics import Metric, metric
from gorgon_layers.module import Module
from gorgon_layers.running import Specialisation, input_array, machine_kind, specialised

LOSSES: dict[str, Callable[[Node, Node], Node]] = {
    "cross_entropy": lambda out, y: G.cross_entropy(out, y),
    "mse": lambda out, y: G.mse_loss(out, y),
    "mse_loss": lambda out, y: G.mse_loss(out, y),
    "binary_cross_entropy": lambda out, y: G.binary_cross_entropy(out, y),
    "binary_cross_entropy_with_logits": lambda out, y: G.binary_cross_entropy_with_logits(out, y),
}


def solver(name: str | type, **options: Any) -> Callable[[list[Node]], Any]:
    """A solver to be made for a model's parameters: `nn.solver("Adam", learning_rate=1e-3)`
    (a name in `G.solvers`, or a solver class), for `Trainer(solver=...)`."""
    cls = getattr(G.solvers, name) if isinstance(name, str) else name
    return functools.partial(cls, **options)


class History:
    """What `fit` returns: `history["loss"]` (one value per epoch, likewise every metric
    and `val_` entry) and `epochs`, the list of each epoch's logs."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def append(self, logs: dict[str, float]) -> None:
        self.epochs.append(dict(logs))

    @property
    def history(self) -> dict[str, list[float]]:
        keys = dict.fromkeys(k for logs in self.epochs for k in logs)
        return {k: [logs.get(k, float("nan")) for logs in self.epochs] for k in keys}

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epochs)


class Trainer:
    """`Trainer(model, loss="cross_entropy", solver=G.solvers.Adam(learning_rate=1e-3),
    metrics=["accuracy"], machine="tape")`.

    - `loss`: a name (cross_entropy, mse, binary_cross_entropy[_with_logits]) or a
      function `(output node, target node) -> scalar node`;
    - `solver`: a solver built without parameters (`G.solvers.Adam(learning_rate=1e-3)`),
      a factory taking the parameter nodes (`nn.solver(...)`, a solver class) or a solver
      already made for this model's parameters; it is pointed at each specialisation's
      nodes (`bind`), so its state is shared by every batch size;
    - `solver` left out: Adam with its defaults;
    - `machine`: "tape" (compiled once per input shape) or "lisp".

    Batch norm layers' `num_batches_tracked` counts the training steps, as in PyTorch.
    """

    def __init__(self, model: Module, loss: str | Callable[[Node, Node], Node] = "cross_entropy",
                 solver: Any = None, metrics: Sequence[Any] = (), machine: str = "tape"):
        if not isinstance(model, Module):
            raise G.ArgumentTypeError(f"Trainer: model must be an nn.Module, got {type(model).__name__}")
        self.model = model
        if isinstance(loss, str):
            if loss not in LOSSES:
                raise G.ArgumentValueError(f"Trainer: unknown loss {loss!r}; use one of {sorted(LOSSES)} "
                                           "or a function (output, target) -> node")
            loss = LOSSES[loss]
        self.loss = loss
        machine_kind(machine)
        self.machine = machine
        self.metrics: list[Metric] = [metric(m) for m in metrics]
        self.solver = self.make_solver(solver if solver is not None else G.solvers.Adam)
        self.current: Specialisation | None = None
        self.stop_training = False
        self.epochs = 0
        self.counters = [m._buffers["num_batches_tracked"] for m in model.modules()
                         if "num_batches_tracked" in m._buffers]

    def make_solver(self, spec: Any) -> Any:
        nodes = self.model.parameter_nodes(G.Graph())
        if not nodes:
            raise G.ArgumentValueError("Trainer: the model has no parameters to train")
        if hasattr(spec, "bind") and not isinstance(spec, type):
            spec.bind(nodes)
            return spec
        if not callable(spec):
            raise G.ArgumentTypeError(f"Trainer: solver must be a solver, a solver class or nn.solver(...), "
                                      f"got {spec!r}")
        return spec(params=nodes)

    def target(self, y: Any) -> np.ndarray:
        y = np.asarray(y)
        if y.dtype.kind == "f":
            params = self.model.parameters()
            y = y.astype(params[0].dtype, copy=False)
        return y

    def train_batch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """One forward, backward and solver step on a batch (arrays of the model's
        dtypes); returns the loss as a 0-d array (valid until the next run). On a cached
        specialisation this compiles nothing and allocates no array."""
        spec = specialised(self.model, "train", x, y, loss=self.loss, training=True, machine=self.machine)
        if spec is not self.current:
            self.solver.bind(spec.params)
            self.current = spec
        spec.run(x, y)
        self.solver.step()
        for counter in self.counters:
            counter += 1
        return spec.loss.value

    def fit(self, X: Any, y: Any, epochs: int = 1, batch_size: int = 32,
            validation: tuple[Any, Any] | None = None, shuffle: bool = True, seed: int | None = None,
            callbacks: Sequence[Callback] = ()) -> History:
        """Train for `epochs` epochs over every example (the last batch may be smaller);
        returns the History of per-epoch loss and metrics (and `val_` ones)."""
        X, y = input_array(self.model, X), self.target(y)
        if len(X) != len(y) or len(X) == 0:
            raise G.ArgumentValueError(f"Trainer.fit: X and y need the same, non-zero number of examples, "
                                       f"got {len(X)} and {len(y)}")
        self.epochs, self.stop_training = int(epochs), False
        rng = np.random.default_rng(seed)
        history = History()
        count = -(-len(X) // batch_size) if isinstance(batch_size, int) and batch_size > 0 else 0
        for callback in callbacks:
            callback.on_train_begin(self)
        for epoch in range(1, self.epochs + 1):
            for callback in callbacks:
                callback.on_epoch_begin(self, epoch, count)
            for m in self.metrics:
                m.reset()
            total = 0.0
            for index, (xb, yb) in enumerate(batches(X, y, batch_size, shuffle, rng)):
                loss = float(self.train_batch(xb, yb))
                total += loss * len(xb)
                for m in self.metrics:
                    m.update(self.current.output.value, yb)
                for callback in callbacks:
                    callback.on_batch_end(self, index, loss)
            logs = {"loss": total / len(X), **{m.name: m.result() for m in self.metrics}}
            if validation is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(*validation).items()})
            history.append(logs)
            for callback in callbacks:
                callback.on_epoch_end(self, epoch, logs)
            if self.stop_training:
                break
        for callback in callbacks:
            callback.on_train_end(self)
        return history

    def evaluate(self, X: Any, y: Any, batch_size: int = 256) -> dict[str, float]:
        """The mean loss and metrics over X, y in evaluation mode."""
        X, y = input_array(self.model, X), self.target(y)
        if len(X) != len(y) or len(X) == 0:
            raise G.ArgumentValueError(f"Trainer.evaluate: X and y need the same, non-zero number of "
                                       f"examples, got {len(X)} and {len(y)}")
        metrics = [m.fresh() for m in self.metrics]
        total = 0.0
        for xb, yb in batches(X, y, batch_size):
            spec = specialised(self.model, "evaluate", xb, yb, loss=self.loss, machine=self.machine)
            spec.run(xb, yb)
            total += float(spec.loss.value) * len(xb)
            for m in metrics:
                m.update(spec.output.value, yb)
        return {"loss": total / len(X), **{m.name: m.result() for m in metrics}}
