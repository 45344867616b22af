"""gorgon-ops-example: swish, bent_identity, polynomial and weighted_mean ops for gorgon
(see plugin.py)."""
