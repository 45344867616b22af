"""The seed example: build a graph, differentiate it symbolically, run it on both machines."""

import numpy as np

import gorgon as G


def main() -> None:
    rng = np.random.default_rng(0)
    g = G.Graph()
    x = G.matrix(g, G.Float64, shape=(5, 5), name="x")
    w = G.vector(g, G.Float64, shape=(5,), name="w")
    xw = G.matmul(x, w)
    act = G.sigmoid(xw)
    cost = G.sum(act)
    (dw,) = G.grad(cost, w)

    prog, locmap = G.compile(g)
    print(prog)

    m = G.TapeMachine(g)
    G.let(x, rng.random((5, 5)))
    G.let(w, rng.random(5))
    m.run_all()
    print("TapeMachine  cost:", cost.value)
    print("TapeMachine  dw:  ", dw.value)
    m.reset()

    lm = G.LispMachine(g)
    lm.run_all()
    print("LispMachine  cost:", cost.value)
    print("LispMachine  w.grad:", w.grad)


if __name__ == "__main__":
    main()
