"""Shared helpers of the benchmark suite. Each benchmark records in `extra_info` the
workload it belongs to, the implementation it measures, and how many ops (or steps)
one call performs, so `python -m benchmarks.report` can print per-op medians and
ratios to the numpy floor and to torch."""

import pytest


@pytest.fixture
def record(benchmark):
    """`record(workload, implementation, ops=1)`: label this benchmark for the report."""

    def label(workload: str, implementation: str, ops: int = 1) -> None:
        benchmark.group = workload
        benchmark.extra_info.update(workload=workload, implementation=implementation, ops=ops)

    return label


@pytest.fixture
def torch():
    """PyTorch, or a clean skip when the optional benchmark extra is not installed."""
    module = pytest.importorskip("torch")
    module.set_num_threads(2)
    return module
