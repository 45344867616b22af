"""gorgon-ops-example: swish, bent_identity and polynomial ops for gorgon (see plugin.py)."""
