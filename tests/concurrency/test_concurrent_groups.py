"""TapeMachine(concurrency=N): which instructions find_groups lets run at once (never
dependent ones, nor ones whose buffers, views or in-place writes overlap), results
bit-identical to the serial machine's, the listing, the option and its variable."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import gorgon as G
from gorgon.compile import EXEC, Instruction
from gorgon.node import OPERATION
from gorgon.passes.ir import Term
from gorgon.vm.concurrent import ENV, MIN_FLOPS, check_concurrency, find_groups

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.test_lenet import LEARNING_RATE, lenet_graph  # noqa: E402


class Heavy(G.Op):
    """`x + 1`, declaring `flops` FLOPs (and maybe impure, or updating its input)."""

    name = "concurrency_test_heavy"

    def __init__(self, count: int = MIN_FLOPS, **params):
        super().__init__(count=count, **params)

    def infer(self, x):
        return G.TensorType(x.shape, x.dtype)

    def forward(self, x, out=None):
        return np.add(x, 1.0, out=out)

    def flops(self, inputs, output):
        return self.count


class Updating(Heavy):
    name = "concurrency_test_updating"
    updates = (0,)


class Impure(Heavy):
    name = "concurrency_test_impure"
    pure = False


def term(op: G.Op | None = None) -> Term:
    return Term(OPERATION, (4,), np.dtype(np.float64), "t", op=op)


def program(*steps: tuple[G.Op, tuple[int, ...], int]) -> list[Instruction]:
    """Exec instructions `op: args -> out` over registers (inputs are registers never written)."""
    return [Instruction(EXEC, term(op), out, args) for op, args, out in steps]


HEAVY, LIGHT = Heavy(), Heavy(count=MIN_FLOPS - 1)


def test_independent_heavy_instructions_are_grouped():
    assert find_groups(program((HEAVY, (0,), 2), (HEAVY, (1,), 3)), 2) == [(0, 1)]
    assert find_groups(program((HEAVY, (0,), 2), (LIGHT, (2,), 4), (HEAVY, (1,), 3)), 2) == [(0, 2)]


def test_groups_have_at_most_concurrency_members():
    steps = program(*[(HEAVY, (0,), out) for out in (2, 3, 4, 5, 6)])
    assert find_groups(steps, 1) == []
    assert find_groups(steps, 2) == [(0, 1), (2, 3)]
    assert find_groups(steps, 3) == [(0, 1, 2), (3, 4)]


@pytest.mark.parametrize("steps", [
    # the second reads what the first writes
    [(HEAVY, (0,), 2), (HEAVY, (2,), 3)],
    # ... through an instruction between them
    [(HEAVY, (0,), 2), (LIGHT, (2,), 4), (HEAVY, (4,), 3)],
    # both write one (shared) buffer
    [(HEAVY, (0,), 2), (HEAVY, (1,), 2)],
    # the second reuses a buffer that an instruction between them still reads
    [(HEAVY, (0,), 2), (LIGHT, (3,), 4), (HEAVY, (1,), 3)],
    # the second writes in place over what the first reads
    [(HEAVY, (1,), 2), (HEAVY, (1,), 1)],
    # too light to pay for a hand-off
    [(LIGHT, (0,), 2), (HEAVY, (1,), 3)],
    # impure (a random generator's order) or updating an input
    [(Impure(), (0,), 2), (HEAVY, (1,), 3)],
    [(HEAVY, (0,), 2), (Updating(), (1,), 3)],
])
def test_unsafe_pairs_are_never_grouped(steps):
    assert find_groups(program(*steps), 2) == []


def test_a_view_counts_as_its_base():
    """r5 views r2 (a reshape bound once): reading r5 reads what the first writes."""
    from gorgon.compile import VIEW
    steps = program((HEAVY, (0,), 2))
    steps.append(Instruction(VIEW, term(), 5, (2,)))
    steps += program((HEAVY, (5,), 3))
    assert find_groups(steps, 2) == []
    other = program((HEAVY, (0,), 2)) + [Instruction(VIEW, term(), 5, (1,))] + program((HEAVY, (5,), 3))
    assert find_groups(other, 2) == [(0, 1)]


def depends(program_, later: int, earlier: int) -> bool:
    """Whether exec instruction `later` needs `earlier`'s output (terms, transitively)."""
    execs = [ins for ins in program_.instructions if ins.kind == EXEC]
    target, seen, stack = execs[earlier].term, set(), [execs[later].term]
    while stack:
        t = stack.pop()
        if t is target:
            return True
        if id(t) not in seen:
            seen.add(id(t))
            stack.extend(t.inputs)
    return False


def residual_graph():
    """A residual block (two 3x3 convs beside a 1x1 shortcut conv) and its loss."""
    rng = np.random.default_rng(1)
    g = G.Graph()
    x = G.tensor(g, G.Float32, (32, 32, 16, 16), name="x",
                 value=rng.standard_normal((32, 32, 16, 16), dtype=np.float32))
    ws = [G.tensor(g, G.Float32, shape, name=name,
                   value=(rng.standard_normal(shape) * 0.1).astype(np.float32))
          for name, shape in (("wa", (32, 32, 3, 3)), ("wb", (32, 32, 3, 3)), ("ws", (32, 32, 1, 1)))]
    branch = G.conv2d(G.relu(G.conv2d(x, ws[0], padding=1)), ws[1], padding=1)
    loss = G.mean(G.relu(branch + G.conv2d(x, ws[2])))
    G.grad(loss, x, *ws)
    return g, [x, *ws], loss


@pytest.mark.parametrize("build", [residual_graph, lenet_graph])
def test_groups_of_real_programs_are_independent_and_results_bit_identical(build):
    g, params, loss = build()
    if build is lenet_graph:
        G.grad(loss, *params)
    serial = G.TapeMachine(g, blas_threads=1)
    grouped = G.TapeMachine(g, concurrency=2)
    assert grouped.blas_threads == 1
    groups = grouped._groups.groups
    assert groups, str(grouped.program)
    execs = [ins for ins in grouped.program.instructions if ins.kind == EXEC]
    for group in groups:
        for a in group:
            for b in group:
                if a < b:
                    assert not depends(grouped.program, b, a)
                    assert execs[a].out != execs[b].out
    listing = str(grouped.program)
    assert listing.count("group 1") == 2 and "group" not in str(serial.program).replace("groups=", "")
    results = []
    for machine in (serial, grouped):
        steps = []
        for _ in range(3):
            machine.run_all()
            steps.append([loss.value.copy()] + [p.grad.copy() for p in params])
        results.append(steps)
    for s, c in zip(*results):
        for a, b in zip(s, c):
            assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("blas", [1, 2])
def test_lenet_training_steps_match_the_serial_machine(blas):
    """With BLAS at `blas` threads (one inside groups): the same losses and weights,
    bit for bit at one thread."""
    finals = []
    for options in ({"blas_threads": blas}, {"concurrency": 2, "blas_threads": blas}):
        g, params, loss = lenet_graph()
        G.grad(loss, *params)
        machine = G.TapeMachine(g, **options)
        solver = G.solvers.SGD(params=params, learning_rate=LEARNING_RATE * 1e4)
        losses = []
        for _ in range(4):
            machine.run_all()
            losses.append(float(loss.value))
            solver.step()
        finals.append((losses, [p.value.copy() for p in params]))
    if blas == 1:
        assert finals[0][0] == finals[1][0]
        assert all(a.tobytes() == b.tobytes() for a, b in zip(finals[0][1], finals[1][1]))
    else:  # OpenBLAS rounds some GEMMs differently on 1 and 2 threads (groups run on 1)
        np.testing.assert_allclose(finals[0][0], finals[1][0], rtol=1e-5)
        for a, b in zip(finals[0][1], finals[1][1]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_the_option_and_the_environment_variable(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert check_concurrency(None) == 1
    assert check_concurrency(3) == 3
    monkeypatch.setenv(ENV, " 2 ")
    assert check_concurrency(None) == 2
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(G.ArgumentValueError, match="concurrency must be a positive integer"):
            check_concurrency(bad)
    monkeypatch.setenv(ENV, "two")
    with pytest.raises(G.ArgumentValueError, match=ENV):
        check_concurrency(None)
    monkeypatch.setenv(ENV, "2")
    g, params, loss = residual_graph()
    assert G.TapeMachine(g)._groups is not None
    assert G.TapeMachine(g, concurrency=1)._groups is None
    assert G.TapeMachine(g, blas_threads=2).blas_threads == 2
