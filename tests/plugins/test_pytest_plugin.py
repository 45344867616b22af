"""The conformance kit as a pytest plugin, run by pytest itself (pytester): a marked test
becomes one test per (op, check, sample); failures say which check, on which sample,
with a snippet; problems found while collecting fail tests of their own."""

import pytest

from gorgon.registry import registry
from gorgon.testing import iter_checks

pytest_plugins = ["pytester"]
PLUGIN = ("-p", "gorgon.testing.pytest_plugin")
QUIET = (*PLUGIN, "-p", "no:hypothesispytest", "-p", "no:cacheprovider")  # no slow plugins

BROKEN_OP = '''
import numpy as np
import pytest

import gorgon as G
from gorgon.infer import elementwise
from gorgon.testing import Sample


class LazyDouble(G.Op):
    """2 * x, from a kernel that never writes `out`."""

    name = "lazy_double"

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        return x * 2.0

    def vjp(self, inputs, output, gy):
        return (gy * 2.0,)


SAMPLES = [Sample(np.arange(3.0), label="ramp")]
'''


def literal_brackets(pattern: str) -> str:
    """`pattern` for fnmatch_lines with its square brackets matched literally."""
    return pattern.replace("[", "[[]")


def conformance_test(marker_args: str) -> str:
    return f'''

@pytest.mark.gorgon_conformance({marker_args})
def test_conformance(gorgon_check):
    gorgon_check()
'''


def test_a_conftest_turns_the_plugin_on(pytester):
    pytester.makeconftest('pytest_plugins = ["gorgon.testing.pytest_plugin"]')
    pytester.makepyfile(BROKEN_OP + conformance_test('"neg", checks=["inference"]'))
    result = pytester.runpytest("-p", "no:hypothesispytest", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(iter_checks("neg", checks=["inference"])))


def test_a_marked_test_becomes_one_test_per_check_and_sample(pytester):
    pytester.makepyfile(BROKEN_OP + conformance_test('"neg", checks=["gradient", "errors"]'))
    result = pytester.runpytest("-v", *QUIET)
    cases = iter_checks("neg", checks=["gradient", "errors"])
    result.assert_outcomes(passed=len(cases))
    result.stdout.fnmatch_lines([f"*test_conformance?{case.id}? PASSED*" for case in cases])


def test_a_failed_check_names_check_op_sample_and_reproduces(pytester):
    pytester.makepyfile(BROKEN_OP + conformance_test(
        'LazyDouble, samples=SAMPLES, checks=["out_kernel", "gradient"]'))
    result = pytester.runpytest("-v", *QUIET)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*test_conformance?lazy_double-out_kernel-ramp? FAILED*",
        "*conformance check 'out_kernel' failed for op 'lazy_double' on Sample(ramp):",
        "*forward(..., out=buf) returned a new array, not buf",
        "*reproduce with:",
        "*T.check_op(*.LazyDouble, samples=?sample?, checks=??out_kernel??)",
    ])
    output = result.stdout.str()
    assert "def _run" not in output and "During handling" not in output  # the kit's message only


def test_a_check_that_does_not_apply_skips_with_its_reason(pytester):
    pytester.makepyfile(BROKEN_OP + conformance_test('"argmax", checks=["gradient"]'))
    result = pytester.runpytest("-rs", *QUIET)
    result.assert_outcomes(skipped=len(iter_checks("argmax", checks=["gradient"])))
    result.stdout.fnmatch_lines(["*is not differentiable*"])


def test_an_op_without_samples_or_not_installed_fails_a_test_of_its_own(pytester):
    pytester.makepyfile(BROKEN_OP + conformance_test('LazyDouble, "no_such_op"'))
    result = pytester.runpytest("-v", *QUIET)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*test_conformance?lazy_double-samples? FAILED*",
        "*test_conformance?no_such_op-samples? FAILED*",
        "*ConformanceError: op 'lazy_double' has no conformance samples*",
        "*OpNotFound: no installed plugin registers an op named 'no_such_op'*",
    ])


def test_plugin_option_checks_every_op_a_plugin_registers(pytester):
    pytester.makepyfile(BROKEN_OP + conformance_test('plugin="core", checks=["errors"]'))
    result = pytester.runpytest(*QUIET)
    expected = sum(len(iter_checks(op, checks=["errors"])) for op in registry.plugins["core"].ops)
    result.assert_outcomes(passed=expected)


@pytest.mark.parametrize("marker_args, message", [
    ('plugin="no_such_plugin"', "no gorgon plugin named 'no_such_plugin' is loaded (loaded: *core*"),
    ("", "needs ops to check, or plugin="),
    ('"neg", check=["gradient"]', "takes no ['check']; its options are ['checks', 'plugin', 'samples']"),
    ('"neg", checks=["speed"]', "*unknown checks ['speed']*"),
])
def test_a_wrong_marker_is_a_collection_error(pytester, marker_args, message):
    pytester.makepyfile(BROKEN_OP + conformance_test(marker_args))
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*@pytest.mark.gorgon_conformance*{literal_brackets(message)}*"])


def test_a_test_taking_gorgon_check_without_the_marker_is_a_collection_error(pytester):
    pytester.makepyfile("def test_unmarked(gorgon_check):\n    gorgon_check()\n")
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_unmarked takes `gorgon_check`: mark it with*"])


def test_a_plugin_that_failed_to_load_fails_a_test_and_its_other_ops_run(pytester, fake_plugin,
                                                                       tmp_path, monkeypatch):
    fake_plugin("halfway", '''
import numpy as np
import gorgon as G
from gorgon.infer import elementwise
from gorgon.testing import Sample


class Triple(G.Op):
    name = "triple"

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        return np.multiply(x, 3.0, out=out)

    def vjp(self, inputs, output, gy):
        return (gy * 3.0,)


@G.hookimpl
def register_ops(register):
    register(Triple)


@G.hookimpl
def register_samples(register):
    register("triple", lambda: [Sample(np.ones(2))])


@G.hookimpl
def register_solvers(register):
    raise RuntimeError("solvers are not ready")
''', dist="gorgon-ops-halfway")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    pytester.makepyfile("import pytest\n" + conformance_test('plugin="halfway", checks=["gradient"]'))
    result = pytester.runpytest_subprocess("-v", *QUIET)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*test_conformance?halfway-load? FAILED*",
        "*test_conformance?triple-gradient-* PASSED*",
        "*PluginError: plugin 'halfway' (gorgon-ops-halfway) failed in its hook register_solvers: "
        "RuntimeError: solvers are not ready*",
    ])
