"""gorgon-numba: the `numba` kernel backend. Use it with
`G.TapeMachine(g, backends=("numba", "numpy"))` or `GORGON_BACKENDS=numba`."""
