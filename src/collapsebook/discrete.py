"""Chapter 1: a categorical law refitted to its own samples. The fit is exact (empirical frequencies), so the
only error is the sampling error, and the chain is absorbed in a delta distribution (Wright-Fisher drift).

Arrays of probabilities have the state on their last axis; leading axes are independent chains. Generation 0
fits the ``M`` points drawn from the original law ``q``; the paper numbers the fits from 1 (its ``n = g + 1``).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_int, check_probabilities, check_rng, check_unit_interval
from .loop import Family


def counts(samples, n_states: int) -> np.ndarray:
    """How often each state occurs along the last axis of integer ``samples``: shape ``(..., n_states)``."""
    samples = _check_samples(samples)
    n_states = check_int("n_states", n_states, 1)
    if samples.size and (samples.min() < 0 or samples.max() >= n_states):
        raise ValueError(f"samples must be states in [0, {n_states - 1}]")
    rows = samples.reshape(int(np.prod(samples.shape[:-1])), samples.shape[-1]).astype(np.intp, copy=False)
    offsets = np.arange(rows.shape[0])[:, None] * n_states
    flat = np.bincount((rows + offsets).ravel(), minlength=rows.shape[0] * n_states)
    return flat.reshape(samples.shape[:-1] + (n_states,))


def _check_samples(samples) -> np.ndarray:
    """``samples`` as an integer array with the samples on its last axis, or a clear error."""
    samples = np.asarray(samples)
    if samples.ndim == 0:
        raise ValueError("samples must be an array with the samples on its last axis, got a scalar")
    if samples.size and not np.issubdtype(samples.dtype, np.integer):
        raise TypeError(f"samples must be integer states (0, 1, ...), got dtype {samples.dtype}")
    return samples


def fit(samples, n_states: int) -> np.ndarray:
    """The maximum-likelihood (and unbiased) fit: the empirical frequencies of ``samples``."""
    samples = _check_samples(samples)
    if samples.shape[-1] < 1:
        raise ValueError("samples must hold at least one sample along the last axis")
    return counts(samples, n_states) / samples.shape[-1]


def sample(p, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples from each law in ``p`` (inverse CDF): integer array of shape ``p.shape[:-1] + (n,)``."""
    p = check_probabilities("p", p)
    n = check_int("n", n, 1)
    check_rng("rng", rng)
    cdf = np.cumsum(p, axis=-1)
    u = rng.random(p.shape[:-1] + (n,))
    states = (u[..., None] >= cdf[..., None, :]).sum(axis=-1)
    states = np.minimum(states, p.shape[-1] - 1)  # guards against cdf[-1] rounding below 1
    return states.astype(np.min_scalar_type(p.shape[-1] - 1))


def family(n_states: int) -> Family:
    """The categorical family for :func:`collapsebook.loop.run` (data: integer samples on the last axis, model
    ``{"p": ...}``). Its running statistics are the counts of each state, so ``policy="accumulate"`` adds each
    new block's counts and never keeps the pool (same fit, exactly)."""
    n_states = check_int("n_states", n_states, 1)
    return Family(
        fit=lambda data, rng: {"p": fit(data, n_states)},
        sample=lambda model, n, rng: sample(model["p"], n, rng),
        update=lambda total, block: _add_counts(total, block, n_states),
        fit_state=lambda total, rng: {"p": total / total.sum(axis=-1, keepdims=True)},
    )


def _add_counts(total, block, n_states: int) -> np.ndarray:
    """``total`` (None before the first block) plus the counts of each state in ``block``."""
    block_counts = counts(block, n_states)
    return block_counts if total is None else total + block_counts


def resample(p, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """One generation of the replace loop at once: draw ``n_samples`` points from ``p`` and refit.

    Drawing the counts from a multinomial gives the same law as :func:`sample` then :func:`fit`, vectorised
    over every chain in the leading axes.
    """
    p = check_probabilities("p", p)
    n_samples = check_int("n_samples", n_samples, 1)
    return check_rng("rng", rng).multinomial(n_samples, p) / n_samples


def trajectories(q, n_samples: int, n_generations: int, n_chains: int, rng: np.random.Generator) -> np.ndarray:
    """Fitted laws of generations ``0 .. n_generations`` of ``n_chains`` replace chains from ``q``.

    Generation 0 fits ``n_samples`` points drawn from ``q``; each later one fits ``n_samples`` points drawn
    from the fit before. Shape ``(n_generations + 1, n_chains, K)``.
    """
    q = check_probabilities("q", q)
    n_generations = check_int("n_generations", n_generations, 0)
    p = np.broadcast_to(q, (check_int("n_chains", n_chains, 1), q.size))
    out = []
    for _ in range(n_generations + 1):
        p = resample(p, n_samples, rng)
        out.append(p)
    return np.stack(out)


def absorption(q, n_samples: int, n_chains: int, rng: np.random.Generator, max_generations: int = 1_000_000):
    """Run ``n_chains`` replace chains from ``q`` until each fit is a delta distribution.

    Returns ``(state, time)``: the state each chain was absorbed in and its absorption time ``tau``, the first
    generation whose fit is a point mass (generation 0 fits the ``n_samples`` points drawn from ``q``, so
    ``tau >= 0``; ``tau + 1`` fits were made, the paper's generation ``n = tau + 1``). Only the chains not yet
    absorbed are simulated, so the cost falls as chains finish.
    """
    q = check_probabilities("q", q)
    n_chains = check_int("n_chains", n_chains, 1)
    state = np.full(n_chains, -1)
    time = np.zeros(n_chains, dtype=np.int64)
    alive = np.arange(n_chains)
    p = np.broadcast_to(q, (n_chains, q.size))
    for g in range(check_int("max_generations", max_generations, 1)):
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
    return (1.0 - check_unit_interval("q", q)) ** check_int("n_samples", n_samples, 1)


# ---- the exact law of the absorption time, one state at a time --------------------------------------------

def count_transitions(n_samples: int) -> np.ndarray:
    """Transition matrix of one state's count under refitting: ``P[i, j] = Binomial(M, i / M)`` at ``j``.

    A state with ``i`` of the ``M`` samples has probability ``i / M`` in the fit, so its count in the next
    generation is binomial; the other states need not be known (lumping them is exact).
    """
    from scipy import stats  # here, not at import: scipy.stats alone takes about a second to load

    m = check_int("n_samples", n_samples, 1)
    counts_ = np.arange(m + 1)
    return stats.binom.pmf(counts_[None, :], m, counts_[:, None] / m)


def _first_counts(q, n_samples: int) -> np.ndarray:
    """Law of each state's count in generation 0 (``M`` draws from ``q``): shape ``(K, M + 1)``."""
    from scipy import stats

    return stats.binom.pmf(np.arange(n_samples + 1)[None, :], n_samples, q[:, None])


def absorption_survival(q, n_samples: int, n_generations: int) -> np.ndarray:
    """Exact ``P(tau > g)`` for generations ``g = 0 .. n_generations`` (``tau`` as in :func:`absorption`).

    The chain is absorbed when one state holds all ``M`` samples; these events are disjoint across states, so
    ``P(tau <= g) = sum_k P(count_k = M at generation g)``, each from the ``M + 1``-state chain of
    :func:`count_transitions`.
    """
    q = check_probabilities("q", q)
    m = check_int("n_samples", n_samples, 1)
    law, step = _first_counts(q, m), count_transitions(m)
    survival = []
    for _ in range(check_int("n_generations", n_generations, 0) + 1):
        survival.append(1.0 - law[:, m].sum())
        law = law @ step
    return np.clip(np.array(survival), 0.0, 1.0)


def absorption_time_moments(q, n_samples: int) -> dict:
    """Exact mean and variance of ``tau`` (as in :func:`absorption`) from the fundamental matrix.

    For one state's count, ``Q`` is the transition block between the transient counts ``1 .. M - 1`` and
    ``N = (I - Q)^-1`` counts the expected visits. State ``k`` fixes from count ``j`` with probability
    ``h_j = j / M`` (a martingale), and the chain is unabsorbed exactly when the state that will fix has not yet:
    ``E[tau] = sum_k a_k N h`` and ``E[tau^2] = sum_k a_k (2 N^2 - N) h``, with ``a_k`` the law of state ``k``'s
    count in generation 0. Returns ``{"mean": ..., "variance": ...}``.
    """
    q = check_probabilities("q", q)
    m = check_int("n_samples", n_samples, 1)
    if m == 1:  # one sample is always a point mass
        return {"mean": 0.0, "variance": 0.0}
    start = _first_counts(q, m)[:, 1:m].sum(axis=0)  # the K states' generation-0 laws, summed
    identity_minus_q = np.eye(m - 1) - count_transitions(m)[1:m, 1:m]
    visits = np.linalg.solve(identity_minus_q, np.arange(1, m) / m)  # N h
    visits_squared = np.linalg.solve(identity_minus_q, visits)       # N^2 h
    mean = float(start @ visits)
    return {"mean": mean, "variance": float(start @ (2 * visits_squared - visits)) - mean**2}


def diffusion_absorption_time(q, n_samples: int) -> float:
    """Diffusion approximation of ``E[tau]`` (Littler 1975): ``-2M * sum (1-q_k) log(1-q_k) - 1``.

    The diffusion counts the draws from ``q`` until a point mass, ``tau + 1`` of them (hence the ``- 1``; 0 for
    a point mass ``q``). Its relative error is ``O(log(M) / M)``; it grows linearly in the sample size ``M``.
    """
    q = check_probabilities("q", q)
    terms = np.where(q < 1.0, (1.0 - q) * np.log(np.where(q < 1.0, 1.0 - q, 1.0)), 0.0)
    return max(float(-2.0 * check_int("n_samples", n_samples, 1) * terms.sum()) - 1.0, 0.0)
