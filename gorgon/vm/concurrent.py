"""Running independent instructions of a TapeMachine program at once (`concurrency=`,
else GORGON_CONCURRENCY; 1, the default, runs everything in order).

At compile time `find_groups` pairs (or groups, up to `concurrency`) heavy exec
instructions (each declaring at least `MIN_FLOPS` FLOPs, like a layer's input- and
weight-gradient convolutions) that are safe to run together: pure ops that update no
input, neither reading what the other writes nor writing what the other reads or writes
(registers seen through views, so buffers shared by the memory planner and in-place
writes count), and each later member free to move up to the first member's place (no
instruction between them writes what it reads, or reads or writes what it writes). A
group runs at its first member's place: the members after the first on persistent
worker threads (made once per machine), the first in the calling thread; numpy releases
the GIL in BLAS, copies and ufuncs, so one member's copies can overlap another's GEMM.
Every member computes exactly what it computes alone, so results are bit-identical to
the serial machine's (BLAS with the same thread count). The LispMachine runs its
nodes one at a time.

Measured on the 2-core machine this was built on (LeNet training step, in one process,
interleaved, medians of 15-25 steps): 4-15% faster than the serial machine at one BLAS
thread; the grouped conv gradient pair took 14.3 ms against 26.6 ms one after the other
when the second core was free, and nothing was gained when other processes kept it busy
(each member then took twice as long). On a quiet machine the serial machine with BLAS's
own two threads was faster still (47.6 against 51.4 ms), so grouping is asked for, not
assumed.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence

from gorgon.compile import EXEC, VIEW, Instruction
from gorgon.vm.profile import clock, op_flops
from gorgon.vm.arguments import positive_count
from gorgon.vm.threads import blas_libraries

ENV = "GORGON_CONCURRENCY"
MIN_FLOPS = 10_000_000
"""FLOPs each member of a group must declare for a thread hand-off (tens of us) to pay."""
WINDOW = 8
"""How many instructions after a group's first member are searched for its partners."""
GROUP = "group"


def check_concurrency(concurrency: int | None) -> int:
    """`concurrency`, else GORGON_CONCURRENCY, as a positive int; 1 when neither is set."""
    return positive_count("concurrency", concurrency, ENV) or 1


def _roots(instructions: Sequence[Instruction]) -> dict[int, int]:
    """Each register's own buffer: a view's is its base's."""
    root: dict[int, int] = {}
    for ins in instructions:
        root[ins.out] = root.get(ins.args[0], ins.args[0]) if ins.kind == VIEW and ins.args else ins.out
    return root


def _heavy(ins: Instruction, min_flops: int) -> bool:
    op = ins.term.op
    if not op.pure or op.updates:
        return False
    count = op_flops(op, ins.term.inputs, ins.term)
    return count is not None and count >= min_flops


def find_groups(instructions: Sequence[Instruction], concurrency: int,
                min_flops: int = MIN_FLOPS) -> list[tuple[int, ...]]:
    """Groups of exec-instruction indices (positions among the program's exec
    instructions, in order) that may run at once, each of 2 to `concurrency` members."""
    if concurrency < 2:
        return []
    root = _roots(instructions)
    execs = [ins for ins in instructions if ins.kind == EXEC]
    reads = [{root.get(a, a) for a in ins.args} for ins in execs]
    writes = [{root.get(ins.out, ins.out)} | {root.get(ins.args[u], ins.args[u]) for u in ins.term.op.updates}
              for ins in execs]
    heavy = [_heavy(ins, min_flops) for ins in execs]
    groups: list[tuple[int, ...]] = []
    taken: set[int] = set()
    for first in range(len(execs)):
        if not heavy[first] or first in taken:
            continue
        members = [first]
        for later in range(first + 1, min(first + 1 + WINDOW, len(execs))):
            if len(members) == concurrency:
                break
            if heavy[later] and later not in taken and _may_join(later, members, reads, writes):
                members.append(later)
        if len(members) > 1:
            groups.append(tuple(members))
            taken.update(members)
    return groups


def _may_join(later: int, members: Sequence[int], reads: Sequence[set[int]],
              writes: Sequence[set[int]]) -> bool:
    """Whether `later` may move up to `members[0]`'s place and run beside every member:
    nothing from there up to it (members included) writes what it reads, or reads or
    writes what it writes."""
    for between in range(members[0], later):
        if writes[between] & reads[later] or writes[later] & (reads[between] | writes[between]):
            return False
    return True


class Worker:
    """A persistent thread that runs one job at a time for a group: `start(job)` hands
    it over, `wait()` returns when it has finished, `take_error()` is its error (None
    when it ran cleanly), `start_ns` / `end_ns` its times on the profiler's clock (read
    only when timed). Two locks pass the job over, so a hand-off allocates no array and
    keeps nothing."""

    def __init__(self, name: str) -> None:
        self._go = threading.Lock()
        self._go.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._job: Callable[[], object] | None = None
        self.error: BaseException | None = None
        self.start_ns = self.end_ns = 0
        self.timed = False
        self._closed = False
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            self._go.acquire()
            if self._closed:
                return
            if self.timed:
                self.start_ns = clock()
            try:
                self._job()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                self.error = exc
            if self.timed:
                self.end_ns = clock()
            self._done.release()

    def start(self, job: Callable[[], object], timed: bool = False) -> None:
        """Hand `job` over (`timed`: read the clock around it)."""
        self._job = job
        self.timed = timed
        self._go.release()

    def wait(self) -> None:
        """Return when the job handed over has finished."""
        self._done.acquire()
        self._job = None

    def take_error(self) -> BaseException | None:
        """The last job's error (None when it ran cleanly), forgotten once taken."""
        error, self.error = self.error, None
        return error

    def close(self) -> None:
        """Let the thread end (it is waiting for a job)."""
        self._closed = True
        self._go.release()


class Groups:
    """The groups of a machine's program and the workers that run them: `schedule` is
    the order a run follows (an exec index, or a group's tuple at its first member's
    place), `run(steps, recover)` runs it. With `blas_threads` above 1 (the machine's),
    BLAS runs one thread while a group runs and `blas_threads` around it."""

    def __init__(self, owner: object, groups: Sequence[tuple[int, ...]], count: int,
                 blas_threads: int | None = None) -> None:
        self.groups = list(groups)
        self.blas_threads = blas_threads if blas_threads is not None and blas_threads > 1 else None
        self._blas = blas_libraries() if self.blas_threads is not None else []
        later = {i for group in groups for i in group[1:]}
        firsts = {group[0]: group for group in groups}
        self.schedule: list[int | tuple[int, ...]] = [firsts.get(i, i) for i in range(count) if i not in later]
        width = max((len(g) for g in groups), default=1)
        self.workers = [Worker(f"gorgon-group-{k}") for k in range(1, width)]
        self._closers = [weakref.finalize(owner, worker.close) for worker in self.workers]

    def close(self) -> None:
        """End the workers' threads (also done when the owner is garbage collected)."""
        for closer in self._closers:
            closer()

    def run(self, steps: Sequence[Callable[[], object]], recover: Callable[[int, Exception], None],
            record: Callable[[int, int, int], None] | None = None) -> None:
        """Run the schedule; `recover(index, exc)` handles a step's error (in the calling
        thread, once every member of its group has stopped); `record(index, start, end)`,
        when given, receives each step's times."""
        for item in self.schedule:
            if type(item) is int:
                start = clock() if record is not None else 0
                try:
                    steps[item]()
                except Exception as exc:
                    recover(item, exc)
                if record is not None:
                    record(item, start, clock())
            else:
                self._run_group(item, steps, recover, record)

    def _run_group(self, group: tuple[int, ...], steps: Sequence[Callable[[], object]],
                   recover: Callable[[int, Exception], None],
                   record: Callable[[int, int, int], None] | None) -> None:
        workers, timed = self.workers, record is not None
        for library in self._blas:
            library.set_num_threads(1)
        for k in range(1, len(group)):
            workers[k - 1].start(steps[group[k]], timed)
        start = clock() if timed else 0
        error: BaseException | None = None
        try:
            steps[group[0]]()
        except BaseException as exc:  # noqa: BLE001 - handled once every member has stopped
            error = exc
        end = clock() if timed else 0
        for k in range(1, len(group)):
            workers[k - 1].wait()
        for library in self._blas:
            library.set_num_threads(self.blas_threads)
        if error is not None:
            self._fail(group[0], error, recover)
        for k in range(1, len(group)):
            failed = workers[k - 1].take_error()
            if failed is not None:
                self._fail(group[k], failed, recover)
        if timed:
            record(group[0], start, end)
            for k in range(1, len(group)):
                record(group[k], workers[k - 1].start_ns, workers[k - 1].end_ns)

    @staticmethod
    def _fail(index: int, error: BaseException, recover: Callable[[int, Exception], None]) -> None:
        if not isinstance(error, Exception):
            raise error
        recover(index, error)
