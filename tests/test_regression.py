"""Tests of chapter 6's regression family, its closed forms under each policy and strong collapse.

Statistical tests use fixed seeds and compare a Monte-Carlo mean with its expectation within z = 4 standard
errors (a false alarm has probability about 6e-5 per comparison); each also checks that the closed form one
generation earlier or later is farther than that, so an off-by-one would fail. The loop subsamples each chain
on its own, so accumulate-subsample is judged on the chains of one run as well as on independent runs.
"""

import numpy as np
import pytest
from scipy import stats

from collapsebook import loop, regression
from collapsebook.testing import assert_mean_within, assert_within, mean_and_se

Z = 4.0
SIGMA = 0.5  # not 1, so that sigma and sigma**2 differ
W = np.array([1.0, -0.5, 0.25, 2.0])
D = W.size


def assert_matches_one_generation_only(mean, se, curve, g, z=Z, margin=0.0):
    """``mean`` is within ``z se + margin`` of ``curve[g]`` and ``curve[g - 1]``, ``curve[g + 1]`` lie more
    than twice that bound from ``curve[g]``, so an off-by-one fails and the check is powered (a false alarm on
    either side needs a deviation beyond the bound)."""
    assert_within(mean, curve[g], se, z, margin, what=f"generation {g}")
    bound = z * se + margin
    assert min(abs(curve[g] - curve[g - 1]), abs(curve[g + 1] - curve[g])) > 2 * bound, (g, curve, se, margin)


def run_chains(policy, n_samples, n_chains, n_generations, seed, shared_design=False, **kwargs):
    """Errors ``||w_g - w||**2`` of ``n_chains`` chains run by ``loop.run``: shape ``(G + 1, chains)``."""
    rng = np.random.default_rng(seed)
    rows = regression.design(n_samples, D, rng, None if shared_design else n_chains)
    data = regression.sample(np.broadcast_to(W, (n_chains, D)), rows, SIGMA, n_samples, rng)
    history = loop.run(regression.family(rows, SIGMA), data, n_generations, policy=policy, seed=seed,
                       sample_axis=1, progress=False, **kwargs)
    return regression.squared_error(history["w"], W), rows


# ---- data, fit, sample -------------------------------------------------------------------------------------

def test_fit_is_least_squares_per_chain():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.standard_normal((3, 20, D)), rng.standard_normal((3, 20, 1))], axis=-1)
    fitted = regression.fit(points)
    assert fitted.shape == (3, D)
    for c in range(3):
        np.testing.assert_allclose(fitted[c], np.linalg.lstsq(points[c, :, :-1], points[c, :, -1])[0])


def test_noiseless_labels_are_fitted_exactly():
    rows = regression.design(10, D, np.random.default_rng(1))
    np.testing.assert_allclose(regression.fit(np.column_stack([rows, rows @ W])), W)


def test_sample_labels_each_chain_on_its_own_order_of_the_design():
    rng = np.random.default_rng(2)
    rows = regression.design(8, D, rng)
    points = regression.sample(np.broadcast_to(W, (5, D)), rows, SIGMA, 16, rng)
    assert points.shape == (5, 16, D + 1)
    for chain in points:  # n = 2 T: every row twice (Gaussian rows differ in every coordinate)
        np.testing.assert_array_equal(np.sort(chain[:, 0]), np.sort(np.repeat(rows[:, 0], 2)))
        np.testing.assert_allclose(chain[:, :-1].T @ chain[:, :-1], 2 * rows.T @ rows)
    assert len({tuple(chain[:8, 0]) for chain in points}) > 1  # the orders differ between chains


def test_sample_noise_has_standard_deviation_sigma():
    rng = np.random.default_rng(3)
    rows = regression.design(50, D, rng, 400)
    points = regression.sample(W, rows, SIGMA, 50, rng)
    residuals = points[..., -1] - points[..., :-1] @ W
    n = residuals.size  # sample variance of n normal draws: standard error sigma^2 sqrt(2 / (n - 1))
    assert abs(residuals.var(ddof=1) - SIGMA**2) <= Z * SIGMA**2 * np.sqrt(2 / (n - 1))
    assert abs(residuals.mean()) <= Z * SIGMA / np.sqrt(n)


def test_running_sums_fit_what_the_pool_fits():
    rng = np.random.default_rng(4)
    blocks = [regression.sample(W, regression.design(12, D, rng, 3), SIGMA, 12, rng) for _ in range(3)]
    gram = None
    for block in blocks:
        gram = regression.merge_gram(gram, block)
    np.testing.assert_allclose(regression.fit_gram(gram), regression.fit(np.concatenate(blocks, axis=1)))


# ---- closed forms ------------------------------------------------------------------------------------------

def test_growth_factors_and_their_bounds():
    np.testing.assert_allclose(regression.error_growth(3, "replace"), [1, 2, 3, 4])
    np.testing.assert_allclose(regression.error_growth(2, "accumulate"), [1, 1.25, 1.25 + 1 / 9])
    np.testing.assert_allclose(regression.error_growth(2, "accumulate-subsample"), [1, 1.75, 3.75 + 1 / 3 - 2])
    long = {policy: regression.error_growth(10_000, policy) for policy in loop.POLICIES}
    assert long["accumulate"][-1] < np.pi**2 / 6 and np.pi**2 / 6 - long["accumulate"][-1] < 1e-3
    assert long["accumulate-subsample"][-1] < np.pi**2 / 2 - 2 < long["accumulate-subsample"][-1] + 1e-3
    assert np.all(np.diff(long["accumulate-subsample"]) > 0)


def test_subsample_influences_add_up_to_the_growth_factor():
    for g in range(6):
        total = sum(regression.subsample_influence(g, j)[-1] for j in range(g + 1))
        assert np.isclose(total, regression.error_growth(g, "accumulate-subsample")[-1])
    np.testing.assert_allclose(regression.subsample_influence(4, 2)[0], 1 / 3)  # picked with probability 1/3


def test_theory_is_one_fit_error_times_growth():
    np.testing.assert_allclose(regression.theory(3, 14, D, SIGMA, "replace"), SIGMA**2 * D / 9 * np.arange(1, 5))


def test_one_fit_error_over_random_designs_is_sigma_squared_d_over_t_minus_d_minus_one():
    # T - d - 1 = 9: T - d instead would be 10 % off, sigma instead of sigma**2 100 %
    rng = np.random.default_rng(5)
    rows = regression.design(14, D, rng, 40_000)
    mean, se = mean_and_se(regression.squared_error(regression.fit(regression.sample(W, rows, SIGMA, 14, rng)), W))
    assert_within(mean, regression.ols_error(14, D, SIGMA), se)
    assert abs(mean - SIGMA**2 * D / (14 - D)) > 2 * Z * se


def test_design_error_is_the_trace_of_the_inverse_gram():
    rows = regression.design(30, D, np.random.default_rng(6), 2)
    expected = [SIGMA**2 * np.trace(np.linalg.inv(x.T @ x)) for x in rows]
    np.testing.assert_allclose(regression.design_error(rows, SIGMA), expected)


# ---- the family in the loop ------------------------------------------------------------------------------

def test_replace_in_the_loop_grows_by_one_fit_error_per_generation():
    errors, _ = run_chains("replace", 14, 16_000, 9, seed=7)
    mean, se = mean_and_se(errors[-1])
    assert_matches_one_generation_only(mean, se, regression.theory(10, 14, D, SIGMA, "replace"), 9)


@pytest.mark.parametrize("seed", [8, 9])
def test_accumulate_in_the_loop_follows_the_inverse_square_sum(seed):
    errors, _ = run_chains("accumulate", 14, 20_000, 2, seed=seed)
    curve = regression.theory(3, 14, D, SIGMA, "accumulate")
    assert_matches_one_generation_only(*mean_and_se(errors[1]), curve, 1)
    assert_mean_within(errors[2], curve[2])


def test_given_one_design_the_closed_forms_hold_with_its_trace():
    errors, rows = run_chains("accumulate", 30, 20_000, 2, seed=10, shared_design=True)
    curve = regression.design_error(rows, SIGMA) * regression.error_growth(3, "accumulate")
    assert_matches_one_generation_only(*mean_and_se(errors[1]), curve, 1)


def test_accumulate_refitting_the_pool_equals_running_sums():
    kwargs = dict(original_fraction=0.25, seed=11)
    running, _ = run_chains("accumulate", 12, 5, 3, **kwargs)
    pooled, _ = run_chains("accumulate", 12, 5, 3, measure=lambda model, train, g: {"n": train.shape[1]}, **kwargs)
    np.testing.assert_allclose(running, pooled, rtol=1e-9)


def test_accumulate_subsample_in_the_loop_over_independent_runs():
    # 24 runs of 250 chains; T = 100, d = 4: the approximation is within d / T (measured about 0.5 d / T)
    runs = np.stack([run_chains("accumulate-subsample", 100, 250, 2, seed=s)[0].mean(axis=1) for s in range(24)])
    curve = regression.theory(3, 100, D, SIGMA, "accumulate-subsample")
    t = stats.t.ppf(1 - 3e-5, df=runs.shape[0] - 1)
    assert_matches_one_generation_only(*mean_and_se(runs[:, 1], axis=0), curve, 1, z=t, margin=D / 100 * curve[1])
    assert_mean_within(runs[:, 2], curve[2], z=t, axis=0, margin=D / 100 * curve[2])


def test_accumulate_subsample_approximation_holds_at_a_longer_horizon():
    # subsamples written out here (independent of the loop's own draws); horizon 5
    rng, n_samples, n_chains = np.random.default_rng(12), 100, 3000
    rows = regression.design(n_samples, D, rng, n_chains)
    pool = regression.sample(W, rows, SIGMA, n_samples, rng)
    w_hat = regression.fit(pool)
    for _ in range(5):
        pool = np.concatenate([pool, regression.sample(w_hat, rows, SIGMA, n_samples, rng)], axis=1)
        keep = np.argsort(rng.random(pool.shape[:2]), axis=1)[:, :n_samples]
        w_hat = regression.fit(np.take_along_axis(pool, keep[..., None], axis=1))
    mean, se = mean_and_se(regression.squared_error(w_hat, W))
    expected = regression.theory(5, n_samples, D, SIGMA, "accumulate-subsample")[-1]
    assert_within(mean, expected, se, margin=D / n_samples * expected)
    assert mean < regression.theory(5, n_samples, D, SIGMA, "replace")[-1] / 2  # bounded, replace is not


def test_accumulate_subsample_chains_of_one_loop_run_follow_the_approximation():
    # one run of 6000 chains (subsampled independently): mean within z standard errors plus the d / T margin
    errors, _ = run_chains("accumulate-subsample", 100, 6000, 2, seed=14)
    curve = regression.theory(3, 100, D, SIGMA, "accumulate-subsample")
    assert_matches_one_generation_only(*mean_and_se(errors[1]), curve, 1, margin=D / 100 * curve[1])
    assert_mean_within(errors[2], curve[2], margin=D / 100 * curve[2])


# ---- strong collapse ---------------------------------------------------------------------------------------

W_SYNTHETIC = W + np.array([0.6, 0.0, -0.8, 0.0])  # ||w_synthetic - w||**2 = 1


@pytest.mark.parametrize("n_total, share, n_chains", [(20, 0.5, 8000), (100, 0.2, 4000), (14, 0.0, 16_000)])
def test_mixed_error_matches_simulation(n_total, share, n_chains):
    rng = np.random.default_rng(13)
    points = regression.mixed_sample(np.broadcast_to(W, (n_chains, D)), W_SYNTHETIC, n_total, share, rng, SIGMA)
    assert_mean_within(regression.squared_error(regression.fit(points), W),
                       regression.mixed_error(n_total, share, D, SIGMA))


def test_spread_of_the_synthetic_weight_matrix_matches_simulation():
    # E||W^-1 W_s D||**2 / ||D||**2 at N = 12, half synthetic: 0.394 (the large-N (d + 1) / N would give 0.354)
    rng, n_total, n_chains = np.random.default_rng(16), 12, 100_000
    x = rng.standard_normal((n_chains, n_total, D))
    weights = np.linalg.solve(x.mT @ x, x[:, 6:].mT @ x[:, 6:])
    assert_mean_within((weights**2).sum(axis=(1, 2)) / D, 0.25 + 0.25 * regression.mix_spread(n_total, D))
    np.testing.assert_allclose(regression.mix_spread(10**6, D), (D + 1) / 10**6, rtol=1e-5)


def test_mixed_error_of_all_real_or_all_synthetic_data():
    one_fit = regression.ols_error(30, D, SIGMA)
    np.testing.assert_allclose(regression.mixed_error(30, 0.0, D, SIGMA, bias_sq=2.0), one_fit)
    np.testing.assert_allclose(regression.mixed_error(30, 1.0, D, SIGMA, bias_sq=2.0), one_fit + 2.0)


def test_mixed_sample_labels_the_synthetic_share_by_the_wrong_model():
    points = regression.mixed_sample(W, W_SYNTHETIC, 10, 0.3, np.random.default_rng(14), SIGMA)
    residual_real = points[:7, -1] - points[:7, :-1] @ W
    residual_synthetic = points[7:, -1] - points[7:, :-1] @ W_SYNTHETIC
    assert np.abs(np.concatenate([residual_real, residual_synthetic])).max() < 5 * SIGMA


def test_strong_collapse_leaves_a_floor_that_more_data_does_not_remove():
    rng = np.random.default_rng(15)
    points = regression.mixed_sample(np.broadcast_to(W, (500, D)), W_SYNTHETIC, 2000, 0.2, rng, SIGMA)
    mean, se = mean_and_se(regression.squared_error(regression.fit(points), W))
    assert_within(mean, regression.mixed_error(2000, 0.2, D, SIGMA), se)
    assert regression.error_floor(0.2) == pytest.approx(0.04)
    assert mean > 0.9 * regression.error_floor(0.2)  # 2000 points, a fifth synthetic: nowhere near 0
    sizes = np.array([10, 100, 10_000, 10**7])
    np.testing.assert_allclose(regression.mixed_error(sizes, 0.2, D, SIGMA)[-1], 0.04, rtol=1e-5)
    assert regression.mixed_error(10**7, 0.0, D, SIGMA) < 1e-6


# ---- bad input ---------------------------------------------------------------------------------------------

ROWS = np.ones((10, D))


@pytest.mark.parametrize("call, name", [
    (lambda: regression.design(5, 4, np.random.default_rng()), r"n_samples .*d \+ 1 = 5"),
    (lambda: regression.design(10, 2.5, np.random.default_rng()), "d must be an integer"),
    (lambda: regression.design(10, 2, np.random.default_rng(), n_chains=0), "n_chains"),
    (lambda: regression.family(ROWS, sigma=-1.0), "sigma must be a finite number > 0"),
    (lambda: regression.family(ROWS[:5]), r"n_samples .*d \+ 1 = 5"),
    (lambda: regression.family(np.ones(5)), "rows must be a finite array of shape"),
    (lambda: regression.sample(np.ones(3), ROWS, 1.0, 5, np.random.default_rng()), "w must have shape"),
    (lambda: regression.sample(W, ROWS, 1.0, 0, np.random.default_rng()), "n must be an integer >= 1"),
    (lambda: regression.ols_error(5, 4), r"n_samples .*d \+ 1 = 5"),
    (lambda: regression.ols_error(10, 0), "d must be an integer >= 1"),
    (lambda: regression.ols_error(10, 2, sigma=np.nan), "sigma"),
    (lambda: regression.error_growth(3, "keep-all"), "policy must be one of"),
    (lambda: regression.error_growth(-1), "n_generations"),
    (lambda: regression.subsample_influence(3, 4), r"block must be an integer in \[0, 3\]"),
    (lambda: regression.mixed_error(100, 1.5, 4), r"share must be a number in \[0, 1\]"),
    (lambda: regression.mixed_error(100, 0.2, 4, bias_sq=-1.0), "bias_sq must be a number in \\[0, inf\\]"),
    (lambda: regression.mixed_error([100, 5], 0.2, 4), r"n_samples .*d \+ 1 = 5"),
    (lambda: regression.mixed_sample(W, W, 100, -0.1, np.random.default_rng()), "share"),
    (lambda: regression.merge_gram(None, np.ones(4)), "points must have shape"),
])
def test_bad_input_names_the_parameter_and_the_allowed_range(call, name):
    with pytest.raises(ValueError, match=name):
        call()
