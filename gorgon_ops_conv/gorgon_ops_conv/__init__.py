"""gorgon plugin with the convolutional ops (NCHW, float32 and float64): im2col and
col2im, conv2d and conv_transpose2d, max/average/global pooling and nearest
upsampling, each with its gradient rule."""

__version__ = "0.1.0"
