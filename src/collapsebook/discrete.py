"""Chapter 1: a categorical law refitted to its own samples. The fit is exact (empirical frequencies), so the
only error is the sampling error, and the chain is absorbed in a delta distribution (Wright-Fisher drift).

Arrays of probabilities have the state on their last axis; leading axes are independent chains.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_int, check_probabilities
from .loop import Family


def counts(samples, n_states: int) -> np.ndarray:
    """How often each state occurs along the last axis of integer ``samples``: shape ``(..., n_states)``."""
    samples = np.asarray(samples)
    n_states = check_int("n_states", n_states, 1)
    if samples.size and (samples.min() < 0 or samples.max() >= n_states):
        raise ValueError(f"samples must be states in [0, {n_states - 1}]")
    rows = samples.reshape(-1, samples.shape[-1])
    offsets = np.arange(rows.shape[0])[:, None] * n_states
    flat = np.bincount((rows + offsets).ravel(), minlength=rows.shape[0] * n_states)
    return flat.reshape(samples.shape[:-1] + (n_states,))


def fit(samples, n_states: int) -> np.ndarray:
    """The maximum-likelihood (and unbiased) fit: the empirical frequencies of ``samples``."""
    samples = np.asarray(samples)
    if samples.shape[-1] < 1:
        raise ValueError("samples must hold at least one sample along the last axis")
    return counts(samples, n_states) / samples.shape[-1]


def sample(p, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples from each law in ``p`` (inverse CDF): integer array of shape ``p.shape[:-1] + (n,)``."""
    p = check_probabilities("p", p)
    n = check_int("n", n, 1)
    cdf = np.cumsum(p, axis=-1)
    u = rng.random(p.shape[:-1] + (n,))
    states = (u[..., None] >= cdf[..., None, :]).sum(axis=-1)
    states = np.minimum(states, p.shape[-1] - 1)  # guards against cdf[-1] rounding below 1
    return states.astype(np.min_scalar_type(p.shape[-1] - 1))


def family(n_states: int) -> Family:
    """The categorical family for :func:`collapsebook.loop.run` (data: integer samples, model ``{"p": ...}``)."""
    n_states = check_int("n_states", n_states, 1)
    return Family(
        fit=lambda data, rng: {"p": fit(data, n_states)},
        sample=lambda model, n, rng: sample(model["p"], n, rng),
    )


def resample(p, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """One generation of the replace loop at once: draw ``n_samples`` points from ``p`` and refit.

    Drawing the counts from a multinomial gives the same law as :func:`sample` then :func:`fit`, vectorised
    over every chain in the leading axes.
    """
    p = check_probabilities("p", p)
    n_samples = check_int("n_samples", n_samples, 1)
    return rng.multinomial(n_samples, p) / n_samples


def trajectories(q, n_samples: int, n_generations: int, n_chains: int, rng: np.random.Generator) -> np.ndarray:
    """Fitted laws of ``n_chains`` independent replace chains from ``q``: shape ``(n_generations + 1, n_chains, K)``."""
    q = check_probabilities("q", q)
    n_generations = check_int("n_generations", n_generations, 0)
    p = np.broadcast_to(q, (check_int("n_chains", n_chains, 1), q.size)).copy()
    out = [p]
    for _ in range(n_generations):
        p = resample(p, n_samples, rng)
        out.append(p)
    return np.stack(out)


def absorption(q, n_samples: int, n_chains: int, rng: np.random.Generator, max_generations: int = 1_000_000):
    """Run ``n_chains`` replace chains from ``q`` until each is a delta distribution.

    Returns ``(state, time)``: the state each chain was absorbed in and the generation it happened at.
    Only the chains not yet absorbed are simulated, so the cost falls as chains finish.
    """
    q = check_probabilities("q", q)
    n_chains = check_int("n_chains", n_chains, 1)
    state = np.full(n_chains, -1)
    time = np.zeros(n_chains, dtype=np.int64)
    alive = np.arange(n_chains)
    p = np.broadcast_to(q, (n_chains, q.size)).copy()
    for g in range(1, check_int("max_generations", max_generations, 1) + 1):
        if alive.size == 0:
            break
        p = resample(p, n_samples, rng)
        done = p.max(axis=-1) == 1.0
        state[alive[done]] = p[done].argmax(axis=-1)
        time[alive[done]] = g
        alive, p = alive[~done], p[~done]
    if alive.size:
        raise RuntimeError(f"{alive.size} chains were not absorbed within max_generations={max_generations}")
    return state, time


def miss_probability(q, n_samples: int) -> np.ndarray:
    """Probability that a state of probability ``q`` gets no sample among ``n_samples``: ``(1 - q) ** M``."""
    return (1.0 - np.asarray(q, dtype=float)) ** check_int("n_samples", n_samples, 1)


def expected_absorption_time(q, n_samples: int) -> float:
    """Diffusion approximation of the mean absorption time (Littler 1975): ``-2M * sum (1-q_k) log(1-q_k)``.

    Accurate to ``O(1/M)`` relative error; it grows linearly in the sample size ``M``.
    """
    q = check_probabilities("q", q)
    terms = np.where(q < 1.0, (1.0 - q) * np.log(np.where(q < 1.0, 1.0 - q, 1.0)), 0.0)
    return float(-2.0 * check_int("n_samples", n_samples, 1) * terms.sum())
