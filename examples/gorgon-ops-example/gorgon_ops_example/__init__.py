"""gorgon-ops-example: swish, mish and polynomial ops for gorgon (see plugin.py)."""
