"""The nn plugin as installed: its entry point, what it registers, its samples, and its
public module."""

import subprocess
import sys

from gorgon.registry import registry
from gorgon.testing import require_samples

OPS = {
    "leaky_relu", "elu", "gelu", "gelu_grad", "softmax", "softmax_grad", "log_softmax",
    "log_softmax_grad", "logsumexp", "cross_entropy", "cross_entropy_grad", "mse_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "dropout", "dropout_mask",
    "batch_norm", "batch_norm_grad", "batch_norm_scale_grad", "layer_norm", "layer_norm_grad",
    "layer_norm_scale_grad", "embedding", "mode_switch",
    "silu", "mish", "hardswish", "selu", "softsign", "huber_loss", "smooth_l1_loss", "kl_div",
    "one_hot", "sparsemax", "group_norm", "instance_norm",
    "ctc_loss", "ctc_loss_grad", "nll_loss", "class_coefficients",
}
SOLVERS = {"SGD", "Momentum", "Adam", "AdamW", "RMSProp", "AdaGrad", "AdaDelta", "BarzilaiBorwein"}
INITIALIZERS = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "gaussian", "uniform",
                "zeros", "ones"}


def test_the_entry_point_nn_registers_everything_without_error():
    registry.load()
    info = registry.plugins["nn"]
    assert (info.distribution, info.error) == ("gorgon-ops-nn", None)
    assert set(info.ops) == OPS
    assert set(info.solvers) == SOLVERS
    assert set(info.initializers) == INITIALIZERS


def test_every_nn_op_has_valid_samples():
    require_samples(sorted(OPS))


def test_the_public_module_offers_save_load_and_the_solver_base(tmp_path):
    script = ("import gorgon_ops_nn as nn; from gorgon_ops_nn import checkpoint, solvers; "
              "assert nn.save is checkpoint.save and nn.load is checkpoint.load; "
              "assert nn.Solver is solvers.Solver; print(nn.__version__)")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.1.0"
