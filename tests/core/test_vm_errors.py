"""Runtime errors on both machines: NaN/Inf watching, kernel failures with context,
and machines that stay usable after a failed run."""

import numpy as np
import pytest

import gorgon as G
from gorgon.errors import ExecutionError, InfError, NaNError
from gorgon.infer import elementwise

MACHINES = [G.TapeMachine, G.LispMachine]

pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")


class Fragile(G.Op):
    """Doubles its input; the kernel raises on negative values."""

    name = "test_fragile"

    def infer(self, x):
        return elementwise(self, x)

    def forward(self, x, out=None):
        if (x < 0).any():
            raise ValueError("negative input")
        return np.multiply(x, 2.0, out=out)

    def vjp(self, inputs, output, gy):
        return (gy * 2.0,)


@pytest.mark.parametrize("machine", MACHINES)
def test_watch_nan_names_the_first_node_that_made_one(machine):
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.array([1.0, -1.0]))
    root = G.sqrt(x)
    later = root * 2.0
    machine(g).run_all()
    assert np.isnan(later.value[1])
    expected = rf"NaN in the value of node '{root.name}' \(sqrt\), built at .*test_vm_errors.py"
    with pytest.raises(NaNError, match=expected):
        machine(g, watch_nan=True).run_all()


@pytest.mark.parametrize("machine", MACHINES)
def test_watch_inf_names_the_first_node_that_made_one(machine):
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.array([1.0, 0.0]))
    inverse = 1.0 / x
    difference = inverse - inverse
    with pytest.raises(InfError, match=rf"infinity in the value of node '{inverse.name}' \(div\)"):
        machine(g, watch_inf=True).run_all()
    with pytest.raises(NaNError, match=rf"node '{difference.name}' \(sub\)"):
        machine(g, watch_nan=True).run_all()


@pytest.mark.parametrize("machine", MACHINES)
def test_a_kernel_failure_names_node_op_input_shapes_and_origin(machine):
    g = G.Graph()
    x = G.vector(g, G.Float64, (3,), name="x", value=np.array([1.0, -2.0, 3.0]))
    y = G.apply(Fragile(), x)
    with pytest.raises(ExecutionError) as info:
        machine(g).run_all()
    message = str(info.value)
    for part in (f"node '{y.name}'", "op test_fragile", "ValueError: negative input",
                 "'x' (3,) float64", "built at "):
        assert part in message
    assert message.split("built at ")[1].startswith(__file__)
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize("machine", MACHINES)
@pytest.mark.parametrize("watch", [False, True])
def test_after_a_failed_run_fixing_the_input_and_running_again_works(machine, watch):
    g = G.Graph()
    x = G.vector(g, G.Float64, (2,), name="x", value=np.array([1.0, -2.0]))
    y = G.apply(Fragile(), x)
    cost = G.exp(y)
    kept = {"keep": [y]} if machine is G.TapeMachine else {}
    m = machine(g, watch_nan=watch, **kept)
    with pytest.raises(ExecutionError):
        m.run_all()
    assert y.value is None
    G.let(x, np.array([1.0, 2.0]))
    m.run_all()
    assert y.value.tolist() == [2.0, 4.0]
    np.testing.assert_allclose(cost.value, np.exp([2.0, 4.0]))
    m.reset()
    x.value[1] = -1.0
    with pytest.raises(ExecutionError):
        m.run_all()
    x.value[1] = 0.5
    m.run_all()
    assert y.value.tolist() == [2.0, 1.0]


@pytest.mark.parametrize("machine", MACHINES)
def test_after_a_nan_the_machine_runs_again(machine):
    g = G.Graph()
    x = G.scalar(g, G.Float64, name="x", value=-1.0)
    y = G.log(x)
    m = machine(g, watch_nan=True)
    with pytest.raises(NaNError):
        m.run_all()
    G.let(x, np.e)
    m.run_all()
    assert y.value == pytest.approx(1.0)
