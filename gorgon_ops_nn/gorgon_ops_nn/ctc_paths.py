"""The forward-backward (alpha-beta) algorithm of connectionist temporal classification
(Graves et al., 2006) on numpy arrays, in log space and vectorised over the batch.

Each target l (length S) is extended with blanks to l' = (blank, l1, blank, l2, ...,
lS, blank) of length 2S + 1. alpha[t, n, s] is the log-probability of the paths through
the first t + 1 frames that end at l'_s, beta[t, n, s] that of the paths from frame t on
that start at l'_s (both include frame t's emission)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gorgon import ArgumentValueError


def padded_targets(targets: np.ndarray, lengths: np.ndarray, blank: int) -> np.ndarray:
    """Targets as (N, S): a padded (N, S) array as is, a 1-D concatenation split by
    `lengths`; padding holds the blank."""
    if targets.ndim == 2:
        return targets
    result = np.full((lengths.size, int(lengths.max(initial=0))), blank, targets.dtype)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)
    for n, (start, length) in enumerate(zip(starts, lengths)):
        result[n, :length] = targets[start:start + length]
    return result


def check_lengths(frames: int, classes: int, targets: np.ndarray, input_lengths: np.ndarray,
                  target_lengths: np.ndarray, blank: int) -> None:
    """ValueErrors for lengths or labels the log-probabilities and targets cannot hold."""
    if input_lengths.size and (input_lengths.min() < 1 or input_lengths.max() > frames):
        raise ArgumentValueError(f"ctc_loss: input lengths must lie in [1, {frames}], "
                                 f"got {input_lengths.tolist()}")
    limit = targets.shape[1] if targets.ndim == 2 else targets.size
    if target_lengths.size and (target_lengths.min() < 0 or target_lengths.max() > limit
                                or (targets.ndim == 1 and target_lengths.sum() != targets.size)):
        raise ArgumentValueError(f"ctc_loss: target lengths {target_lengths.tolist()} do not fit "
                                 f"targets of shape {targets.shape}")
    padded = padded_targets(targets, target_lengths, blank)
    used = np.arange(padded.shape[1]) < target_lengths[:, None]
    labels = padded[used]
    if labels.size and (labels.min() < 0 or labels.max() >= classes or (labels == blank).any()):
        raise ArgumentValueError(f"ctc_loss: target labels must lie in [0, {classes}) and differ "
                                 f"from the blank {blank}")


@dataclass
class Lattice:
    """The extended labels of a batch and the log-probabilities along them."""

    extended: np.ndarray
    emissions: np.ndarray
    skips: np.ndarray
    ends: np.ndarray
    last_frames: np.ndarray

    @classmethod
    def of(cls, log_probs: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray,
           target_lengths: np.ndarray, blank: int) -> Lattice:
        padded = padded_targets(targets, target_lengths, blank)
        n = log_probs.shape[1]
        extended = np.full((n, 2 * padded.shape[1] + 1), blank, np.intp)
        extended[:, 1::2] = padded
        emissions = log_probs[:, np.arange(n)[:, None], extended]
        skips = np.zeros(extended.shape, bool)
        skips[:, 2:] = (extended[:, 2:] != blank) & (extended[:, 2:] != extended[:, :-2])
        return cls(extended, emissions, skips, 2 * target_lengths.astype(np.intp),
                   input_lengths.astype(np.intp) - 1)

    def alpha(self) -> np.ndarray:
        emissions = self.emissions
        alpha = np.full(emissions.shape, -np.inf, emissions.dtype)
        alpha[0, :, :2] = emissions[0, :, :2]
        for t in range(1, emissions.shape[0]):
            alpha[t] = arrivals(alpha[t - 1], self.skips) + emissions[t]
        return alpha

    def beta(self) -> np.ndarray:
        emissions = self.emissions
        beta = np.full(emissions.shape, -np.inf, emissions.dtype)
        rows = np.arange(emissions.shape[1])
        next_skips = np.zeros(self.skips.shape, bool)
        next_skips[:, :-2] = self.skips[:, 2:]
        for t in range(emissions.shape[0] - 1, -1, -1):
            if t + 1 < emissions.shape[0]:
                beta[t] = departures(beta[t + 1], next_skips) + emissions[t]
            last = rows[self.last_frames == t]
            ends = self.ends[last]
            beta[t, last] = -np.inf
            beta[t, last, ends] = emissions[t, last, ends]
            before = ends >= 1
            beta[t, last[before], ends[before] - 1] = emissions[t, last[before], ends[before] - 1]
        return beta

    def log_likelihood(self, alpha: np.ndarray) -> np.ndarray:
        """log p(target | input) per example."""
        rows = np.arange(alpha.shape[1])
        final = alpha[self.last_frames, rows]
        last = final[rows, self.ends]
        before = np.where(self.ends >= 1, final[rows, np.maximum(self.ends - 1, 0)], -np.inf)
        return np.logaddexp(last, before)

    def nll(self) -> np.ndarray:
        """-log p(target | input) per example."""
        return -self.log_likelihood(self.alpha())

    def nll_gradient(self, classes: int) -> tuple[np.ndarray, np.ndarray]:
        """(-log p per example, its gradient wrt the log-probabilities (T, N, C))."""
        alpha, beta = self.alpha(), self.beta()
        likelihood = self.log_likelihood(alpha)
        with np.errstate(invalid="ignore"):
            occupancy = np.exp(alpha + beta - self.emissions - likelihood[None, :, None])
        occupancy[np.isnan(occupancy)] = 0.0
        labels = np.zeros(self.extended.shape + (classes,), occupancy.dtype)
        np.put_along_axis(labels, self.extended[..., None], 1.0, -1)
        return -likelihood, -np.einsum("tns,nsc->tnc", occupancy, labels)


def arrivals(previous: np.ndarray, skips: np.ndarray) -> np.ndarray:
    """log of the paths arriving at each s from s, s - 1 and (where allowed) s - 2."""
    result = previous.copy()
    np.logaddexp(result[:, 1:], previous[:, :-1], out=result[:, 1:])
    jump = np.full(previous.shape, -np.inf, previous.dtype)
    jump[:, 2:] = previous[:, :-2]
    return np.logaddexp(result, np.where(skips, jump, -np.inf))


def departures(following: np.ndarray, next_skips: np.ndarray) -> np.ndarray:
    """log of the paths leaving each s to s, s + 1 and (where allowed) s + 2."""
    result = following.copy()
    np.logaddexp(result[:, :-1], following[:, 1:], out=result[:, :-1])
    jump = np.full(following.shape, -np.inf, following.dtype)
    jump[:, :-2] = following[:, 2:]
    return np.logaddexp(result, np.where(next_skips, jump, -np.inf))
