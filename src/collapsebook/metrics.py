"""Distances and summaries used across chapters. Discrete laws are arrays whose last axis is the state."""

from __future__ import annotations

import numpy as np

from ._checks import check_finite_array, check_fraction, check_probabilities, check_range


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
    threshold = check_fraction("threshold", threshold)
    return (p * (original <= threshold)).sum(axis=-1)


# ---- Wasserstein-2 between Gaussians (chapter 2) ---------------------------------------------------------

def w2_gaussian_1d(mean1, std1, mean2, std2, squared: bool = False) -> np.ndarray:
    """W2 distance between ``N(mean1, std1**2)`` and ``N(mean2, std2**2)``: ``sqrt((m1-m2)**2 + (s1-s2)**2)``.

    Broadcasts over arrays; standard deviations must be >= 0 (a point mass is allowed).
    """
    std1, std2 = check_finite_array("std1", std1, 0), check_finite_array("std2", std2, 0)
    w2 = (check_finite_array("mean1", mean1) - check_finite_array("mean2", mean2)) ** 2 + (std1 - std2) ** 2
    return w2 if squared else np.sqrt(w2)


def w2_gaussian(mean1, cov1, mean2, cov2, squared: bool = False) -> np.ndarray:
    """W2 distance between ``N(mean1, cov1)`` and ``N(mean2, cov2)`` in d dimensions, over leading axes.

    ``W2**2 = |m1 - m2|**2 + tr(C1 + C2 - 2 (C2^(1/2) C1 C2^(1/2))^(1/2))`` (Dowson & Landau 1982), with
    matrix square roots from symmetric eigendecompositions. Means have shape ``(..., d)``, covariances
    ``(..., d, d)``, symmetric positive semi-definite.
    """
    mean1, mean2 = check_finite_array("mean1", mean1), check_finite_array("mean2", mean2)
    d = mean1.shape[-1] if mean1.ndim else 0
    if mean1.ndim == 0 or mean2.shape[-1:] != (d,):
        raise ValueError(f"mean1 and mean2 must have the same last axis d; got {mean1.shape} and {mean2.shape}")
    cov1, cov2 = _check_covariance("cov1", cov1, d), _check_covariance("cov2", cov2, d)
    root2 = _psd_sqrt(cov2)
    cross = np.linalg.eigvalsh(root2 @ cov1 @ root2)
    trace = np.trace(cov1, axis1=-2, axis2=-1) + np.trace(cov2, axis1=-2, axis2=-1)
    w2 = ((mean1 - mean2) ** 2).sum(axis=-1) + trace - 2 * np.sqrt(np.clip(cross, 0, None)).sum(axis=-1)
    w2 = np.clip(w2, 0, None)  # rounding can leave a tiny negative value when the laws are equal
    return w2 if squared else np.sqrt(w2)


def _psd_sqrt(cov):
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.sqrt(np.clip(values, 0, None))[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def _check_covariance(name, cov, d: int):
    cov = np.asarray(cov, dtype=float)
    if cov.ndim < 2 or cov.shape[-2:] != (d, d):
        raise ValueError(f"{name} must have shape (..., {d}, {d}) to match the means, got {cov.shape}")
    scale = np.abs(cov).max() if cov.size else 0.0
    if not np.all(np.isfinite(cov)) or not np.allclose(cov, np.swapaxes(cov, -1, -2), atol=1e-10 * scale):
        raise ValueError(f"{name} must be finite and symmetric")
    if np.any(np.linalg.eigvalsh(cov) < -1e-10 * max(scale, 1e-300)):
        raise ValueError(f"{name} must be positive semi-definite")
    return cov


def share_outside(values, reference, level: float) -> float:
    """Share of ``values`` outside the central ``level`` interval of ``reference`` (e.g. between its 2.5 %
    and 97.5 % quantiles for ``level=0.95``): ``1 - level`` for values distributed like the reference, less
    once the tails have thinned. Both arrays are pooled over all their entries (chapter 4)."""
    level = check_range("level", level, 0.0, 1.0, closed=False)
    values = np.ravel(check_finite_array("values", values, non_empty=True))
    reference = np.ravel(check_finite_array("reference", reference, non_empty=True))
    low, high = np.quantile(reference, [(1 - level) / 2, (1 + level) / 2])
    return float(np.mean((values < low) | (values > high)))
