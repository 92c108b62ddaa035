"""Chapter 6: linear regression refitted to its own labels, the one model whose collapse is solved exactly.

Setting of Gerstgrasser et al. 2024 ("Is model collapse inevitable?"): a design ``X`` of ``T`` rows and ``d``
features, rows i.i.d. ``N(0, I)``, fixed for the whole chain; labels ``y = X w + eps``, ``eps ~ N(0, sigma**2)``.
Generation 0 fits ordinary least squares (OLS) to the real labels; generation ``g >= 1`` fits OLS to labels drawn
from generation ``g - 1``'s fit on the same rows, ``X w_(g-1) + eps_g``, alone (replace) or pooled with every
earlier block (accumulate). The error of a fit is ``||w_g - w||**2`` (the excess test error on ``N(0, I)`` inputs).

A data point is a row with its label, ``[x, y]``, so data have shape ``(..., M, d + 1)``: leading axes are
independent chains (``sample_axis=1`` in :func:`collapsebook.loop.run`) and the loop's pools, subsamples and
kept original points carry each label with its own row. Generation ``g`` here is the paper's ``n = g + 1``
fits (Gerstgrasser et al. number the models from 1, the fit to real data being ``n = 1``).

The loop draws accumulate-subsample positions and kept original points independently for every chain
(:func:`collapsebook.loop.draw_without_replacement`), so chains run together are independent under every policy
and their average is compared with the closed forms within the chains' standard error.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_choice, check_fraction, check_int, check_positive, check_range
from .loop import POLICIES, Family

# ---- data: a fixed design, labels from a model, OLS ------------------------------------------------------


def design(n_samples: int, d: int, rng: np.random.Generator, n_chains: int | None = None) -> np.ndarray:
    """A Gaussian design: ``n_samples`` rows i.i.d. ``N(0, I_d)``, shape ``(T, d)`` or ``(n_chains, T, d)``.

    ``T = n_samples`` must exceed ``d + 1``: then ``X^T X`` is invertible and ``E[(X^T X)^-1] = I / (T - d - 1)``
    (the mean of an inverse Wishart matrix), the factor in every closed form of this module.
    """
    d = check_int("d", d, 1)
    n_samples = _check_rows(n_samples, d)
    lead = () if n_chains is None else (check_int("n_chains", n_chains, 1),)
    return rng.standard_normal(lead + (n_samples, d))


def sample(w, rows, sigma: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points ``[x, x . w + sigma * eps]`` on the rows of the design ``rows`` (``(..., T, d)``).

    Each chain (leading axes of ``w`` (``(..., d)``) and ``rows``, broadcast) takes the design's rows in its own
    random order, cycled when ``n > T``: ``n = T`` gives every row once, ``n = k T`` every row ``k`` times
    (``n < T``: a random subset). The order changes no fit (OLS sees a set of points). Shape ``(..., n, d + 1)``.
    """
    w, rows = np.asarray(w, dtype=float), _check_design("rows", rows)
    if w.ndim < 1 or w.shape[-1] != rows.shape[-1]:
        raise ValueError(f"w must have shape (..., d) with d = {rows.shape[-1]} (the design's), got {w.shape}")
    sigma, n = check_positive("sigma", sigma), check_int("n", n, 1)
    lead = np.broadcast_shapes(w.shape[:-1], rows.shape[:-2])
    order = rng.permuted(np.broadcast_to(np.arange(rows.shape[-2]), lead + rows.shape[-2:-1]), axis=-1)
    index = order[..., np.arange(n) % rows.shape[-2]]
    x = np.take_along_axis(np.broadcast_to(rows, lead + rows.shape[-2:]), index[..., None], axis=-2)
    y = np.einsum("...nd,...d->...n", x, w) + sigma * rng.standard_normal(lead + (n,))
    return np.concatenate([x, y[..., None]], axis=-1)


def fit(points) -> np.ndarray:
    """The OLS fit ``w = (X^T X)^-1 X^T y`` to points ``[x, y]`` of shape ``(..., M, d + 1)``: shape ``(..., d)``."""
    return fit_gram(merge_gram(None, points))


def merge_gram(gram, points) -> dict:
    """Running sufficient statistics of OLS, ``{"xx": X^T X, "xy": X^T y}``, with ``points`` merged in.

    ``gram`` is None before the first points. OLS on a pool depends on it only through these sums, so the
    accumulate policy adds each block once and never holds the pool.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim < 2 or points.shape[-1] < 2:
        raise ValueError(f"points must have shape (..., M, d + 1) with d >= 1, got shape {points.shape}")
    x, y = points[..., :-1], points[..., -1]
    block = {"xx": np.einsum("...ni,...nj->...ij", x, x), "xy": np.einsum("...ni,...n->...i", x, y)}
    return block if gram is None else {key: gram[key] + block[key] for key in block}


def fit_gram(gram) -> np.ndarray:
    """The OLS fit from the sums of :func:`merge_gram`: the solution of ``X^T X w = X^T y``."""
    return np.linalg.solve(gram["xx"], gram["xy"][..., None])[..., 0]


def squared_error(w_hat, w) -> np.ndarray:
    """``||w_hat - w||**2`` over the last axis: the excess test error of ``w_hat`` on ``N(0, I)`` inputs."""
    return ((np.asarray(w_hat, dtype=float) - np.asarray(w, dtype=float)) ** 2).sum(axis=-1)


def family(rows, sigma: float = 1.0) -> Family:
    """The regression family for :func:`collapsebook.loop.run` (``sample_axis=1``) on the fixed design ``rows``.

    ``rows`` has shape ``(T, d)`` (one design shared by every chain) or ``(chains, T, d)`` (one per chain);
    models are ``{"w": (chains, d)}``; a sample of ``n`` points labels the design's rows (see :func:`sample`)
    with noise ``sigma``, the noise of the real labels. The original data are ``sample(w, rows, sigma, T, rng)``
    with ``w`` broadcast to ``(chains, d)``.
    Its running statistics are ``X^T X`` and ``X^T y`` (:func:`merge_gram`), so ``policy="accumulate"``
    never keeps the pool (same fit up to rounding).
    """
    rows, sigma = _check_design("rows", rows), check_positive("sigma", sigma)
    _check_rows(rows.shape[-2], rows.shape[-1])
    return Family(fit=lambda data, rng: {"w": fit(data)},
                  sample=lambda model, n, rng: sample(model["w"], rows, sigma, n, rng),
                  update=merge_gram,
                  fit_state=lambda gram, rng: {"w": fit_gram(gram)})


# ---- closed forms: E||w_g - w||**2 under each policy -------------------------------------------------------


def ols_error(n_samples: int, d: int, sigma: float = 1.0) -> float:
    """``E||w_0 - w||**2 = sigma**2 d / (T - d - 1)``: one OLS fit on ``T`` Gaussian rows (exact).

    ``w_0 - w = (X^T X)^-1 X^T eps`` has covariance ``sigma**2 (X^T X)^-1`` given ``X``, whose trace has mean
    ``d / (T - d - 1)`` over the design.
    """
    d = check_int("d", d, 1)
    return check_positive("sigma", sigma) ** 2 * d / (_check_rows(n_samples, d) - d - 1)


def design_error(rows, sigma: float = 1.0) -> np.ndarray:
    """``E[||w_0 - w||**2 | X] = sigma**2 tr((X^T X)^-1)`` for the given design(s) ``(..., T, d)`` (exact).

    The closed forms of :func:`theory` hold given the design with this in place of :func:`ols_error`.
    """
    rows = _check_design("rows", rows)
    gram = np.einsum("...ni,...nj->...ij", rows, rows)
    return check_positive("sigma", sigma) ** 2 * np.trace(np.linalg.inv(gram), axis1=-2, axis2=-1)


def error_growth(n_generations: int, policy: str = "replace") -> np.ndarray:
    """``E||w_g - w||**2`` in units of one fit's error, for generations ``g = 0 .. n_generations``.

    With ``A = (X^T X)^-1 X^T`` (so ``A X = I``), ``e_g = w_g - w`` and ``A eps_i`` independent, mean zero, each
    of squared norm ``sigma**2 tr((X^T X)^-1)`` in expectation:

    - ``"replace"``: ``w_g = A (X w_(g-1) + eps_g) = w_(g-1) + A eps_g``, so ``e_g = A eps_0 + ... + A eps_g``
      and the error is ``g + 1`` units (exact): it grows without bound.
    - ``"accumulate"``: OLS on ``g + 1`` copies of ``X`` averages the blocks' fits,
      ``(g + 1) w_g = w + A eps_0 + sum_(i=1..g) (w_(i-1) + A eps_i)``; subtracting the same line for ``g - 1``
      gives ``e_g = e_(g-1) + A eps_g / (g + 1)``, so ``e_g = sum_i A eps_i / (i + 1)`` and the error is
      ``sum_(k=1..g+1) 1 / k**2`` units (exact), below ``pi**2 / 6``.
    - ``"accumulate-subsample"``: ``T`` points drawn without replacement from the pool of ``(g + 1) T``.
      Approximately ``3 sum_(k=1..g+1) 1 / k**2 - 2`` units, below ``pi**2 / 2 - 2 = 2.93`` (derivation in
      :func:`subsample_influence`; exact at ``g = 0``, relative error of order ``d / T`` after: simulation
      lies above it by roughly ``0.5 d / T``, measured 3-6 % at ``T = 50, d = 4`` and ``T = 100, d = 8``, 1 %
      at ``T = 400, d = 8``, within the standard error at ``T = 200, d = 4``).
      Bounded like accumulate, at about 1.8 times its error.

    In the paper's numbering ``n = g + 1`` these are ``n``, ``sum_(k<=n) 1/k**2`` and ``3 sum_(k<=n) 1/k**2 - 2``.
    """
    n_fits = np.arange(1, check_int("n_generations", n_generations, 0) + 2)
    inverse_squares = np.cumsum(1.0 / n_fits**2)
    growth = {"replace": n_fits.astype(float), "accumulate": inverse_squares,
              "accumulate-subsample": 3 * inverse_squares - 2}
    return growth[check_choice("policy", policy, POLICIES)]


def subsample_influence(n_generations: int, block: int) -> np.ndarray:
    """Mean square weight ``E[a_g**2]`` with which one noise draw of ``block`` ``j`` enters ``e_g`` under
    accumulate-subsample, for ``g = j .. n_generations`` (the approximation behind :func:`error_growth`).

    Write ``e_g`` as a sum over the pool's points ``(i, r)`` (block ``i``, row ``r``) of
    ``a_g(i, r) (X^T X)^-1 x_r eps_(i,r)``. The fit on the subsample ``S`` is
    ``e_g = (X_S^T X_S)^-1 sum_((i,r) in S) x_r (x_r^T e_(i-1) + eps_(i,r))``. To leading order in ``d / T``,
    ``X_S^T X_S ~ X^T X`` and the share of block ``i`` in ``S`` is its mean ``1 / (g + 1)``, so
    ``e_g = sum_(i=1..g) e_(i-1) / (g + 1) + sum_((i,r) in S) (X^T X)^-1 x_r eps_(i,r)``. A point is in ``S``
    with probability ``1 / (g + 1)`` (indicator ``s_g``, independent across generations), and solving the
    recursion gives ``a_g = s_g + sum_(k=j..g-1) s_k / (k + 2)``: mean ``1 / (j + 1)`` at every ``g``, and
    ``E[a_g**2] = 1 / (j + 1)**2 + g / (g + 1)**2 + sum_(k=j..g-1) k / ((k + 1)**2 (k + 2)**2)``.
    Noise draws are independent, so ``E||e_g||**2 = sigma**2 tr((X^T X)^-1) sum_j E[a_g(j)**2]``, and the sum
    over ``j = 0 .. g`` telescopes to ``3 sum_(k=1..g+1) 1 / k**2 - 2``. Neglected: the subsample's own design
    (rows drawn twice or not at all) and the spread of the blocks' shares, both of relative order ``d / T``.
    """
    n_generations = check_int("n_generations", n_generations, 0)
    j = check_int("block", block, 0, n_generations)
    g = np.arange(j, n_generations + 1)
    k = np.arange(j, n_generations)
    tail = np.concatenate([[0.0], np.cumsum(k / ((k + 1.0) ** 2 * (k + 2.0) ** 2))])
    return 1.0 / (j + 1) ** 2 + g / (g + 1.0) ** 2 + tail


def theory(n_generations: int, n_samples: int, d: int, sigma: float = 1.0, policy: str = "replace") -> np.ndarray:
    """``E||w_g - w||**2`` for ``g = 0 .. n_generations`` over chains and Gaussian designs:
    ``sigma**2 d / (T - d - 1)`` times :func:`error_growth` (given one design, use :func:`design_error`)."""
    return ols_error(n_samples, d, sigma) * error_growth(n_generations, policy)


# ---- strong collapse: one training set with a fixed share of synthetic points ------------------------------


def n_synthetic(n_total, share) -> np.ndarray:
    """How many of ``n_total`` points are synthetic at ``share``: ``round(share * n_total)``."""
    return np.rint(check_fraction("share", share) * np.asarray(n_total)).astype(int)


def mixed_sample(w, w_synthetic, n_total: int, share: float, rng: np.random.Generator,
                 sigma: float = 1.0) -> np.ndarray:
    """``n_total`` points on fresh ``N(0, I)`` rows: the first ``n_total - n_synthetic`` labelled by the true
    ``w``, the rest by the wrong model ``w_synthetic`` (both ``(..., d)``, broadcast), all with noise ``sigma``.
    Shape ``(..., n_total, d + 1)``."""
    w, w_synthetic = np.broadcast_arrays(np.asarray(w, dtype=float), np.asarray(w_synthetic, dtype=float))
    if w.ndim < 1:
        raise ValueError("w and w_synthetic must have shape (..., d)")
    n_total = _check_rows(n_total, w.shape[-1])
    synthetic = np.arange(n_total) >= n_total - n_synthetic(n_total, share)
    x = rng.standard_normal(w.shape[:-1] + (n_total, w.shape[-1]))
    labels = np.where(synthetic[:, None], w_synthetic[..., None, :], w[..., None, :])
    y = (x * labels).sum(axis=-1) + check_positive("sigma", sigma) * rng.standard_normal(x.shape[:-1])
    return np.concatenate([x, y[..., None]], axis=-1)


def mixed_error(n_total, share: float, d: int, sigma: float = 1.0, bias_sq: float = 1.0) -> np.ndarray:
    """``E||w_hat - w||**2`` of OLS on ``N`` points of which a share ``p`` is labelled by a wrong model
    (Dohmatob et al. 2024, "Strong model collapse"); ``bias_sq = ||w_synthetic - w||**2``, ``N = n_total``.
    Exact: ``sigma**2 d / (N - d - 1) + ||D||**2 (p**2 + p (1 - p) c_N)`` with :func:`mix_spread` ``c_N``.

    With ``W = X^T X`` over all ``N`` rows, ``W_s`` over the synthetic ones and ``D = w_synthetic - w``:
    ``w_hat - w = W^-1 W_s D + W^-1 X^T eps``. The noise term is ``sigma**2 d / (N - d - 1)`` and uncorrelated
    with the first. The rows are exchangeable, so ``E[W^-1 x_i x_i^T] = I / N`` and ``E[W^-1 W_s] = p I``: the
    bias term is ``p**2 ||D||**2`` plus the spread of ``W^-1 W_s`` around ``p I``, which shrinks like
    ``(d + 1) / N``. The error falls to the floor :func:`error_floor` ``= p**2 ||D||**2`` as ``N`` grows, not to
    0, for every ``p > 0``.
    """
    d = check_int("d", d, 1)
    n_total = np.asarray(n_total)
    for n in np.unique(n_total):
        _check_rows(n.item(), d)
    p = n_synthetic(n_total, share) / n_total
    bias_sq = check_range("bias_sq", bias_sq, 0, np.inf)
    noise = check_positive("sigma", sigma) ** 2 * d / (n_total - d - 1)
    return noise + bias_sq * (p**2 + p * (1 - p) * mix_spread(n_total, d))


def mix_spread(n_total, d: int) -> np.ndarray:
    """``c_N = ((d + 1) N**2 - (d + 5) N + 2 (d + 1)) / ((N - 1) (N + 2) (N - d - 1))``, about ``(d + 1) / N``:
    ``E||W^-1 W_s D||**2 = ||D||**2 (p**2 + p (1 - p) c_N)`` in :func:`mixed_error` (exact).

    By rotation invariance ``E||W^-1 W_s D||**2 = ||D||**2 E tr(W_s W^-2 W_s) / d``. ``U = W^-1/2 W_s W^-1/2``
    is independent of ``W`` (Olkin & Rubin 1964), and ``E[W_li (W^-1)_jk] = (N d_li d_jk - d_lj d_ik -
    d_lk d_ij) / (N - d - 1)`` (from ``W W^-1 = I`` and a Schur complement), so ``E tr(W_s W^-2 W_s) =
    E[(N - 1) tr U**2 - (tr U)**2] / (N - d - 1)``. In the hat matrix ``H = X W^-1 X^T`` (a projection of
    rank ``d``), ``tr U`` is the sum of the synthetic rows' leverages ``h_i ~ Beta(d / 2, (N - d) / 2)``, which
    add up to ``d`` over all rows, and ``tr U**2`` the sum of ``H_ij**2`` over synthetic pairs, with
    ``sum_j H_ij**2 = h_i``; these moments give ``c_N``.
    """
    n = np.asarray(n_total, dtype=float)
    d = check_int("d", d, 1)
    return ((d + 1) * n**2 - (d + 5) * n + 2 * (d + 1)) / ((n - 1) * (n + 2) * (n - d - 1))


def error_floor(share: float, bias_sq: float = 1.0) -> float:
    """The limit of :func:`mixed_error` as the total size grows at a fixed synthetic share ``p``:
    ``p**2 ||w_synthetic - w||**2``, above 0 for every ``p > 0``."""
    return check_fraction("share", share) ** 2 * check_range("bias_sq", bias_sq, 0, np.inf)


# ---- input checks ------------------------------------------------------------------------------------------


def _check_rows(n_samples, d: int) -> int:
    """``n_samples`` (the design's rows ``T``) as an int ``> d + 1``, where ``E[(X^T X)^-1]`` is finite."""
    return check_int(f"n_samples (rows T; must exceed d + 1 = {d + 1})", n_samples, d + 2)


def _check_design(name: str, rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=float)
    if rows.ndim < 2 or rows.shape[-1] < 1 or not np.all(np.isfinite(rows)):
        raise ValueError(f"{name} must be a finite array of shape (..., T, d), got shape {rows.shape}")
    return rows
