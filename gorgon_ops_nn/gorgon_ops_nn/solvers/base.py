"""Solver: what every solver shares. It holds the parameter nodes, reads their gradients
after a machine run, clips and regularises them, and lets the subclass's rule update
each parameter's bound array in place (so the next run of either machine sees it).

The gradient each rule receives is `clip(g) + l2 * w + l1 * sign(w)`, where clipping
first scales all gradients together so their global L2 norm is at most `clip_norm`,
then limits every element to [-clip_value, clip_value].

A step allocates no array: each parameter has two work buffers, made once, that the
clipping, the regularisation and the rules write into with numpy's `out=`.

A step is atomic: it first checks everything (every gradient present, of the parameter's
shape and dtype; every parameter bound to a writeable array of its shape and dtype), then
copies the parameters and the solver's state into backup buffers made once, and if the
update fails part way (an exception, an interrupt) it copies them back before re-raising:
a step that fails changes nothing. `load_state_dict` is atomic the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from gorgon import Node, TensorType
from gorgon.backends import SOLVER, check_backends, report_solver, solver_kernel
from gorgon.errors import ArgumentTypeError, ArgumentValueError, GorgonError
from gorgon.types import describe


def require(condition: bool, message: str) -> None:
    """Raise ArgumentValueError(message) unless `condition` holds (hyper-parameter checks)."""
    if not condition:
        raise ArgumentValueError(message)


class Solver:
    """Base of every solver. `G.solvers.<Name>(params=[w, b], learning_rate=...)` builds one;
    after each run `solver.step()` updates the parameters in place.

    - `params`: input nodes of float dtype, each updated where its array is bound; left
      out, the solver is bound later with `bind(params)` (a step before that is an error);
    - `learning_rate`: the step size (an attribute, so a schedule may change it);
    - `l1`, `l2`: regularisation, adding `l1 * sign(w) + l2 * w` to each gradient;
    - `clip_value`: limit every gradient element to [-clip_value, clip_value];
    - `clip_norm`: scale the gradients so their global L2 norm is at most clip_norm;
    - `backends`: kernel backends in order of preference (default GORGON_BACKENDS, else
      numpy): a backend's update kernel for this solver, where one is registered
      ("solver_<Name>"), replaces the rule below for each parameter it accepts.

    A parameter without a gradient (`node.grad is None`: the machine did not compute it)
    is an error naming it; nothing is updated then. `state_dict()` and
    `load_state_dict()` save and restore the solver's state (its step count and
    per-parameter arrays such as Adam's moments).
    """

    name: ClassVar[str] = ""
    slots: ClassVar[tuple[str, ...]] = ()
    scalars: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Sequence[Node] | None = None, learning_rate: float = 0.01, l1: float = 0.0,
                 l2: float = 0.0, clip_value: float | None = None, clip_norm: float | None = None,
                 backends: Sequence[str] | None = None):
        require(learning_rate > 0, f"{self.name}: learning_rate must be positive, got {learning_rate}")
        require(l1 >= 0 and l2 >= 0, f"{self.name}: l1 and l2 must not be negative, got {l1}, {l2}")
        require(clip_value is None or clip_value > 0,
                f"{self.name}: clip_value must be positive, got {clip_value}")
        require(clip_norm is None or clip_norm > 0,
                f"{self.name}: clip_norm must be positive, got {clip_norm}")
        self.learning_rate = float(learning_rate)
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.clip_value = clip_value
        self.clip_norm = clip_norm
        self.backends = check_backends(backends)
        self.steps = 0
        self.params: list[Node] = []
        self.allocate()
        if params is not None:
            self.bind(params)

    def allocate(self) -> None:
        """Make the state arrays and the work and backup buffers, one per parameter
        (solvers with more buffers extend this)."""
        self.state = {slot: [np.zeros(p.shape, p.dtype) for p in self.params] for slot in self.slots}
        self.work = [np.empty(p.shape, p.dtype) for p in self.params]
        self.effective = [np.empty(p.shape, p.dtype) for p in self.params]
        self.backup = [np.empty(p.shape, p.dtype) for p in self.params]
        self.state_backup = {slot: [np.empty(p.shape, p.dtype) for p in self.params]
                             for slot in self.slots}
        self.kernels = [solver_kernel(self, TensorType(p.shape, p.dtype), self.backends) for p in self.params]

    def _check_params(self, params: Sequence[Node]) -> list[Node]:
        if isinstance(params, Node) or not isinstance(params, Sequence) or not params:
            raise ArgumentTypeError(f"{self.name}: params must be a non-empty list of input nodes, "
                                    f"got {params!r}")
        for node in params:
            if not isinstance(node, Node) or node.role != "input" or node.dtype.kind != "f":
                raise GorgonError(f"{self.name}: every parameter must be a float input node, got {node!r}")
        if len(set(params)) != len(params):
            raise GorgonError(f"{self.name}: a parameter is listed twice")
        return list(params)

    def bind(self, params: Sequence[Node]) -> None:
        """Point the solver at its parameter nodes. A solver built without `params`
        (`G.solvers.Adam(learning_rate=1e-3)`, handed to `nn.Trainer`) makes its state
        here. A bound one takes new nodes standing for the same parameters, one per
        parameter in the same order and of the same shape and dtype (a graph rebuilt per
        batch shape or per step); its state carries over. A failed bind changes nothing."""
        nodes = self._check_params(params)
        if self.params and [(n.shape, n.dtype) for n in nodes] != [(p.shape, p.dtype) for p in self.params]:
            raise GorgonError(f"{self.name}.rebind: expected nodes of shapes and dtypes "
                              f"{[(p.shape, str(p.dtype)) for p in self.params]}, got "
                              f"{[(n.shape, str(n.dtype)) for n in nodes]}")
        unbound, self.params = not self.params, nodes
        if unbound:
            self.allocate()

    rebind = bind

    def step(self) -> None:
        """Update every parameter in place from the gradients of the last run; if that
        fails, every parameter and the solver's state are as they were before."""
        if not self.params:
            raise GorgonError(f"{self.name}.step: the solver has no parameters: build it with "
                              "params=[...] or call solver.bind(params) first")
        raw = self.checked_gradients()
        values = [p.value for p in self.params]
        scalars = self.save_backup(values)
        try:
            gradients = self.regularised(self.clip(raw))
            self.steps += 1
            self.update(values, gradients)
        except BaseException:
            self.restore_backup(values, scalars)
            raise

    def save_backup(self, values: list[np.ndarray]) -> tuple[int, tuple[float, ...]]:
        """Copy the parameters and the state arrays into the backup buffers; return the
        step count and the scalar state."""
        for value, backup in zip(values, self.backup):
            np.copyto(backup, value)
        for slot, arrays in self.state.items():
            for array, backup in zip(arrays, self.state_backup[slot]):
                np.copyto(backup, array)
        return self.steps, tuple(getattr(self, name) for name in self.scalars)

    def restore_backup(self, values: list[np.ndarray], saved: tuple[int, tuple[float, ...]]) -> None:
        """Put back what `save_backup` saved."""
        for value, backup in zip(values, self.backup):
            np.copyto(value, backup)
        for slot, arrays in self.state.items():
            for array, backup in zip(arrays, self.state_backup[slot]):
                np.copyto(array, backup)
        self.steps = saved[0]
        for name, value in zip(self.scalars, saved[1]):
            setattr(self, name, value)

    def update(self, values: list[np.ndarray], gradients: list[np.ndarray]) -> None:
        """Apply the rule to each parameter; solvers that look at all parameters together
        override this."""
        for index, (value, gradient) in enumerate(zip(values, gradients)):
            found = self.kernels[index] if index < len(self.kernels) else None
            if found is None:
                self.update_one(index, value, gradient)
                continue
            try:
                found[1](self, index, value, gradient)
            except Exception as exc:  # the backend's failure: this parameter by the rule instead
                self.restore_one(index, value)
                report_solver(SOLVER + self.name, found[0], f"raised ({type(exc).__name__}: {exc})")
                self.kernels = [None if k is not None and k[0] == found[0] else k for k in self.kernels]
                self.update_one(index, value, gradient)

    def restore_one(self, index: int, value: np.ndarray) -> None:
        """Put parameter `index` and its state back from the backup of this step."""
        np.copyto(value, self.backup[index])
        for slot, arrays in self.state.items():
            np.copyto(arrays[index], self.state_backup[slot][index])

    def update_one(self, index: int, value: np.ndarray, gradient: np.ndarray) -> None:
        """Update parameter `index`, whose array is `value`, in place from `gradient`
        (`self.work[index]` is free scratch space)."""
        raise NotImplementedError(f"solver {self.name} has no update rule")

    def descend(self, index: int, value: np.ndarray, direction: np.ndarray, rate: float) -> None:
        """`value -= rate * direction`, through the work buffer (which may be `direction`)."""
        work = self.work[index]
        np.multiply(direction, rate, out=work)
        value -= work

    def regularised(self, gradients: list[np.ndarray]) -> list[np.ndarray]:
        """Each gradient regularised (into the solver's own buffers when changed: the
        machine's buffers are never written)."""
        return [self.regularise(i, node.value, g) for i, (node, g) in enumerate(zip(self.params, gradients))]

    def checked_gradients(self) -> list[np.ndarray]:
        """Each parameter's raw gradient, once every parameter and gradient is checked:
        a missing one, or one of the wrong shape or dtype, or a parameter not bound to a
        writeable array of its own shape and dtype, is an error naming every such parameter."""
        raw, problems = [], []
        for node in self.params:
            gradient, value = node.grad, node.value
            if gradient is None:
                problems.append(f"parameter {describe(node)} has no gradient: run a machine that "
                                "computes it first (G.grad(cost, ...) with this node for the "
                                "TapeMachine; the LispMachine fills it when the cost depends on it)")
            elif not isinstance(gradient, np.ndarray) or gradient.shape != node.shape \
                    or gradient.dtype != node.dtype:
                problems.append(f"parameter {describe(node)} has a gradient of shape "
                                f"{np.shape(gradient)} and dtype {getattr(gradient, 'dtype', None)}")
            if value is None:
                problems.append(f"parameter {describe(node)} has no value bound")
            elif value.shape != node.shape or value.dtype != node.dtype:
                problems.append(f"parameter {describe(node)} is bound to a {value.shape} {value.dtype} array")
            elif not value.flags.writeable:
                problems.append(f"parameter {describe(node)} is bound to a read-only array")
            raw.append(gradient)
        if problems:
            raise GorgonError(f"{self.name}.step: " + "; ".join(problems) + " (nothing was updated)")
        return raw

    def clip(self, gradients: list[np.ndarray]) -> list[np.ndarray]:
        """The gradients scaled to the global norm `clip_norm`, then limited to `clip_value`."""
        if self.clip_norm is not None:
            norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in gradients)))
            if norm > self.clip_norm:
                gradients = [np.multiply(g, self.clip_norm / norm, out=out)
                             for g, out in zip(gradients, self.effective)]
        if self.clip_value is not None:
            gradients = [np.clip(g, -self.clip_value, self.clip_value, out=out)
                         for g, out in zip(gradients, self.effective)]
        return gradients

    def regularise(self, index: int, value: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """The gradient plus `l2 * w + l1 * sign(w)`."""
        if not (self.l1 or self.l2):
            return gradient
        out, work = self.effective[index], self.work[index]
        if gradient is not out:
            np.copyto(out, gradient)
        if self.l2:
            np.multiply(value, self.l2, out=work)
            out += work
        if self.l1:
            np.sign(value, out=work)
            work *= self.l1
            out += work
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """A snapshot of the solver's state: `steps`, its scalar state, and one array per
        slot and parameter under `<slot>/<index>` (the index in `params`)."""
        state = {"steps": np.array(self.steps, np.int64)}
        state.update({name: np.array(getattr(self, name), np.float64) for name in self.scalars})
        for slot, arrays in self.state.items():
            state.update({f"{slot}/{i}": array.copy() for i, array in enumerate(arrays)})
        return state

    def check_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Raise a GorgonError listing every way `state` does not fit this solver."""
        expected = self.state_dict()
        problems = []
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing:
            problems.append(f"missing entries {missing}")
        if unexpected:
            problems.append(f"unexpected entries {unexpected}"
                            + ("" if self.params else " (the solver has no parameters yet: bind it first)"))
        for key in sorted(set(expected) & set(state)):
            value = np.asarray(state[key])
            if value.shape != expected[key].shape:
                problems.append(f"{key!r} has shape {value.shape}, expected {expected[key].shape}")
            elif not np.can_cast(value.dtype, expected[key].dtype, "same_kind"):
                problems.append(f"{key!r} has dtype {value.dtype}, expected {expected[key].dtype}")
        if problems:
            raise GorgonError(f"{self.name}: cannot load this state: " + "; ".join(problems))

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore a state from `state_dict()`: everything is checked before anything
        changes, and a failure part way puts the old state back."""
        self.check_state(state)
        before = self.state_dict()
        try:
            self._assign_state(state)
        except BaseException:
            self._assign_state(before)
            raise

    def _assign_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.steps = int(state["steps"])
        for name in self.scalars:
            setattr(self, name, float(state[name]))
        for slot, arrays in self.state.items():
            for i, array in enumerate(arrays):
                np.copyto(array, state[f"{slot}/{i}"], casting="same_kind")

    def __repr__(self) -> str:
        names = ", ".join(repr(p.name) for p in self.params)
        return f"<{self.name} learning_rate={self.learning_rate} params=[{names}]>"
