"""Distances and summaries used across chapters. Discrete laws are arrays whose last axis is the state."""

from __future__ import annotations

import numpy as np

from ._checks import check_probabilities


def tv_distance(p, q) -> np.ndarray:
    """Total-variation distance ``0.5 * sum |p - q|`` between discrete laws (broadcast over leading axes)."""
    p, q = check_probabilities("p", p), check_probabilities("q", q)
    return 0.5 * np.abs(p - q).sum(axis=-1)


def entropy(p) -> np.ndarray:
    """Shannon entropy in nats, with ``0 log 0 = 0``."""
    p = check_probabilities("p", p)
    logs = np.log(np.where(p > 0, p, 1.0))
    return -(p * logs).sum(axis=-1)


def kl_divergence(p, q) -> np.ndarray:
    """``KL(p || q)`` in nats; infinite where p puts mass on a state that q has lost."""
    p, q = check_probabilities("p", p), check_probabilities("q", q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return terms.sum(axis=-1)


def support_size(p) -> np.ndarray:
    """How many states still have positive probability."""
    return (check_probabilities("p", p) > 0).sum(axis=-1)


def tail_mass(p, original, threshold: float) -> np.ndarray:
    """Mass that ``p`` puts on the states that were rare in ``original`` (probability <= ``threshold``)."""
    p, original = check_probabilities("p", p), check_probabilities("original", original)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    return (p * (original <= threshold)).sum(axis=-1)


def share_outside(values, reference, level: float) -> float:
    """Share of ``values`` outside the central ``level`` interval of ``reference`` (e.g. between its 2.5 %
    and 97.5 % quantiles for ``level=0.95``): ``1 - level`` for values distributed like the reference, less
    once the tails have thinned. Both arrays are pooled over all their entries (chapter 4)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    values, reference = np.ravel(values), np.ravel(reference)
    if values.size == 0 or reference.size == 0:
        raise ValueError("values and reference must be non-empty")
    low, high = np.quantile(reference, [(1 - level) / 2, (1 + level) / 2])
    return float(np.mean((values < low) | (values > high)))
