"""The `numba` backend's registrations: the fused-kernel generator, one-pass kernels and
solver update kernels."""

import gorgon as G
from gorgon_numba.columns import make_col2im, make_im2col
from gorgon_numba.conv import make_conv_transpose
from gorgon_numba.conv2d import make_conv2d, make_conv2d_grad_weight
from gorgon_numba.fused import make_fused
from gorgon_numba.loop import make_loop
from gorgon_numba.losses import make_cross_entropy, make_cross_entropy_grad
from gorgon_numba.norms import make_batch_norm, make_batch_norm_grad, make_batch_norm_scale_grad
from gorgon_numba.pool import make_max_pool, make_max_pool_grad
from gorgon_numba.solvers import SOLVERS
from gorgon_numba.sums import make_sum
from gorgon_numba.rows import make_layer_norm, make_log_softmax, make_softmax


@G.hookimpl
def register_kernels(register):
    register("fused", "numba", make_fused)
    register("scan_loop", "numba", make_loop)
    register("softmax", "numba", make_softmax)
    register("log_softmax", "numba", make_log_softmax)
    register("layer_norm", "numba", make_layer_norm)
    register("sum", "numba", make_sum)
    register("max_pool2d", "numba", make_max_pool)
    register("max_pool2d_grad", "numba", make_max_pool_grad)
    register("im2col", "numba", make_im2col)
    register("col2im", "numba", make_col2im)
    register("conv2d", "numba", make_conv2d)
    register("conv2d_grad_weight", "numba", make_conv2d_grad_weight)
    register("conv_transpose2d", "numba", make_conv_transpose)
    register("cross_entropy", "numba", make_cross_entropy)
    register("cross_entropy_grad", "numba", make_cross_entropy_grad)
    register("batch_norm", "numba", make_batch_norm)
    register("batch_norm_grad", "numba", make_batch_norm_grad)
    register("batch_norm_scale_grad", "numba", make_batch_norm_scale_grad)
    for name, make in SOLVERS.items():
        register(f"solver_{name}", "numba", make)
