"""`G.<op>` and `G.ops.<op>` show the op's real signature and docstring: inspect.signature,
help() and IDEs see its arguments (from its `call`, or `infer` for ops keeping the
inherited call), plus `name=None` keyword-only; every kit sample binds to it."""

import inspect
import pydoc

import numpy as np
import pytest

import gorgon as G
from gorgon.op import Op, apply
from gorgon.registry import _public_function, registry
from gorgon.signatures import op_signature
from gorgon.testing import Sample
from gorgon.testing.build import make_inputs

registry.load()
OPS = sorted(registry.ops)


def test_help_of_conv2d_shows_its_arguments_and_docstring():
    text = pydoc.render_doc(G.conv2d, renderer=pydoc.plaintext)
    for argument in ("x", "w", "stride", "padding", "dilation", "groups", "name"):
        assert f"{argument}:" in text or f"{argument}=" in text, argument
    assert "cross-correlation" in text
    parameters = inspect.signature(G.conv2d).parameters
    assert list(parameters)[:6] == ["x", "w", "stride", "padding", "dilation", "groups"]
    assert parameters["stride"].default == 1 and parameters["groups"].default == 1


@pytest.mark.parametrize("op_name", OPS)
def test_every_op_function_has_the_ops_signature_plus_name(op_name):
    op = registry.op(op_name)
    for function in (getattr(G, op_name), getattr(G.ops, op_name)):
        signature = inspect.signature(function)
        name = signature.parameters["name"]
        assert name.kind is inspect.Parameter.KEYWORD_ONLY and name.default is None
        own = [p for p in signature.parameters if p != "name"]
        source = op.call if op.call.__func__ is not Op.call.__func__ else op.infer
        expected = [p for p in inspect.signature(source).parameters if p != "self"]
        assert own == expected
        assert function.__doc__.startswith(inspect.getdoc(op)), op_name
        assert function.__name__ == op_name


@pytest.mark.parametrize("op_name", sorted(registry.samples))
def test_every_kit_sample_binds_to_the_shown_signature(op_name):
    signature = inspect.signature(getattr(G, op_name))
    for sample in registry.samples[op_name]():
        if isinstance(sample, Sample):
            signature.bind(*sample.args, **sample.kwargs)


def by_keyword_where_possible(signature, args, kwargs):
    """The call's arguments, every one the signature allows by keyword passed so (those
    before a used *args stay positional, as Python requires)."""
    bound = signature.bind(*args, **kwargs)
    kinds = {key: signature.parameters[key].kind for key in bound.arguments}
    star = [key for key, kind in kinds.items() if kind is inspect.Parameter.VAR_POSITIONAL]
    positional, keywords = [], {}
    before_star = bool(star)
    for key, value in bound.arguments.items():
        kind = kinds[key]
        if kind is inspect.Parameter.VAR_POSITIONAL:
            positional += list(value)
            before_star = False
        elif kind is inspect.Parameter.VAR_KEYWORD:
            keywords.update(value)
        elif kind is inspect.Parameter.POSITIONAL_ONLY or before_star:
            positional.append(value)
        else:
            keywords[key] = value
    return positional, keywords


@pytest.mark.parametrize("op_name", sorted(registry.samples))
def test_keyword_calls_by_the_shown_names_build_the_same_node_on_both_machines(op_name):
    """Every argument the signature lets be passed by keyword really can be: the node
    built by keywords computes what the positional call does, on both machines."""
    function, op = getattr(G, op_name), registry.op(op_name)
    signature = inspect.signature(function)
    for sample in registry.samples[op_name]():
        if not isinstance(sample, Sample):
            continue
        inputs = make_inputs(sample)
        positional, keywords = by_keyword_where_possible(signature, inputs.args, sample.kwargs)
        by_keyword = function(*positional, **keywords)
        by_position = function(*inputs.args, **sample.kwargs)
        assert (by_keyword.op, by_keyword.shape, by_keyword.dtype) == (
            by_position.op, by_position.shape, by_position.dtype) or not op.pure, sample
        if not op.pure or by_keyword.op is None:
            continue
        machines = (G.TapeMachine(inputs.graph), G.LispMachine(inputs.graph, forward_only=True))
        for machine in machines:
            with np.errstate(all="ignore"):
                machine.run_all()
            np.testing.assert_array_equal(by_keyword.value, by_position.value, err_msg=repr(sample))


def test_name_still_names_the_node_and_ops_with_keyword_params_keep_them():
    g = G.Graph()
    x = G.matrix(g, G.Float64, (2, 3), name="x", value=np.arange(6.0).reshape(2, 3))
    total = G.sum(x, axis=1, name="row_sums")
    assert total.name == "row_sums" and total.named
    G.TapeMachine(g).run_all()
    np.testing.assert_array_equal(total.value, [3.0, 12.0])


class Scaled(Op):
    """`scaled(x, **factors)`: a test op whose call takes open keyword parameters."""

    name = "scaled"

    @classmethod
    def call(cls, x, **factors):
        """Each keyword is a factor the kernel would multiply by."""
        return apply(cls(**factors), x)


class Labelled(Op):
    """`labelled(x, name)`: a test op with an argument called `name` of its own."""

    name = "labelled"

    @classmethod
    def call(cls, x, name):
        return apply(cls(label=name), x)


def test_name_goes_before_var_keyword_and_never_shadows_an_argument_called_name():
    assert str(op_signature(Scaled)) == "(x, *, name: 'str | None' = None, **factors) -> 'Node'"
    doc = _public_function(Scaled).__doc__
    assert doc.startswith("`scaled(x, **factors)`") and "Each keyword is a factor" in doc
    assert list(inspect.signature(_public_function(Labelled)).parameters) == ["x", "name"]


def test_a_call_inspect_cannot_read_falls_back_to_the_generic_form():
    class Opaque(Op):
        name = "opaque"
        call = classmethod(np.add.reduce.__class__.__call__)

    signature = op_signature(Opaque)
    assert list(signature.parameters)[-2:] == ["name", "params"]
