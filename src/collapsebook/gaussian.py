"""Chapter 2: a Gaussian refitted to its own samples (Theorem 3.1 of Shumailov et al. 2024).

The fit is exact up to sampling error, so the only error is the statistical one. Two estimators of the
variance: ``"unbiased"`` (ddof = 1, the theorem's) and ``"mle"`` (ddof = 0, ``np.std`` in the official
notebook). One-dimensional data have their samples on the last axis, ``(..., M)``; d-dimensional data on the
second-to-last, ``(..., M, d)``; leading axes are independent chains. Generation ``g``'s model is the fit to
generation ``g``'s training data; generation 0 fits the original data, and generation ``g`` holds ``M_g`` points.
The paper numbers the fits from 1: its ``(mu_n, sigma_n)`` is generation ``g = n - 1`` here.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._checks import check_choice, check_int, check_positive
from .loop import Family

ESTIMATORS = ("unbiased", "mle")


def ddof(estimator: str) -> int:
    """Delta degrees of freedom of the variance estimator: 1 for ``"unbiased"``, 0 for ``"mle"``."""
    return {"unbiased": 1, "mle": 0}[check_choice("estimator", estimator, ESTIMATORS)]


# ---- one dimension -------------------------------------------------------------------------------------

def fit(samples, estimator: str = "unbiased") -> dict:
    """Fit ``N(mean, std**2)`` to the last axis of ``samples``: ``{"mean": ..., "std": ...}``."""
    samples = np.asarray(samples, dtype=float)
    check_int("n_samples (the last axis of samples)", samples.shape[-1] if samples.ndim else 0, 2)
    return {"mean": samples.mean(axis=-1), "std": samples.std(axis=-1, ddof=ddof(estimator))}


def sample(mean, std, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from each ``N(mean, std**2)``: shape ``broadcast(mean, std).shape + (n,)``."""
    mean, std = np.asarray(mean, dtype=float), _check_std("std", std, strict=False)
    shape = np.broadcast_shapes(mean.shape, std.shape)
    return mean[..., None] + std[..., None] * rng.standard_normal(shape + (check_int("n", n, 1),))


# ---- d dimensions --------------------------------------------------------------------------------------

def fit_multivariate(samples, estimator: str = "unbiased") -> dict:
    """Fit ``N(mean, cov)`` to samples of shape ``(..., M, d)``: ``{"mean": (..., d), "cov": (..., d, d)}``."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim < 2:
        raise ValueError(f"samples must have shape (..., M, d), got shape {samples.shape}")
    m, d = samples.shape[-2:]
    check_int("n_samples (axis -2 of samples)", m, d + 1)
    mean = samples.mean(axis=-2)
    centred = samples - mean[..., None, :]
    cov = np.einsum("...mi,...mj->...ij", centred, centred) / (m - ddof(estimator))
    return {"mean": mean, "cov": cov}


def sample_multivariate(mean, cov, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from each ``N(mean, cov)``: shape ``(..., n, d)``.

    The square root of ``cov`` comes from its eigendecomposition, so a singular (degenerate) covariance is
    allowed: the draws then lie in a subspace, which is where a long chain in d dimensions heads.
    """
    mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
    if mean.ndim < 1 or cov.shape[-2:] != (mean.shape[-1],) * 2:
        raise ValueError(f"cov must have shape (..., d, d) with d = mean.shape[-1]; got mean {mean.shape}, "
                         f"cov {cov.shape}")
    values, vectors = np.linalg.eigh(cov)
    scale = np.abs(values).max(axis=-1, keepdims=True)
    if not np.all(np.isfinite(values)) or np.any(values < -1e-10 * scale):
        raise ValueError("cov must be symmetric positive semi-definite")
    factor = vectors * np.sqrt(np.clip(values, 0, None))[..., None, :]
    shape = np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2]) + (check_int("n", n, 1), mean.shape[-1])
    return mean[..., None, :] + np.einsum("...ij,...nj->...ni", factor, rng.standard_normal(shape))


def merge_moments(moments, samples) -> dict:
    """Running moments of all the samples seen so far, with ``samples`` (``(..., M, d)``) merged in.

    ``moments`` (None before the first samples) holds ``count``, ``mean`` ``(..., d)`` and ``m2`` ``(..., d, d)``,
    the sums of products of deviations from the mean; they merge block by block (Chan, Golub & LeVeque 1979):
    with ``delta`` the difference of the two means, ``m2 = m2_a + m2_b + delta delta^T n_a n_b / n``. This is
    how the accumulate policy fits a pool of ``(g + 1) M`` points at the cost of one block.
    """
    samples = np.asarray(samples, dtype=float)
    mean = samples.mean(axis=-2)
    centred = samples - mean[..., None, :]
    block = {"count": samples.shape[-2], "mean": mean, "m2": np.swapaxes(centred, -1, -2) @ centred}
    if moments is None:
        return block
    count = moments["count"] + block["count"]
    delta = block["mean"] - moments["mean"]
    weight = moments["count"] * block["count"] / count
    return {"count": count, "mean": moments["mean"] + delta * (block["count"] / count),
            "m2": moments["m2"] + block["m2"] + delta[..., :, None] * delta[..., None, :] * weight}


def fit_moments(moments, estimator: str = "unbiased") -> dict:
    """The fit of :func:`fit_multivariate` from running moments (:func:`merge_moments`): ``{"mean", "cov"}``."""
    check_int("n_samples (the count of moments)", moments["count"], moments["mean"].shape[-1] + 1)
    return {"mean": moments["mean"], "cov": moments["m2"] / (moments["count"] - ddof(estimator))}


def family(estimator: str = "unbiased", multivariate: bool = False) -> Family:
    """The Gaussian family for :func:`collapsebook.loop.run` on arrays of chains (use ``sample_axis=1``).

    1-D data have shape ``(chains, M)`` and models ``{"mean", "std"}``; with ``multivariate=True`` data have
    shape ``(chains, M, d)`` and models ``{"mean", "cov"}``. Its running statistics are the moments of
    :func:`merge_moments`, so ``policy="accumulate"`` never keeps the pool (same fit up to rounding).
    """
    check_choice("estimator", estimator, ESTIMATORS)
    if multivariate:
        return Family(fit=lambda data, rng: fit_multivariate(np.moveaxis(data, 1, -2), estimator),
                      sample=lambda model, n, rng: np.moveaxis(
                          sample_multivariate(model["mean"], model["cov"], n, rng), -2, 1),
                      update=lambda moments, block: merge_moments(moments, np.moveaxis(block, 1, -2)),
                      fit_state=lambda moments, rng: fit_moments(moments, estimator))
    return Family(fit=lambda data, rng: fit(np.moveaxis(data, 1, -1), estimator),
                  sample=lambda model, n, rng: np.moveaxis(sample(model["mean"], model["std"], n, rng), -1, 1),
                  update=lambda moments, block: merge_moments(moments, np.moveaxis(block, 1, -1)[..., None]),
                  fit_state=lambda moments, rng: _fit_moments_1d(moments, estimator))


def _fit_moments_1d(moments, estimator: str) -> dict:
    """:func:`fit_moments` for one dimension, as :func:`fit` returns it: ``{"mean", "std"}``."""
    model = fit_moments(moments, estimator)
    return {"mean": model["mean"][..., 0], "std": np.sqrt(model["cov"][..., 0, 0])}


# ---- many replace chains at once, from the laws of the sample mean and variance ------------------------

def sample_sizes(n_samples, n_generations: int) -> np.ndarray:
    """The sample sizes ``M_0 .. M_n`` of generations ``0 .. n_generations`` as an int array.

    ``n_samples`` is an int (the same every generation), a schedule ``g -> M_g`` or a sequence of sizes.
    """
    n_generations = check_int("n_generations", n_generations, 0)
    if callable(n_samples):
        sizes = [n_samples(g) for g in range(n_generations + 1)]
    elif np.ndim(n_samples) == 0:
        sizes = [n_samples] * (n_generations + 1)
    else:
        sizes = list(n_samples)
        if len(sizes) != n_generations + 1:
            raise ValueError(f"n_samples must hold n_generations + 1 = {n_generations + 1} sizes, got {len(sizes)}")
    return np.array([check_int("n_samples", m, 2) for m in sizes])


def simulate(n_chains: int, n_generations: int, n_samples, estimator: str, rng: np.random.Generator, *,
             mean: float = 0.0, std: float = 1.0, record=None) -> dict:
    """Fitted means and standard deviations of ``n_chains`` independent replace chains.

    The fit sees only the sample mean and variance, whose laws are known (Cochran's theorem): from
    ``N(m, s**2)``, the mean of ``M`` points is ``N(m, s**2 / M)`` and, independently, their sum of squared
    deviations is ``s**2`` times a chi-square with ``M - 1`` degrees of freedom. Drawing those two numbers
    gives exactly the law of sampling ``M`` points and fitting, at a cost independent of ``M``.

    ``n_samples`` is as in :func:`sample_sizes`; ``record`` lists the generations to keep (default: all).
    Returns ``{"generation": (R,), "mean": (R, n_chains), "std": (R, n_chains)}``.
    """
    n_chains, delta = check_int("n_chains", n_chains, 1), ddof(estimator)
    sizes = sample_sizes(n_samples, n_generations)
    record = np.arange(n_generations + 1) if record is None else _check_record(record, n_generations)
    keep = set(record.tolist())
    if not np.isfinite(mean):
        raise ValueError(f"mean must be a finite number, got {mean!r}")
    m = np.full(n_chains, float(mean))
    s = np.full(n_chains, check_positive("std", std))
    means, stds = [], []
    for g, size in enumerate(sizes):
        m = m + s * rng.standard_normal(n_chains) / np.sqrt(size)
        s = s * np.sqrt(rng.chisquare(size - 1, n_chains) / (size - delta))
        if g in keep:
            means.append(m)
            stds.append(s)
    return {"generation": record, "mean": np.stack(means), "std": np.stack(stds)}


def log_generations(n_generations: int, n_points: int = 200) -> np.ndarray:
    """About ``n_points`` distinct generations from 0 to ``n_generations``, evenly spaced on a log axis."""
    n_generations = check_int("n_generations", n_generations, 0)
    points = np.geomspace(1, n_generations + 1, check_int("n_points", n_points, 2)) - 1
    return np.unique(np.round(points).astype(int))


# ---- closed forms (exact for both estimators and any schedule of sample sizes) -------------------------

def std_ratio_mean(n_samples, estimator: str = "unbiased") -> np.ndarray:
    """``E[s_g / s_(g-1)]``: the mean factor by which one generation scales the fitted standard deviation.

    For the unbiased estimator it is ``E sqrt(chi2_k / k)`` with ``k = M - 1``, below 1 by about ``1/(4M)``
    (Jensen); the MLE multiplies it by ``sqrt((M - 1) / M)``.
    """
    m = np.asarray(n_samples, dtype=float)
    k = m - 1
    unbiased = np.sqrt(2.0 / k) * np.exp(special.gammaln((k + 1) / 2) - special.gammaln(k / 2))
    return unbiased if ddof(estimator) == 1 else unbiased * np.sqrt(k / m)


def variance_ratio_mean(n_samples, estimator: str = "unbiased") -> np.ndarray:
    """``E[s_g**2 / s_(g-1)**2]``: 1 for the unbiased estimator (a martingale), ``(M - 1) / M`` for the MLE."""
    m = np.asarray(n_samples, dtype=float)
    return np.ones_like(m) if ddof(estimator) == 1 else (m - 1) / m


def theory(n_generations: int, n_samples, estimator: str = "unbiased", std: float = 1.0) -> dict:
    """Exact expectations for generations ``0 .. n_generations`` of the replace chain from ``N(mu, std**2)``.

    Keys: ``variance`` = E[sigma_g**2], ``std`` = E[sigma_g], ``mean_error`` = E[(mu_g - mu)**2],
    ``sample_variance`` = Var of a point drawn from model g (over all the randomness) and ``w2_squared`` =
    E[W2(N(mu_g, sigma_g**2), N(mu, std**2))**2]. For the unbiased estimator and a constant ``M``:
    ``variance = std**2``, ``sample_variance = std**2 (1 + (g + 1) / M)`` and ``w2_squared`` is about
    ``1.5 std**2 (g + 1) / M`` while ``g << M``, growing without bound; for the MLE ``variance = std**2
    (1 - 1/M)**(g + 1)`` and ``w2_squared -> 2 std**2``. These are the paper's formulas at its ``n = g + 1``
    (``sample_variance`` is its ``Var(X^n)``, the variance of the data that model ``g`` generates).
    """
    sizes = sample_sizes(n_samples, n_generations)
    var0 = check_positive("std", std) ** 2
    variance = var0 * np.cumprod(variance_ratio_mean(sizes, estimator))
    previous = np.concatenate([[var0], variance[:-1]])
    mean_error = np.cumsum(previous / sizes)
    expected_std = np.sqrt(var0) * np.cumprod(std_ratio_mean(sizes, estimator))
    return {
        "generation": np.arange(n_generations + 1),
        "variance": variance,
        "std": expected_std,
        "mean_error": mean_error,
        "sample_variance": mean_error + variance,
        "w2_squared": mean_error + variance - 2 * np.sqrt(var0) * expected_std + var0,
    }


def relative_variance(n_generations: int, n_samples, d: int = 1) -> np.ndarray:
    """``Var(X_g) / E[X_g]**2`` for ``X_g = det Sigma_g`` (``sigma_g**2`` when ``d = 1``), either estimator:
    ``prod_g prod_(j=1..d) (1 + 2 / (M_g - j)) - 1``.

    It sets the Monte-Carlo error: the mean of ``X_g`` over ``K`` chains has relative standard error
    ``sqrt(this / K)``, which explodes once ``g`` passes ``M`` (the Monte-Carlo trap of chapter 2).
    """
    sizes, d = _sizes_for_dimension(n_samples, n_generations, d)
    factors = (1 + 2.0 / (sizes[:, None] - np.arange(1, d + 1)[None, :])).prod(axis=1)
    return np.cumprod(factors) - 1


def log_variance_law(n_generations: int, n_samples, estimator: str = "unbiased", d: int = 1) -> dict:
    """Mean and variance of ``log(det Sigma_g / det Sigma)`` (``log(sigma_g**2 / sigma**2)`` when ``d = 1``).

    By Bartlett's decomposition ``det`` of a Wishart matrix is a product of ``d`` independent chi-squares
    with ``k, k - 1, ..., k - d + 1`` degrees of freedom (``k = M - 1``), so the log is a sum of independent
    terms with digamma means and trigamma variances: a random walk with negative drift, hence
    ``Sigma_g -> 0`` almost surely. Its median (the typical chain) is near ``exp(mean)``.
    """
    sizes, d = _sizes_for_dimension(n_samples, n_generations, d)
    k = (sizes - 1)[:, None] - np.arange(d)[None, :]
    divisor = (sizes - ddof(estimator))[:, None]
    drift = (special.digamma(k / 2) + np.log(2.0 / divisor)).sum(axis=1)
    spread = special.polygamma(1, k / 2).sum(axis=1)
    return {"generation": np.arange(n_generations + 1), "mean": np.cumsum(drift), "variance": np.cumsum(spread)}


def determinant_ratio_mean(n_generations: int, n_samples, d: int, estimator: str = "unbiased") -> np.ndarray:
    """``E[det Sigma_g / det Sigma] = prod_g prod_j (M_g - j) / (M_g - ddof)`` for ``j = 1 .. d``.

    For the unbiased estimator ``E[Sigma_g] = Sigma`` (a martingale), yet for ``d >= 2`` the expected
    determinant shrinks every generation.
    """
    sizes, d = _sizes_for_dimension(n_samples, n_generations, d)
    factors = ((sizes[:, None] - np.arange(1, d + 1)[None, :]) / (sizes - ddof(estimator))[:, None]).prod(axis=1)
    return np.cumprod(factors)


def fresh_data_moments(n_generations: int, n_samples: int, n_fresh: int) -> dict:
    """``E[mu_g**2]`` and ``E[sigma_g**2]`` for ``g = 0 .. n_generations`` (exact) when unbiased fits of
    ``N(0, 1)`` see, each generation, ``n_fresh`` fresh points of ``N(0, 1)`` and ``M - n_fresh`` samples of
    the previous fit (:func:`collapsebook.loop.run` with ``fresh_fraction = n_fresh / M``; chapter 6).

    With ``l = n_fresh / M``, ``u = 1 - l`` and ``c = M / (M - 1)``, given generation ``g``'s fit:
    ``E[mu_(g+1)**2] = u**2 mu_g**2 + (l + u sigma_g**2) / M`` and
    ``E[sigma_(g+1)**2] = l + u sigma_g**2 + c l u mu_g**2`` (the sample variance of two groups of fixed sizes:
    each group's variance plus the spread between their means). Both are linear in ``(mu_g**2, sigma_g**2)``,
    so their expectations follow that linear recursion from ``(1 / M, 1)`` at generation 0.
    Returns ``{"mean_sq", "var", "limit_mean_sq"}``; the fixed point
    ``E[mu**2] -> 1 / (M (1 - u**2) - c u**2)`` exists when ``u**2 < (M - 1) / M``, true for ``n_fresh >= 1``
    (``inf`` otherwise: without fresh points ``E[mu_g**2] = (g + 1) / M`` grows without bound).
    """
    m = check_int("n_samples", n_samples, 2)
    lam = check_int("n_fresh", n_fresh, 0, m) / m
    u, c = 1.0 - lam, m / (m - 1.0)
    mean_sq, var = np.empty(check_int("n_generations", n_generations, 0) + 1), np.empty(n_generations + 1)
    mean_sq[0], var[0] = 1.0 / m, 1.0
    for g in range(n_generations):
        mean_sq[g + 1] = u**2 * mean_sq[g] + (lam + u * var[g]) / m
        var[g + 1] = lam + u * var[g] + c * lam * u * mean_sq[g]
    denominator = m * (1 - u**2) - c * u**2
    return {"mean_sq": mean_sq, "var": var, "limit_mean_sq": 1.0 / denominator if denominator > 0 else np.inf}


# ---- a live explorer for Colab and Jupyter, with the static animation as its fallback ------------------

def _check_std(name, std, strict=True):
    std = np.asarray(std, dtype=float)
    bad = ~np.isfinite(std) | ((std <= 0) if strict else (std < 0))
    if np.any(bad):
        raise ValueError(f"{name} must be finite and {'> 0' if strict else '>= 0'}, got {std[bad].ravel()[:3]}")
    return std


def _sizes_for_dimension(n_samples, n_generations, d):
    sizes, d = sample_sizes(n_samples, n_generations), check_int("d", d, 1)
    if np.any(sizes < d + 1):
        raise ValueError(f"n_samples must be >= d + 1 = {d + 1} for a non-singular covariance")
    return sizes, d


def _check_record(record, n_generations: int) -> np.ndarray:
    record = np.unique(np.asarray(record, dtype=int))
    if record.size == 0 or record[0] < 0 or record[-1] > n_generations:
        raise ValueError(f"record must list generations in [0, {n_generations}]")
    return record
