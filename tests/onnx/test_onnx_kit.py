"""The kit's ONNX check over every registered op that declares a mapping: each sample,
exported as a one-op model and run in onnxruntime, equals the op's kernel. Also a
third-party plugin's mapping (hook register_onnx), and the registry's checks of it."""

import numpy as np
import pytest

import gorgon as G
from gorgon.infer import elementwise
from gorgon.registry import Registry
from gorgon.testing import Sample
from gorgon_onnx import UnsupportedError, export
from gorgon_onnx.testing import OnnxCheck, check_onnx

pytest.importorskip("onnxruntime")

G.registry.load()
MAPPED = sorted(name for name in G.registry.onnx if name in G.registry.ops)
# forward ops of our own plugins every ONNX consumer needs: they must keep a mapping
REQUIRED = {"add", "sub", "mul", "div", "pow", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "erf",
            "matmul", "sum", "mean", "max", "reshape", "transpose", "concat", "getitem", "take",
            "softmax", "log_softmax", "gelu", "leaky_relu", "batch_norm", "layer_norm", "dropout",
            "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d",
            "upsample2d", "where", "cast", "clip", "flatten", "squeeze", "expand_dims", "broadcast_to"}


def test_our_forward_ops_declare_mappings():
    assert REQUIRED <= set(MAPPED), sorted(REQUIRED - set(MAPPED))


@pytest.mark.parametrize("op_name", MAPPED)
def test_onnx_check(op_name):
    results = check_onnx(op_name)
    mismatches = [r for r in results if r.status == "mismatch"]
    assert not mismatches, mismatches
    assert any(r.status == "ok" for r in results), results


def test_check_onnx_refuses_an_op_without_a_mapping():
    with pytest.raises(G.ArgumentValueError, match="declares no ONNX mapping"):
        check_onnx("im2col_no_such_op")


class ScaledTanh(G.Op):
    """`scaled_tanh(x, gain=1.0)`: gain * tanh(x)."""

    name = "scaled_tanh"

    def infer(self, x):
        return elementwise(self, x, floats_only=True)

    def forward(self, x, out=None):
        return np.multiply(np.tanh(x), self.gain, out=out)

    def vjp(self, inputs, output, gy):
        y = G.tanh(inputs[0])
        return (gy * (1.0 - y * y) * self.gain,)


class WrongTanh(ScaledTanh):
    name = "wrong_tanh"


class Unmapped(ScaledTanh):
    name = "unmapped_tanh"


class AlsoUnmapped(ScaledTanh):
    name = "also_unmapped"


class ThirdParty:
    """A plugin as a third party writes it: ops, samples and their ONNX mapping."""

    @staticmethod
    @G.hookimpl
    def register_ops(register):
        for op in (ScaledTanh, WrongTanh, Unmapped, AlsoUnmapped):
            register(op)

    @staticmethod
    @G.hookimpl
    def register_samples(register):
        for name in ("scaled_tanh", "wrong_tanh"):
            register(name, lambda: [Sample(np.linspace(-2, 2, 12).reshape(3, 4), gain=1.5)])

    @staticmethod
    @G.hookimpl
    def register_onnx(register):
        register("scaled_tanh", lambda b, node, inputs: b.add(
            "Mul", [b.add("Tanh", [inputs[0]]), b.scalar_like(node.op.gain, node)]))
        register("wrong_tanh", lambda b, node, inputs: b.add("Tanh", [inputs[0]]))  # forgets the gain
        register("not_callable", 42)


@pytest.fixture
def third_party(monkeypatch):
    registry = Registry()
    registry.add_plugin(ThirdParty, "thirdparty")
    registry.load()
    monkeypatch.setattr(G, "registry", registry)
    return registry


def test_a_third_party_mapping_passes_the_check(third_party):
    assert [r.status for r in check_onnx("scaled_tanh")] == ["ok"]


def test_a_wrong_mapping_fails_the_check(third_party):
    (result,) = check_onnx("wrong_tanh")
    assert isinstance(result, OnnxCheck) and result.status == "mismatch"
    assert "largest difference" in result.message


def test_a_bad_mapping_is_a_plugin_error_naming_the_plugin(third_party):
    (failure,) = third_party.plugins["thirdparty"].failures
    assert "ONNX mapping 'not_callable'" in str(failure) and "plugin 'thirdparty'" in str(failure)


def test_export_names_every_op_without_a_mapping_at_once(third_party, tmp_path):
    g = G.Graph()
    x = G.tensor(g, G.Float32, (3,), name="x")
    y = G.also_unmapped(G.unmapped_tanh(x, gain=2.0), gain=1.0) + G.unmapped_tanh(x, gain=3.0)
    with pytest.raises(UnsupportedError, match="also_unmapped.*unmapped_tanh") as caught:
        export(y, tmp_path / "no.onnx")
    assert caught.value.items == ["also_unmapped", "unmapped_tanh"]
    assert not (tmp_path / "no.onnx").exists()
