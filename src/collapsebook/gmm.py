"""Chapter 3: Gaussian mixtures fitted by expectation-maximisation (EM), written out in numpy.

A mixture is a dict of arrays ``{"weights": (..., K), "means": (..., K, d), "covariances": (..., K, d, d)}``;
data are arrays ``(..., N, d)``. Leading axes are independent runs: :func:`fit` runs EM on many of them at once
(each stops at its own convergence), so hundreds of chains of the paper's 2050 generations fit in minutes. The
runs go through EM in batches of at most :data:`EM_BATCH_BYTES` of ``(runs, K, d, N)`` temporaries (one run at a
time for large ``N``): beyond that, batching made each fit slower, not faster (``benchmarks/bench_gmm.py``).
The algorithm and its settings (``tol``, ``max_iter``, ``reg_covar``, k-means initialisation) are those of
scikit-learn's ``GaussianMixture(covariance_type="full")``, the reference the tests compare against.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import check_int, check_positive, check_probabilities, check_real, check_rng
from .loop import Family

LOG_2PI = np.log(2.0 * np.pi)
PARAMETERS = ("weights", "means", "covariances")
# Largest (runs, K, d, N) float64 temporary of one EM batch, in bytes; measured by benchmarks/bench_gmm.py.
EM_BATCH_BYTES = 2**20


# ---- densities ---------------------------------------------------------------------------------------------
# Inside, points lie on the LAST axis (``(..., d, N)``, components before them: ``(..., K, N)``): numpy reduces
# and broadcasts far faster over short axes that are not the last one.

def cholesky(covariances, name: str = "covariances") -> np.ndarray:
    """Lower Cholesky factors of symmetric positive-definite matrices; ValueError naming ``name`` otherwise."""
    covariances = np.asarray(covariances, dtype=float)
    if not np.allclose(covariances, np.swapaxes(covariances, -1, -2), rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric positive definite (they are not symmetric)")
    try:
        return np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be symmetric positive definite (a Cholesky factorisation failed)") from None


def log_normal(diff_t, chol) -> np.ndarray:
    """``log N(x; 0, L L^T)`` for points ``diff_t`` of shape ``(..., d, n)`` (one point per column) and lower
    Cholesky factors ``chol`` ``(..., d, d)``: shape ``(..., n)``.

    With ``z = L^{-1} x`` the Mahalanobis term is ``|z|^2`` and ``log det Sigma = 2 sum log diag L``;
    ``L^{-1}`` is scikit-learn's "precision Cholesky", a triangular inverse, cheap and stable.
    """
    z = np.linalg.inv(chol) @ diff_t
    half_log_det = np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    return -0.5 * (np.einsum("...in,...in->...n", z, z) + diff_t.shape[-2] * LOG_2PI) - half_log_det[..., None]


def logsumexp(a, axis: int = -1) -> np.ndarray:
    """``log sum exp(a)`` along ``axis`` without overflow: shift by the maximum first."""
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.log(np.exp(a - top).sum(axis=axis)) + np.squeeze(top, axis=axis)


def _joint(w, mu, chol, X_t):
    """``log w_k + log N(x_n; mu_k, Sigma_k)`` for data ``X_t`` ``(..., d, N)``: shape ``(..., K, N)``."""
    return log_normal(X_t[..., None, :, :] - mu[..., :, :, None], chol) + np.log(w)[..., :, None]


def score_samples(model, X) -> np.ndarray:
    """Log-density of the mixture at every point of ``X`` (``(..., N, d)``): shape ``(..., N)``."""
    w, mu, cov = _check_model(model)
    X_t = np.swapaxes(_check_data(X, "X"), -1, -2)
    return logsumexp(_joint(w, mu, cholesky(cov), X_t), axis=-2)


def log_likelihood(model, X) -> np.ndarray:
    """Mean log-likelihood per point of ``X`` under ``model`` (scikit-learn's ``score``): shape ``(...)``."""
    return score_samples(model, X).mean(axis=-1)


# ---- EM ----------------------------------------------------------------------------------------------------

def e_step(model, X):
    """Expectation: responsibilities ``r_kn = p(component k | x_n)`` and the mean log-likelihood of ``X``.

    Returns ``(resp, mean_log_likelihood)``; ``resp`` has shape ``(..., K, N)`` (components first).
    """
    w, mu, cov = _check_model(model)
    return _e_step(w, mu, cov, np.swapaxes(_check_data(X, "X"), -1, -2))


def _e_step(w, mu, cov, X_t):
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("a covariance stopped being positive definite: increase reg_covar") from None
    joint = _joint(w, mu, chol, X_t)
    log_norm = logsumexp(joint, axis=-2)  # log p(x_n), shape (..., N)
    return np.exp(joint - log_norm[..., None, :]), log_norm.mean(axis=-1)


def m_step(X, resp, reg_covar: float = 1e-6) -> dict:
    """Maximisation: the weights, means and covariances that maximise the expected log-likelihood.

    ``X`` is ``(..., N, d)``, ``resp`` ``(..., K, N)``. As scikit-learn: ``N_k = sum_n r_kn + 10 eps``, and
    ``reg_covar`` is added to every covariance's diagonal.
    """
    return _m_step(np.swapaxes(np.asarray(X, dtype=float), -1, -2), np.asarray(resp, dtype=float), reg_covar)


def _m_step(X_t, resp, reg_covar):
    nk = resp.sum(axis=-1) + 10 * np.finfo(float).eps  # (..., K)
    means = resp @ np.swapaxes(X_t, -1, -2) / nk[..., None]  # (..., K, d)
    diff_t = X_t[..., None, :, :] - means[..., :, :, None]  # (..., K, d, N)
    covariances = (diff_t * resp[..., None, :]) @ np.swapaxes(diff_t, -1, -2) / nk[..., None, None]
    covariances += reg_covar * np.eye(X_t.shape[-2])
    return {"weights": nk / nk.sum(axis=-1, keepdims=True), "means": means, "covariances": covariances}


def kmeans_plusplus(X, n_components: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeds (Arthur & Vassilvitskii 2007) for ``X`` of shape ``(runs, N, d)``: each new centre is a
    data point drawn with probability proportional to its squared distance to the nearest centre so far.
    Returns ``(runs, K, d)``."""
    runs = np.arange(X.shape[0])
    centres = [X[runs, rng.integers(X.shape[1], size=X.shape[0])]]
    nearest = ((X - centres[0][:, None, :]) ** 2).sum(-1)  # (runs, N)
    for _ in range(1, n_components):
        cdf = np.cumsum(nearest, axis=-1)
        u = rng.random((X.shape[0], 1)) * cdf[:, -1:]
        centres.append(X[runs, np.minimum((cdf <= u).sum(-1), X.shape[1] - 1)])
        nearest = np.minimum(nearest, ((X - centres[-1][:, None, :]) ** 2).sum(-1))
    return np.stack(centres, axis=1)


def kmeans_labels(X, n_components: int, rng: np.random.Generator, max_iter: int = 300) -> np.ndarray:
    """Lloyd's k-means on ``X`` ``(runs, N, d)`` from k-means++ seeds, until no label changes: ``(runs, N)``.

    The nearest centre minimises ``|c|^2 - 2 c.x`` (``|x|^2`` is the same for every centre): one product.
    """
    X_t = np.swapaxes(X, 1, 2)
    centres, labels = kmeans_plusplus(X, n_components, rng), None
    for _ in range(max_iter):
        new = _argmin_components((centres**2).sum(-1)[..., None] - 2.0 * centres @ X_t)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        onehot = (labels[:, None, :] == np.arange(n_components)[:, None]).astype(float)  # (runs, K, N)
        counts = onehot.sum(axis=-1)[..., None]
        centres = np.where(counts > 0, onehot @ X / np.maximum(counts, 1), centres)  # an empty cluster stays put
    return labels


def _argmin_components(scores):
    """``scores.argmin(axis=1)`` for ``(runs, K, N)``, as K vector comparisons (numpy's is slow on short axes)."""
    best, labels = scores[:, 0], np.zeros(scores[:, 0].shape, dtype=int)
    for k in range(1, scores.shape[1]):
        better = scores[:, k] < best
        best, labels = np.where(better, scores[:, k], best), np.where(better, k, labels)
    return labels


def initialize(X, n_components: int, rng: np.random.Generator, reg_covar: float = 1e-6) -> dict:
    """scikit-learn's ``init_params="kmeans"``: one M-step from the hard k-means assignment of each run."""
    X, single = _as_runs(_check_data(X, "X", check_int("n_components", n_components, 1)))
    labels = kmeans_labels(X, n_components, rng)
    resp = (labels[:, None, :] == np.arange(n_components)[:, None]).astype(float)
    model = _m_step(np.swapaxes(X, 1, 2), resp, check_positive("reg_covar", reg_covar))
    return _unbatch(model) if single else model


def fit(X, n_components: int, rng: np.random.Generator, *, tol: float = 1e-3, max_iter: int = 100,
        reg_covar: float = 1e-6, init: dict | None = None, trace: bool = False) -> dict:
    """Fit a ``n_components`` full-covariance mixture to each run of ``X`` (``(N, d)`` or ``(runs, N, d)``).

    EM alternates :func:`e_step` and :func:`m_step` from the k-means initialisation drawn with ``rng`` (or from
    ``init``, when ``rng`` may be None); a run
    stops once its mean log-likelihood changes by less than ``tol``, or after ``max_iter`` iterations, as in
    scikit-learn. The returned mixture also holds ``log_likelihood`` (of ``X`` under the final parameters),
    ``n_iter`` and ``converged``; with ``trace=True`` also ``trace``: the mean log-likelihood before each
    M-step, shape ``(..., n_iter.max())``, NaN after a run has stopped.
    """
    n_components = check_int("n_components", n_components, 1)
    if init is None:  # the k-means initialisation's randomness; a given init needs none
        check_rng("rng", rng)
    tol, reg_covar = check_positive("tol", tol), check_positive("reg_covar", reg_covar)
    max_iter = check_int("max_iter", max_iter, 1)
    X, single = _as_runs(_check_data(X, "X", n_components))
    if init is None:
        model = initialize(X, n_components, rng, reg_covar)
    else:
        w, mu, cov = _check_model(init, X.shape[-1], n_components, name="init")
        runs, k, d = X.shape[0], n_components, X.shape[-1]
        model = {"weights": np.broadcast_to(w, (runs, k)).copy(), "means": np.broadcast_to(mu, (runs, k, d)).copy(),
                 "covariances": np.broadcast_to(cov, (runs, k, d, d)).copy()}
    model.update(_em_in_batches(np.swapaxes(X, 1, 2), model, tol, max_iter, reg_covar))
    if not trace:
        del model["trace"]
    return _unbatch(model) if single else model


def batch_runs(n_points: int, n_components: int, d: int, batch_bytes: int | None = None) -> int:
    """How many runs of ``n_points`` points go through EM together: as many as keep the ``(runs, K, d, N)``
    temporaries within ``batch_bytes`` (default :data:`EM_BATCH_BYTES`), and at least one."""
    batch_bytes = EM_BATCH_BYTES if batch_bytes is None else check_int("batch_bytes", batch_bytes, 1)
    sizes = [check_int(name, value, 1) for name, value in
             (("n_points", n_points), ("n_components", n_components), ("d", d))]
    return max(1, batch_bytes // (8 * math.prod(sizes)))


def _em_in_batches(X_t, model, tol, max_iter, reg_covar) -> dict:
    """:func:`_em` on consecutive batches of :func:`batch_runs` runs; each run's result is the same either way."""
    runs, d, n = X_t.shape
    size = batch_runs(n, model["weights"].shape[-1], d)
    parts = [_em(X_t[s:s + size], {k: model[k][s:s + size] for k in PARAMETERS}, tol, max_iter, reg_covar)
             for s in range(0, runs, size)]  # the model's slices are views: _em fills them in place
    width = max(p["trace"].shape[1] for p in parts)
    traces = [np.pad(p["trace"], ((0, 0), (0, width - p["trace"].shape[1])), constant_values=np.nan) for p in parts]
    out = {k: np.concatenate([p[k] for p in parts]) for k in ("log_likelihood", "n_iter", "converged")}
    return out | {"trace": np.concatenate(traces)}


def _em(X_t, model, tol, max_iter, reg_covar) -> dict:
    """EM on ``X_t`` ``(runs, d, N)``, updating ``model`` in place; a run leaves the batch once it converged."""
    runs = X_t.shape[0]
    lower, n_iter, converged = np.full(runs, -np.inf), np.zeros(runs, int), np.zeros(runs, bool)
    trace = np.full((runs, max_iter), np.nan)
    active, Xa = np.arange(runs), X_t
    for it in range(1, max_iter + 1):
        resp, ll = _e_step(*(model[k][active] for k in PARAMETERS), Xa)
        for k, v in _m_step(Xa, resp, reg_covar).items():
            model[k][active] = v
        change, lower[active], n_iter[active], trace[active, it - 1] = ll - lower[active], ll, it, ll
        done = np.abs(change) < tol
        converged[active[done]] = True
        if done.any():
            active, Xa = active[~done], Xa[~done]
        if active.size == 0:
            break
    _, final = _e_step(*(model[k] for k in PARAMETERS), X_t)
    return {"log_likelihood": final, "n_iter": n_iter, "converged": converged, "trace": trace[:, : n_iter.max()]}


def _as_runs(X):
    """``X`` as ``(runs, N, d)`` and whether it was a single data set ``(N, d)``."""
    if X.ndim > 3:
        raise ValueError(f"X must have shape (N, d) or (runs, N, d), got shape {X.shape}")
    return (X[None], True) if X.ndim == 2 else (X, False)


def _unbatch(model: dict) -> dict:
    return {k: v[0] for k, v in model.items()}


# ---- sampling, distances, the loop --------------------------------------------------------------------------

def sample(model, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points from each mixture in ``model``: shape ``(..., n, d)``.

    Each point picks its component by inverse CDF on the weights, then ``x = mu_k + L_k z`` with ``z ~ N(0, I)``.
    """
    w, mu, cov = _check_model(model)
    n = check_int("n", n, 1)
    check_rng("rng", rng)
    chol = cholesky(cov)
    u = rng.random(w.shape[:-1] + (n, 1))
    labels = np.minimum((u >= np.cumsum(w, axis=-1)[..., None, :]).sum(-1), w.shape[-1] - 1)  # (..., n)
    z = rng.standard_normal(w.shape[:-1] + (n, mu.shape[-1]))
    x = np.zeros_like(z)
    for k in range(w.shape[-1]):
        x += (labels == k)[..., None] * (mu[..., k, None, :] + z @ np.swapaxes(chol[..., k, :, :], -1, -2))
    return x


def _overlap(a, b) -> np.ndarray:
    """``int p_a p_b dx = sum_ij a_i b_j N(mu_i - nu_j; 0, Sigma_i + Gamma_j)`` (products of Gaussians)."""
    wa, ma, ca = a
    wb, mb, cb = b
    diff_t = ma[..., :, None, :, None] - mb[..., None, :, :, None]  # (..., Ka, Kb, d, 1)
    dens = np.exp(log_normal(diff_t, cholesky(ca[..., :, None, :, :] + cb[..., None, :, :, :]))[..., 0])
    return (wa[..., :, None] * wb[..., None, :] * dens).sum(axis=(-2, -1))


def l2_distance(model_a, model_b) -> np.ndarray:
    """The paper's L2 distance between two mixtures, ``int (p_a - p_b)^2 dx`` (squared: no root, as the official
    code computes it), in closed form and broadcast over runs."""
    a, b = _check_model(model_a, name="model_a"), _check_model(model_b, name="model_b")
    squared = _overlap(a, a) + _overlap(b, b) - 2.0 * _overlap(a, b)
    return np.maximum(squared, 0.0)


def mixture_covariance(model) -> np.ndarray:
    """Covariance of the whole mixture: ``sum_k w_k (Sigma_k + mu_k mu_k^T) - mu mu^T``, shape ``(..., d, d)``."""
    w, mu, cov = _check_model(model)
    mean = (w[..., None] * mu).sum(-2)
    second = (w[..., None, None] * (cov + mu[..., :, None] * mu[..., None, :])).sum(-3)
    return second - mean[..., :, None] * mean[..., None, :]


def outer_contour(model, tail: float, n: int, rng: np.random.Generator) -> float:
    """The log-density level below which ``model`` puts mass ``tail``: its outer density contour.

    Estimated as the ``tail`` quantile of ``log p(x)`` over ``n`` points drawn from ``model``.
    """
    if not 0.0 < tail < 1.0:
        raise ValueError(f"tail must be in (0, 1), got {tail!r}")
    return float(np.quantile(score_samples(model, sample(model, n, rng)), tail))


def tail_mass(model, level: float, X) -> np.ndarray:
    """Share of the points of ``X`` (``(..., N, d)``) where ``model``'s log-density is below ``level``."""
    level = check_real("level", level)
    return (score_samples(model, X) < level).mean(axis=-1)


def family(n_components: int, warm_start: bool = True, **em) -> Family:
    """The mixture family for :func:`collapsebook.loop.run`: data ``(runs, N, d)`` with ``sample_axis=1``.

    ``em`` passes ``tol``, ``max_iter`` and ``reg_covar`` to :func:`fit`. Every fit starts from k-means, as
    the paper's, except, with ``warm_start``, the accumulate policy's refits of its pool: EM starts there from
    the previous generation's mixture, the pool's fit before one block was added, and skips k-means. It stops
    at the same tolerance, in about 2 iterations instead of 7 (``benchmarks/bench_gmm.py``).
    """
    n_components = check_int("n_components", n_components, 1)
    warm = (lambda previous, data, rng: fit(data, n_components, rng, init=previous, **em)) if warm_start else None
    return Family(fit=lambda data, rng: fit(data, n_components, rng, **em),
                  sample=lambda model, n, rng: sample(model, n, rng), warm_fit=warm)


def mixture(weights, means, covariances) -> dict:
    """A mixture dict from array-likes, checked (weights sum to 1, covariances positive definite)."""
    w, mu, cov = _check_model({"weights": weights, "means": means, "covariances": covariances})
    cholesky(cov)
    return {"weights": w, "means": mu, "covariances": cov}


# ---- validation ---------------------------------------------------------------------------------------------

def _check_data(X, name: str, n_components: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim < 2 or X.shape[-1] < 1:
        raise ValueError(f"{name} must have shape (N, d) or (runs, N, d) with d >= 1, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must hold finite numbers only (found NaN or inf)")
    if n_components is not None and X.shape[-2] < n_components:
        raise ValueError(f"{name} must hold at least n_components = {n_components} points, got {X.shape[-2]}")
    return X


def _check_model(model, d: int | None = None, n_components: int | None = None, name: str = "model"):
    """``(weights, means, covariances)`` as float arrays with consistent shapes, or a ValueError naming the key."""
    missing = [k for k in PARAMETERS if k not in model]
    if missing:
        raise ValueError(f"{name} must have the keys {PARAMETERS}; missing {missing}")
    w = check_probabilities(f"{name}['weights']", model["weights"])
    mu = np.asarray(model["means"], dtype=float)
    cov = np.asarray(model["covariances"], dtype=float)
    k, dim = w.shape[-1], mu.shape[-1] if mu.ndim else 0
    if mu.ndim < 2 or mu.shape[-2] != k:
        raise ValueError(f"{name}['means'] must have shape (..., K={k}, d), got {mu.shape}")
    if cov.shape[-3:] != (k, dim, dim) or cov.ndim < 3:
        raise ValueError(f"{name}['covariances'] must have shape (..., K={k}, d={dim}, d={dim}), got {cov.shape}")
    if d is not None and dim != d:
        raise ValueError(f"{name}['means'] must have dimension d = {d} like the data, got {dim}")
    if n_components is not None and k != n_components:
        raise ValueError(f"{name}['weights'] must have n_components = {n_components} entries, got {k}")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(cov))):
        raise ValueError(f"{name}['means'] and {name}['covariances'] must be finite")
    return w, mu, cov
