"""The import table: ONNX operator type -> importer `(ctx, *args) -> node(s)`, one
short function per operator (see gorgon_onnx.load.Context for what `ctx` offers)."""

from gorgon_onnx.importers import math, nn, rnn, shape

TABLE = {**math.TABLE, **shape.TABLE, **nn.TABLE, **rnn.TABLE}
