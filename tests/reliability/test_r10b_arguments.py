"""Issue 10: float16 is refused wherever a node would get it, naming the supported
dtypes; bad machine and compile arguments are ArgumentTypeError/ArgumentValueError
(GorgonErrors that are also TypeError/ValueError)."""

import numpy as np
import pytest

import gorgon as G
from gorgon import Op, TensorType

SUPPORTED = "bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64"


class Halve(Op):
    """An op whose inference claims a float16 output."""

    name = "r10b_halve"

    def infer(self, x):
        return TensorType(x.shape, np.float16)

    def forward(self, x, out=None):
        return np.asarray(x, np.float16)


def test_float16_is_refused_when_a_node_is_built_naming_the_supported_dtypes():
    g = G.Graph()
    x = G.vector(g, G.Float32, 3, name="x", value=np.ones(3, np.float32))
    before = len(g.nodes)
    builds = {
        "tensor": lambda: G.tensor(g, np.float16, (2,)),
        "vector with value": lambda: G.vector(g, np.float16, 3, value=np.ones(3, np.float16)),
        "init=": lambda: G.tensor(g, np.float16, (3, 2), init="he_normal"),
        "init callable": lambda: G.matrix(g, "float16", (2, 2), init=lambda s, d: np.ones(s, d)),
        "constant": lambda: G.constant(np.ones(2, np.float16), g),
        "constant dtype=": lambda: G.constant([1.0, 2.0], g, dtype=np.float16),
        "lifted array": lambda: x + np.ones(3, np.float16),
        "lifted scalar": lambda: x * np.float16(2.0),
        "cast": lambda: G.cast(x, np.float16),
        "inference": lambda: G.apply(Halve(), x),
        "longdouble": lambda: G.tensor(g, np.longdouble, (2,)),
    }
    for what, build in builds.items():
        with pytest.raises(G.DtypeError, match=SUPPORTED) as caught:
            build()
        assert "float16" in str(caught.value) or "float128" in str(caught.value), what
    assert len(g.nodes) == before
    with pytest.raises(G.DtypeError, match="float32, got a float16 array"):
        G.let(x, np.ones(3, np.float16))
    assert x.value.dtype == np.float32


def test_an_op_refused_for_float16_names_itself_and_its_inputs():
    g = G.Graph()
    x = G.vector(g, G.Float32, 3, name="x")
    with pytest.raises(G.DtypeError, match=r"op r10b_halve \(inputs: 'x' \(3,\) float32\) would make a float16 node"):
        G.apply(Halve(), x)


def graph_and_node():
    g = G.Graph()
    return g, G.vector(g, G.Float64, 2, name="x", value=np.ones(2))


BAD = {
    "TapeMachine(None)": (lambda g, x: G.TapeMachine(None), TypeError, "needs a G.Graph, got NoneType"),
    "LispMachine(None)": (lambda g, x: G.LispMachine(None), TypeError, "needs a G.Graph"),
    "compile(None)": (lambda g, x: G.compile(None), TypeError, "needs a G.Graph"),
    "outputs=node": (lambda g, x: G.TapeMachine(g, outputs=x), TypeError, "outputs must be a list of nodes"),
    "outputs=[1]": (lambda g, x: G.TapeMachine(g, outputs=[1]), TypeError, "outputs must be nodes, got int"),
    "outputs other graph": (lambda g, x: G.TapeMachine(G.Graph(), outputs=[x]), ValueError,
                            "outputs node 'x' belongs to another graph"),
    "keep=[1]": (lambda g, x: G.TapeMachine(g, keep=["x"]), TypeError, "keep must be nodes"),
    "inputs=x": (lambda g, x: G.TapeMachine(g, inputs=x), TypeError, "inputs must be a list of nodes"),
    "passes=5": (lambda g, x: G.TapeMachine(g, passes=5), TypeError, "passes must be a list"),
    "passes='fold'": (lambda g, x: G.TapeMachine(g, passes="fold"), TypeError, "passes must be a list"),
    "passes unknown": (lambda g, x: G.TapeMachine(g, passes=["fast"]), ValueError, "unknown compile passes"),
    "compile passes": (lambda g, x: G.compile(g, passes=["fast"]), ValueError, "unknown compile passes"),
    "compile outputs": (lambda g, x: G.compile(g, outputs=[3]), TypeError, "outputs must be nodes"),
    "training": (lambda g, x: G.TapeMachine(g, training="yes"), TypeError, "training must be True, False or None"),
    "lisp training": (lambda g, x: G.LispMachine(g, training=1), TypeError, "training must be"),
    "trace": (lambda g, x: G.TapeMachine(g, trace=5), TypeError, "trace must be a bool or a callable"),
    "lisp wrt=node": (lambda g, x: G.LispMachine(g, wrt=x), TypeError, "wrt must be a list of nodes"),
    "lisp outputs": (lambda g, x: G.LispMachine(g, outputs=[None]), TypeError, "outputs must be nodes"),
    "lisp both": (lambda g, x: G.LispMachine(g, forward_only=True, backward_only=True), ValueError,
                  "exclude each other"),
    "function machine": (lambda g, x: G.function(lambda a: a, machine=object), TypeError,
                         "machine must be G.TapeMachine or G.LispMachine"),
    "grad cost": (lambda g, x: G.grad("cost", x), TypeError, "cost must be a node"),
    "grad wrt": (lambda g, x: G.grad(G.sum(x), "x"), TypeError, "wrt must be nodes"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_machine_and_compile_arguments_are_gorgon_argument_errors(case):
    build, kind, message = BAD[case]
    family = G.ArgumentTypeError if kind is TypeError else G.ArgumentValueError
    g, x = graph_and_node()
    with pytest.raises(family, match=message) as caught:
        build(g, x)
    assert isinstance(caught.value, G.GorgonError) and isinstance(caught.value, kind)
