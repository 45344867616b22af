"""gorgon_onnx: ONNX models in and out of gorgon.

`load(path)` imports a model as an ordinary gorgon graph whose initializers are
trainable parameters (so it can be fine-tuned with G.grad and a solver);
`export(outputs, path)` writes the nodes some outputs need as an ONNX model, and
`export(model, path, input_shape=...)` a gorgon_layers model with a dynamic batch axis.
"""

from gorgon_onnx.errors import OnnxError, UnsupportedError
from gorgon_onnx.export import export
from gorgon_onnx.load import OnnxModel, load

__all__ = ["OnnxError", "OnnxModel", "UnsupportedError", "export", "load"]
