"""gorgon plugin with the core ops: arithmetic, elementwise math, linear algebra,
reductions, shape ops, indexing and random nodes."""

__version__ = "0.1.0"
