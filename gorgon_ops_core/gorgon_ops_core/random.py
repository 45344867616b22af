"""Random nodes: a fresh draw on every run, from a generator seeded per node
(`seed=`) or from fresh entropy. They are impure: never merged or folded."""

import numpy as np

import gorgon as G
from gorgon import Op, TensorType
from gorgon.dtypes import Float64
from gorgon.infer import check_seed, integer, random_spec, real


class RandomOp(Op):
    """Base of random ops: built with a graph and a shape, no inputs."""

    pure = False

    @classmethod
    def call(cls, graph, shape, dtype=Float64, seed=None, **params):
        dims, dtype = random_spec(cls.name, graph, shape, dtype)
        seed = check_seed(cls.name, seed)
        op = cls(shape=dims, dtype=dtype, seed=seed, **params)
        op.generator = np.random.default_rng(seed)
        return G.apply(op, graph=graph)

    def infer(self):
        return TensorType(self.shape, self.dtype)

    def forward(self, out=None):
        if out is None:
            out = np.empty(self.shape, self.dtype)
        self.draw(out)
        return out


class Uniform(RandomOp):
    """`uniform(graph, shape, dtype=Float64, seed=None, low=0.0, high=1.0)`."""

    name = "uniform"

    @classmethod
    def call(cls, graph, shape, dtype=Float64, seed=None, low=0.0, high=1.0):
        low, high = real(cls.name, "low", low), real(cls.name, "high", high)
        if not low < high:
            raise G.ArgumentValueError(f"uniform: low {low} must be below high {high}")
        return super().call(graph, shape, dtype, seed, low=low, high=high)

    def draw(self, out):
        self.generator.random(out=out, dtype=out.dtype)
        out *= self.high - self.low
        out += self.low


class Gaussian(RandomOp):
    """`gaussian(graph, shape, dtype=Float64, seed=None, mean=0.0, std=1.0)`."""

    name = "gaussian"

    @classmethod
    def call(cls, graph, shape, dtype=Float64, seed=None, mean=0.0, std=1.0):
        mean, std = real(cls.name, "mean", mean), real(cls.name, "std", std)
        if std < 0:
            raise G.ArgumentValueError(f"gaussian: std {std} must not be negative")
        return super().call(graph, shape, dtype, seed, mean=mean, std=std)

    def draw(self, out):
        self.generator.standard_normal(out=out, dtype=out.dtype)
        out *= self.std
        out += self.mean


class Binomial(RandomOp):
    """`binomial(graph, shape, dtype=Float64, seed=None, trials=1, prob=0.5)`: counts of
    successes as floats (a Bernoulli mask with the defaults, as dropout needs)."""

    name = "binomial"

    @classmethod
    def call(cls, graph, shape, dtype=Float64, seed=None, trials=1, prob=0.5):
        trials, prob = integer(cls.name, "trials", trials), real(cls.name, "prob", prob)
        if not 0.0 <= prob <= 1.0 or trials < 0:
            raise G.ArgumentValueError(f"binomial: needs 0 <= prob <= 1 and trials >= 0, got {prob}, {trials}")
        return super().call(graph, shape, dtype, seed, trials=trials, prob=prob)

    def draw(self, out):
        out[...] = self.generator.binomial(self.trials, self.prob, out.shape)


OPS = [Uniform, Gaussian, Binomial]
