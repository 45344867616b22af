"""The conformance kit as a pytest plugin: one generated test per (op, check, sample).

Mark a test that takes the argument ``gorgon_check`` and call it::

    @pytest.mark.gorgon_conformance(plugin="example")
    def test_conformance(gorgon_check):
        gorgon_check()

The marker names what to check: ops by registered name (``"swish", "mish"``), Op
subclasses or functions that build a node, and/or ``plugin=`` an entry-point name, for
every op that plugin registers. ``samples=`` replaces the registered samples (to check an
op before it is packaged) and ``checks=`` keeps some of ``gorgon.testing.CHECKS``.

A failed check fails its test with the kit's message: the check, the op, the sample
and a snippet that reproduces it. A check that does not apply skips with the reason.
An op without samples, or a plugin that failed to load, fails a test of its own.

Turn it on in the suite's top conftest.py with
``pytest_plugins = ["gorgon.testing.pytest_plugin"]`` (or ``-p gorgon.testing.pytest_plugin``).
It is not loaded into every pytest run through an entry point: that would import
gorgon before pytest-cov starts measuring, in every project of the environment.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from gorgon.errors import ArgumentTypeError, ArgumentValueError, GorgonError
from gorgon.registry import registry
from gorgon.testing.kit import CheckCase, iter_checks
from gorgon.testing.report import ConformanceError

MARKER = "gorgon_conformance"
ARGUMENT = "gorgon_check"
OPTIONS = {"plugin", "samples", "checks"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*ops, plugin=None, samples=None, checks=None): generate one test "
                   f"per conformance check of each op for a test taking `{ARGUMENT}`")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if ARGUMENT not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None:
        pytest.fail(f"{metafunc.function.__name__} takes `{ARGUMENT}`: mark it with "
                    f"@pytest.mark.{MARKER}(...) naming the ops to check", pytrace=False)
    params = conformance_params(list(marker.args), **marker.kwargs)
    metafunc.parametrize(ARGUMENT, params)


def conformance_params(ops: list[Any], **options: Any) -> list[Any]:
    """One pytest.param per check case of `ops` (and of the ops of `plugin=`), whose value
    runs the case; problems found while collecting become failing params."""
    unknown = set(options) - OPTIONS
    if unknown:
        pytest.fail(f"@pytest.mark.{MARKER} takes no {sorted(unknown)}; its options are "
                    f"{sorted(OPTIONS)}", pytrace=False)
    params = []
    plugin = options.get("plugin")
    if plugin is not None:
        registry.load()
        info = registry.plugins.get(plugin)
        if info is None:
            pytest.fail(f"@pytest.mark.{MARKER}: no gorgon plugin named {plugin!r} is loaded "
                        f"(loaded: {', '.join(registry.plugins) or 'none'})", pytrace=False)
        params += [pytest.param(partial(_fail, error), id=f"{plugin}-load") for error in info.failures]
        ops = ops + sorted(info.ops)
    if not ops and not params:
        pytest.fail(f"@pytest.mark.{MARKER} needs ops to check, or plugin=", pytrace=False)
    for op in ops:
        try:
            cases = iter_checks(op, options.get("samples"), options.get("checks"))
        except (ArgumentTypeError, ArgumentValueError) as exc:
            pytest.fail(f"@pytest.mark.{MARKER}: {exc}", pytrace=False)
        except (ConformanceError, GorgonError) as exc:
            params.append(pytest.param(partial(_fail, exc), id=f"{_name(op)}-samples"))
            continue
        params += [pytest.param(partial(_run, case), id=case.id) for case in cases]
    return params


def _name(op: Any) -> str:
    return op if isinstance(op, str) else getattr(op, "name", None) or op.__name__


def _run(case: CheckCase) -> None:
    try:
        result = case.run()
    except ConformanceError as exc:
        failure = str(exc)
    else:
        if result.status == "skipped":
            pytest.skip(result.detail)
        return
    pytest.fail(failure, pytrace=False)


def _fail(error: Exception) -> None:
    pytest.fail(f"{type(error).__name__}: {error}", pytrace=False)
