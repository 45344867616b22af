"""Every solver against a textbook implementation written here: several steps on a
quadratic with a known gradient, comparing the parameters after each step."""

import numpy as np
import pytest

import gorgon as G
from nn_helpers import MACHINES

rng = np.random.default_rng(8)
CURVATURE = [rng.uniform(0.5, 2.0, (3, 2)), rng.uniform(0.5, 2.0, 2)]
LINEAR = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
START = [rng.standard_normal((3, 2)), rng.standard_normal(2)]
STEPS = 6


def gradient(ws):
    """d/dw of sum(0.5 * a * w^2 + c * w): a * w + c."""
    return [a * w + c for a, c, w in zip(CURVATURE, LINEAR, ws)]


def sgd(ws, gs, state, t, lr):
    for w, g in zip(ws, gs):
        w -= lr * g


def momentum(ws, gs, state, t, lr, mu, nesterov):
    velocities = state.setdefault("v", [np.zeros_like(w) for w in ws])
    for w, g, v in zip(ws, gs, velocities):
        v[...] = mu * v + g
        w -= lr * (g + mu * v if nesterov else v)


def adam(ws, gs, state, t, lr, b1=0.9, b2=0.999, eps=1e-8, decay=0.0):
    ms = state.setdefault("m", [np.zeros_like(w) for w in ws])
    vs = state.setdefault("v", [np.zeros_like(w) for w in ws])
    for w, g, m, v in zip(ws, gs, ms, vs):
        w -= lr * decay * w
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)


def rmsprop(ws, gs, state, t, lr, rho, eps=1e-8):
    averages = state.setdefault("s", [np.zeros_like(w) for w in ws])
    for w, g, s in zip(ws, gs, averages):
        s[...] = rho * s + (1 - rho) * g * g
        w -= lr * g / (np.sqrt(s) + eps)


def adagrad(ws, gs, state, t, lr, eps=1e-8):
    sums = state.setdefault("s", [np.zeros_like(w) for w in ws])
    for w, g, s in zip(ws, gs, sums):
        s += g * g
        w -= lr * g / (np.sqrt(s) + eps)


def adadelta(ws, gs, state, t, lr, rho, eps):
    averages = state.setdefault("s", [np.zeros_like(w) for w in ws])
    updates = state.setdefault("u", [np.zeros_like(w) for w in ws])
    for w, g, s, u in zip(ws, gs, averages, updates):
        s[...] = rho * s + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(s + eps) * g
        u[...] = rho * u + (1 - rho) * delta * delta
        w -= lr * delta


def barzilai_borwein(ws, gs, state, t, lr):
    if t == 1:
        eta = lr
    else:
        dw = np.concatenate([(w - p).ravel() for w, p in zip(ws, state["w"])])
        dg = np.concatenate([(g - p).ravel() for g, p in zip(gs, state["g"])])
        eta = abs(dw @ dg) / (dg @ dg)
    state["w"] = [w.copy() for w in ws]
    state["g"] = [g.copy() for g in gs]
    for w, g in zip(ws, gs):
        w -= eta * g


def regularised(rule, l1=0.0, l2=0.0, clip_value=None, clip_norm=None):
    def step(ws, gs, state, t, **hyper):
        if clip_norm is not None:
            norm = np.sqrt(sum(np.sum(g * g) for g in gs))
            gs = [g * min(1.0, clip_norm / norm) for g in gs]
        if clip_value is not None:
            gs = [np.clip(g, -clip_value, clip_value) for g in gs]
        gs = [g + l2 * w + l1 * np.sign(w) for g, w in zip(gs, ws)]
        rule(ws, gs, state, t, **hyper)

    return step


CASES = {
    "SGD": ({"learning_rate": 0.1}, sgd, {"lr": 0.1}),
    "Momentum": ({"learning_rate": 0.05, "momentum": 0.8}, momentum,
                 {"lr": 0.05, "mu": 0.8, "nesterov": False}),
    "Nesterov": ({"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}, momentum,
                 {"lr": 0.05, "mu": 0.8, "nesterov": True}),
    "Adam": ({"learning_rate": 0.05}, adam, {"lr": 0.05}),
    "AdamW": ({"learning_rate": 0.05, "weight_decay": 0.1, "beta1": 0.8}, adam,
              {"lr": 0.05, "decay": 0.1, "b1": 0.8}),
    "RMSProp": ({"learning_rate": 0.01, "rho": 0.8}, rmsprop, {"lr": 0.01, "rho": 0.8}),
    "AdaGrad": ({"learning_rate": 0.1}, adagrad, {"lr": 0.1}),
    "AdaDelta": ({"learning_rate": 0.5, "rho": 0.9, "eps": 1e-4}, adadelta,
                 {"lr": 0.5, "rho": 0.9, "eps": 1e-4}),
    "BarzilaiBorwein": ({"learning_rate": 0.05}, barzilai_borwein, {"lr": 0.05}),
    "SGD+l1+l2": ({"learning_rate": 0.1, "l1": 0.05, "l2": 0.2}, regularised(sgd, l1=0.05, l2=0.2),
                  {"lr": 0.1}),
    "SGD+clips": ({"learning_rate": 0.1, "clip_value": 0.4, "clip_norm": 1.5},
                  regularised(sgd, clip_value=0.4, clip_norm=1.5), {"lr": 0.1}),
    "Adam+l2+clip": ({"learning_rate": 0.05, "l2": 0.1, "clip_norm": 0.5},
                     regularised(adam, l2=0.1, clip_norm=0.5), {"lr": 0.05}),
}


def quadratic():
    g = G.Graph()
    w = G.matrix(g, G.Float64, (3, 2), name="w", value=START[0].copy())
    b = G.vector(g, G.Float64, 2, name="b", value=START[1].copy())
    cost = sum(G.sum(0.5 * a * p * p + c * p) for p, a, c in zip((w, b), CURVATURE, LINEAR))
    return g, cost, [w, b]


def machine_for(kind, g, cost, params):
    if kind == "tape":
        return G.TapeMachine(g, outputs=[cost, *G.grad(cost, *params)])
    return G.LispMachine(g, cost=cost, wrt=params)


@pytest.mark.parametrize("kind", MACHINES)
@pytest.mark.parametrize("case", CASES)
def test_solver_follows_the_textbook(case, kind):
    options, rule, hyper = CASES[case]
    name = case.split("+")[0].replace("Nesterov", "Momentum")
    g, cost, params = quadratic()
    solver = getattr(G.solvers, name)(params=params, **options)
    machine = machine_for(kind, g, cost, params)
    expected = [w.copy() for w in START]
    state: dict = {}
    for t in range(1, STEPS + 1):
        machine.run_all()
        solver.step()
        rule(expected, gradient(expected), state, t, **hyper)
        for node, want in zip(params, expected):
            np.testing.assert_allclose(node.value, want, rtol=1e-10, atol=1e-12)
