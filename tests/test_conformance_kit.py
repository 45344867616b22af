"""The conformance kit itself: each check passes a correct op and catches an op broken in
the way that check is about, with a message that names the check, the op and the
sample, and a snippet that reproduces the failure."""

import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gorgon as G
import gorgon.testing as T
from gorgon.infer import elementwise, shape_error
from gorgon.registry import registry
from gorgon.testing.numeric import assert_close
from gorgon.testing.report import Mismatch, _TooBig, literal, reproduce, sample_literal
from gorgon.testing.target import resolve

rng = np.random.default_rng(7)


def randn(*shape):
    return rng.standard_normal(shape)


class Double(G.Op):
    """A correct op: `2 * x`, which may overwrite x."""

    name = "kit_double"
    inplace = 0

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        return np.multiply(x, 2.0, out=out)

    def vjp(self, inputs, output, gy):
        return (gy * 2.0,)


class IgnoresOut(Double):
    def forward(self, x, out=None):
        return x * 2.0


class HalfWritesOut(Double):
    def forward(self, x, out=None):
        if out is None:
            return x * 2.0
        out.flat[: out.size // 2] = (x * 2.0).flat[: out.size // 2]
        return out


class MutatesInput(Double):
    def forward(self, x, out=None):
        result = np.multiply(x, 2.0, out=out)
        x[...] = 0.0
        return result


class ClobbersInPlace(Double):
    def forward(self, x, out=None):
        out = np.empty_like(x) if out is None else out
        out.fill(0.0)
        out += 2.0 * x
        return out


class BadInplaceIndex(Double):
    inplace = 3


class ReturnsOtherArrayInPlace(Double):
    def forward(self, x, out=None):
        if out is x:
            return x * 2.0
        return np.multiply(x, 2.0, out=out)


class WrongGradient(Double):
    def vjp(self, inputs, output, gy):
        return (gy * 3.0,)


class WrongShape(Double):
    def infer(self, x):
        return G.TensorType(x.shape + (1,), x.dtype)


class AlwaysFloat64(Double):
    def infer(self, x):
        return G.TensorType(x.shape, np.float64)

    def forward(self, x, out=None):
        return np.multiply(x, 2.0, out=out, dtype=np.float64)


class LossyFloat32(Double):
    def forward(self, x, out=None):
        if x.dtype == np.float32:
            x = x.astype(np.float16).astype(np.float32)
        return np.multiply(x, 2.0, out=out)


class Detach(Double):
    """Identity whose gradient is wrongly zero: a rule built on it is right only once."""

    name = "kit_detach"

    def forward(self, x, out=None):
        if out is None:
            return x.copy()
        np.copyto(out, x)
        return out

    def vjp(self, inputs, output, gy):
        return (gy * 0.0,)


class DetachedSquare(Double):
    name = "kit_square"

    def forward(self, x, out=None):
        return np.square(x, out=out)

    def vjp(self, inputs, output, gy):
        return (gy * Detach.call(inputs[0]) * 2.0,)


class NoSecondOrder(DetachedSquare):
    second_order = False


class MachinesDiffer(Double):
    """A rule that (wrongly) looks at how its output is held: the LispMachine hands rules
    an input placeholder for it, the TapeMachine the op node itself."""

    def vjp(self, inputs, output, gy):
        return (gy * (2.5 if output.op is None else 2.0),)


class Noise(G.Op):
    """An impure op, from a graph and a shape, that leaves part of `out` unwritten."""

    name = "kit_noise"
    pure = False
    differentiable = False

    @classmethod
    def call(cls, graph, shape):
        return G.apply(cls(shape=shape), graph=graph)

    def infer(self):
        return G.TensorType(self.shape, np.float64)

    def forward(self, out=None):
        out = np.empty(self.shape) if out is None else out
        out[1:] = np.random.default_rng().random(out[1:].shape)
        return out


class Coin(Noise):
    """An impure op with boolean output that fills `out` properly."""

    name = "kit_coin"

    def infer(self):
        return G.TensorType(self.shape, np.bool_)

    def forward(self, out=None):
        out = np.empty(self.shape, bool) if out is None else out
        out[...] = np.random.default_rng().random(self.shape) < 0.5
        return out


class Pair(G.Op):
    """`a + b` without checking that shapes broadcast, and an unhelpful error message."""

    name = "kit_pair"

    def infer(self, a, b):
        if a.dtype != b.dtype:
            raise G.DtypeError("dtypes differ")
        if a.ndim > 2:
            raise shape_error(self, "at most two dimensions", a)
        return G.TensorType(a.shape, a.dtype)

    def forward(self, a, b, out=None):
        return np.add(a, b, out=out)

    def vjp(self, inputs, output, gy):
        return gy, gy


def only(op, sample, check):
    """The one ConformanceError `check` raises for `op` on `sample`."""
    with pytest.raises(T.ConformanceError) as info:
        T.check_op(op, samples=[sample], checks=[check])
    error = info.value
    assert (error.op, error.check, error.sample) == (op.name, check, sample)
    assert "reproduce with:" in str(error)
    return str(error)


SAMPLES = [T.Sample(randn(3, 4), label="matrix"), T.Sample(randn(), label="scalar")]


def test_a_correct_op_passes_every_check():
    results = T.check_op(Double, samples=SAMPLES)
    assert {r.status for r in results} == {"passed"}
    assert {r.check for r in results} == set(T.CHECKS) - {"errors"}


@pytest.mark.parametrize("op", ["add", G.add, G.ops.add])
def test_a_registered_op_passes_on_its_own_samples(op):
    results = T.check_op(op, checks=["inference", "errors"])
    assert results and {r.op for r in results} == {"add"}
    assert {r.check for r in results} == {"inference", "errors"}


BUGS = [
    (IgnoresOut, "out_kernel", "returned a new array, not buf"),
    (HalfWritesOut, "out_kernel", "out=buf filled with nan: 6 of 12 elements differ"),
    (MutatesInput, "out_kernel", "forward(...) modified its input 0"),
    (ClobbersInPlace, "out_kernel", "computed in place of input 0"),
    (BadInplaceIndex, "out_kernel", "declares inplace=3"),
    (ReturnsOtherArrayInPlace, "out_kernel", "did not return that input"),
    (WrongGradient, "gradient", "gradient wrt 'x0' against central differences: 12 of 12"),
    (WrongShape, "inference", "inferred (3, 4, 1) float64"),
    (AlwaysFloat64, "float32", "the node is float64, expected float32"),
    (LossyFloat32, "float32", "float32 value"),
    (DetachedSquare, "second_order", "second-order gradient wrt 'x0'"),
    (MachinesDiffer, "lisp_agrees", "LispMachine gradient wrt 'x0'"),
]


@pytest.mark.parametrize("op, check, words", BUGS, ids=[op.__name__ for op, _, _ in BUGS])
def test_each_check_catches_its_bug(op, check, words):
    message = only(op, SAMPLES[0], check)
    assert f"conformance check {check!r} failed for op {op.name!r} on Sample(matrix):" in message
    assert words in message


def test_the_snippet_reproduces_the_failure():
    message = only(WrongGradient, SAMPLES[0], "gradient")
    snippet = textwrap.dedent(message.split("reproduce with:\n", 1)[1])
    with pytest.raises(T.ConformanceError) as info:
        exec(snippet, {})
    assert info.value.check == "gradient"
    assert str(info.value) == message


def test_impure_ops_are_checked_for_shape_and_a_fully_written_out():
    sample = T.Sample(G.Graph(), (3, 2), label="graph")
    assert "left 2 of 6 elements of buf unwritten" in only(Noise, sample, "out_kernel")
    results = T.check_op(Coin, samples=[sample])
    assert {r.check: r.status for r in results} == {
        "inference": "passed", "out_kernel": "passed", "gradient": "skipped",
        "lisp_agrees": "passed", "float32": "skipped", "second_order": "skipped"}
    assert "values not compared" in results[3].detail


def test_float32_checks_the_dtype_of_impure_ops():
    sample = T.Sample(G.Graph(), (2,), dtype=np.float64, seed=0)
    result = T.check_op("uniform", samples=[sample], checks=["float32"])[0]
    assert (result.status, result.detail[:20]) == ("passed", "values not compared:")


@pytest.mark.parametrize("sample, words", [
    (T.ErrorSample(randn(3), randn(4), error=G.ShapeError, match="broadcast"),
     "but it was built without error (it fails only at run time: ExecutionError"),
    (T.ErrorSample(randn(3), randn(3), error=G.ShapeError, match="broadcast"),
     "built without error (and it runs without error)"),
    (T.ErrorSample(randn(3), randn(3).astype(np.float32), error=G.ShapeError, match="x"),
     "expected ShapeError when the node is built, got DtypeError: dtypes differ"),
    (T.ErrorSample(randn(3), randn(3).astype(np.float32), error=G.DtypeError, match="dtypes differ"),
     "does not name the op 'kit_pair'"),
    (T.ErrorSample(randn(1, 1, 1), randn(1), error=G.ShapeError, match="three"),
     "does not match 'three'"),
])
def test_errors_catches_a_wrong_or_missing_error(sample, words):
    assert words in only(Pair, sample, "errors")


def test_errors_passes_a_right_error():
    sample = T.ErrorSample(randn(1, 1, 1), randn(1), error=G.ShapeError, match="two dimensions")
    assert T.check_op(Pair, samples=[sample])[0].status == "passed"


def test_ops_and_samples_may_opt_out_of_second_order():
    assert T.check_op(NoSecondOrder, samples=SAMPLES, checks=["second_order"])[0].status == "skipped"
    sample = T.Sample(randn(3), second_order=False)
    assert T.check_op(DetachedSquare, samples=[sample], checks=["second_order"])[0].status == "skipped"


def test_gradients_are_skipped_without_a_sum_op(monkeypatch):
    registry.load()
    monkeypatch.delitem(registry.ops, "sum")
    results = T.check_op(Double, samples=SAMPLES[:1], checks=["gradient", "lisp_agrees", "float32"])
    assert [r.status for r in results] == ["skipped", "passed", "passed"]
    assert "op 'sum' is not registered yet" in results[0].detail
    assert results[1].detail.startswith("gradients not compared")


def test_big_inputs_are_probed_on_a_subset_of_elements():
    assert T.check_op(Double, samples=[T.Sample(randn(10, 10))], checks=["gradient"])[0].status == "passed"


def test_float32_recasts_dtype_arguments():
    sample = T.Sample(randn(3), np.dtype("float64"), label="dtype")
    assert T.check_op("cast", samples=[sample], checks=["float32"])[0].status == "passed"


def test_gradients_need_a_float_output():
    result = T.check_op("cast", samples=[T.Sample(randn(3), np.int64)], checks=["gradient"])[0]
    assert (result.status, result.detail) == ("skipped", "its output is int64, not a float")


def test_gradients_are_checked_on_float64_samples_only():
    sample = T.Sample(randn(3).astype(np.float32))
    result = T.check_op(Double, samples=[sample], checks=["gradient"])[0]
    assert (result.status, result.detail) == ("skipped", "gradients are checked on float64 samples")


def test_a_gradient_rule_that_drops_an_input_fails():
    class DropsB(Pair):
        def vjp(self, inputs, output, gy):
            return gy, None

    message = only(DropsB, T.Sample(randn(3), randn(3)), "gradient")
    assert "raised GradError" in message and "does not depend on 'x1'" in message


def test_wrt_must_name_float_inputs():
    message = only(Pair, T.Sample(randn(3), randn(3), wrt=(2,)), "gradient")
    assert "names an argument that is not a float array" in message


def not_a_node(x):
    return 3


def identity(x):
    return x


def test_an_op_returning_no_node_fails_and_one_returning_its_input_is_skipped():
    with pytest.raises(T.ConformanceError) as info:
        T.check_op(not_a_node, samples=SAMPLES[:1], checks=["inference"])
    assert "not_a_node(...) returned int, not a node" in str(info.value)
    assert f"import {__name__}" in str(info.value)
    assert f"T.check_op({__name__}.not_a_node, " in str(info.value)
    result = T.check_op(identity, samples=SAMPLES[:1], checks=["inference"])[0]
    assert "identity(...) returned its input node 'x0' as is" in result.detail


def test_check_op_collects_failures():
    with pytest.raises(T.ConformanceError) as info:
        T.check_op(WrongGradient, samples=SAMPLES, checks=["gradient"])
    assert len(info.value.failures) == 2 and str(info.value).startswith("2 conformance checks failed")
    results = T.check_op(WrongGradient, samples=SAMPLES, checks=["gradient"], strict=False)
    assert [r.status for r in results] == ["failed", "failed"]


def test_cases_have_readable_ids():
    cases = T.iter_checks("add", checks=["gradient", "errors"])
    ids = [case.id for case in cases]
    assert "add-gradient-broadcast row" in ids
    assert "add-errors-float64(3, 4), float64(5,)" in ids
    assert all(case.check in ("gradient", "errors") for case in cases)
    gradient_ids = [c.id for c in T.conformance_cases(["add"], checks=["gradient"])]
    assert gradient_ids == [i for i in ids if "-gradient-" in i]


@pytest.mark.parametrize("call, error, words", [
    (lambda: T.iter_checks("add", checks=["speed"]), ValueError, "unknown checks ['speed']"),
    (lambda: T.iter_checks(Double, samples=[object()]), TypeError, "expected Sample or ErrorSample"),
    (lambda: T.check_op(42), TypeError, "expected an op name, an Op subclass or a function"),
    (lambda: T.check_op(Double), T.ConformanceError, "op 'kit_double' has no conformance samples"),
])
def test_bad_calls_of_the_kit(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


class KitPlugin:
    """Registers ops whose samples are missing or broken."""

    @staticmethod
    @G.hookimpl
    def register_ops(register):
        for name in ("kit_nosamples", "kit_failing", "kit_junk", "kit_errors_only"):
            register(type(name, (Double,), {"name": name}))

    @staticmethod
    @G.hookimpl
    def register_samples(register):
        register("kit_failing", lambda: 1 / 0)
        register("kit_junk", lambda: [T.Sample(randn(2)), "junk"])
        register("kit_errors_only", lambda: [T.ErrorSample(randn(2), error=ValueError, match="")])
        register("kit_orphan", lambda: [T.Sample(randn(2))])


@pytest.fixture
def broken_plugin():
    registry.add_plugin(KitPlugin, "kit")
    yield
    registry.reload()


def test_require_samples_lists_every_problem(broken_plugin):
    with pytest.raises(T.ConformanceError) as info:
        T.require_samples()
    message = str(info.value)
    assert "op 'kit_nosamples' has no conformance samples" in message
    assert "the samples factory of op 'kit_failing' failed: ZeroDivisionError" in message
    assert "returned 'junk', not a Sample or ErrorSample" in message
    assert "op 'kit_errors_only' has no valid Sample" in message
    assert "samples are registered for 'kit_orphan', which no plugin registers as an op" in message
    assert "'add'" not in message
    T.require_samples(["add"])
    names = {case.op for case in T.conformance_cases(checks=["inference"])}
    assert "add" in names and not names & {"kit_nosamples", "kit_failing", "kit_junk"}


def test_a_registered_class_is_named_by_its_name_in_snippets(broken_plugin):
    registry.load()
    target = resolve(registry.ops["kit_nosamples"])
    assert (target.name, target.ref, target.module) == ("kit_nosamples", "'kit_nosamples'", None)


def test_snippets_fall_back_for_big_arrays():
    sample = T.Sample(np.zeros(100), label="big")
    add = resolve("add")
    assert "sample = T.load_samples('add')[3]" in reproduce(add, "gradient", sample, 3, True)
    assert "sample = ...  # sample 3 of those given" in reproduce(add, "gradient", sample, 3, False)


@pytest.mark.parametrize("value", [
    np.float64("nan"), np.int64(3), np.dtype("float32"), np.float32, G.ShapeError, ValueError,
    (1,), [np.ones(2), 2.5], "text", None, True,
])
def test_literals_round_trip(value):
    imports = set()
    source = literal(value, imports)
    namespace = {}
    exec("\n".join(f"import {m}" for m in imports), namespace)
    rebuilt = eval(source, namespace)
    assert repr(rebuilt) == repr(value) or rebuilt is value


def test_sample_literals_keep_every_field():
    sample = T.Sample(np.ones(2), 3, wrt=(0,), second_order=False, label="all", axis=1)
    imports = set()
    source = sample_literal(sample, imports)
    namespace = {}
    exec("\n".join(f"import {m}" for m in imports), namespace)
    rebuilt = eval(source, namespace)
    fields = (rebuilt.wrt, rebuilt.second_order, rebuilt.label, rebuilt.kwargs)
    assert fields == ((0,), False, "all", {"axis": 1})
    assert rebuilt.args[1] == 3 and np.array_equal(rebuilt.args[0], sample.args[0])


@pytest.mark.parametrize("actual, expected, words", [
    (np.ones(2), np.ones(3), "x: shape (2,), expected (3,)"),
    (np.array([1, 2]), np.array([1, 3]), "x: 1 of 2 elements differ"),
    (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "worst at index (1,): got nan, expected 2.0"),
])
def test_comparisons_say_what_differs(actual, expected, words):
    with pytest.raises(Mismatch) as info:
        assert_close("x", actual, expected, 1e-6, 1e-6)
    assert words in str(info.value)


def test_a_graph_argument_is_written_as_a_new_graph():
    imports = set()
    assert literal(G.Graph(), imports) == "G.Graph()" and imports == {"gorgon as G"}


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
def test_array_literals_round_trip(array):
    imports = set()
    namespace = {}
    try:
        source = literal(array, imports)
    except _TooBig:
        assert array.dtype.kind == "f" and not np.isfinite(array).all()
        return
    exec("\n".join(f"import {m}" for m in imports), namespace)
    rebuilt = eval(source, namespace)
    assert rebuilt.dtype == array.dtype and np.array_equal(rebuilt, array)


@settings(max_examples=15, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
def test_add_conforms_on_any_broadcast(shapes):
    a, b = (np.random.default_rng(0).standard_normal(s) for s in shapes.input_shapes)
    assert {r.status for r in T.check_op("add", samples=[T.Sample(a, b)])} <= {"passed", "skipped"}
