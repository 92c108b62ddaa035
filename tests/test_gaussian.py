"""Tests of chapter 2's Gaussian family, its closed forms, W2 between Gaussians and the `gaussian` experiment.

Statistical tests use fixed seeds and compare a Monte-Carlo mean with its expectation within z = 4 standard
errors (a false alarm has probability about 6e-5 per comparison).
"""

import numpy as np
import pytest
from scipy import stats

from collapsebook import cli, gaussian, loop, metrics
from collapsebook.testing import assert_mean_within, assert_within

from test_discrete import assert_cli_folder_reads_like_a_fresh_run, chapter_tables  # shared with chapter 1
from collapsebook.experiments import gaussian as experiment

Z = 4.0


# ---- fit and sample ------------------------------------------------------------------------------------

def test_fit_shapes_and_estimators():
    samples = np.random.default_rng(0).normal(2.0, 3.0, (5, 7, 40))
    unbiased, mle = gaussian.fit(samples), gaussian.fit(samples, "mle")
    assert unbiased["mean"].shape == unbiased["std"].shape == (5, 7)
    assert unbiased["std"].dtype == np.float64
    np.testing.assert_allclose(unbiased["mean"], samples.mean(axis=-1))
    np.testing.assert_allclose(unbiased["std"] ** 2 * 39, mle["std"] ** 2 * 40)
    np.testing.assert_allclose(mle["std"], np.std(samples, axis=-1))  # the official notebook's np.std


@pytest.mark.parametrize("estimator", gaussian.ESTIMATORS)
def test_fit_needs_two_samples(estimator):
    with pytest.raises(ValueError, match="n_samples"):
        gaussian.fit(np.zeros((3, 1)), estimator)


def test_bad_estimator():
    with pytest.raises(ValueError, match="estimator"):
        gaussian.fit(np.zeros((3, 5)), "ddof2")
    with pytest.raises(ValueError, match="estimator"):
        gaussian.family("biased")


def test_sample_shape_and_moments():
    rng = np.random.default_rng(1)
    draws = gaussian.sample(np.array([0.0, 5.0]), np.array([1.0, 0.5]), 20_000, rng)
    assert draws.shape == (2, 20_000)
    assert_within(draws[1].mean(), 5.0, 0.5 / np.sqrt(20_000), Z)
    # Sample variance of n normal draws: standard error sigma^2 sqrt(2 / (n - 1)).
    assert_within(draws[1].var(ddof=1), 0.25, 0.25 * np.sqrt(2 / 19_999), Z)
    assert gaussian.sample(0.0, 1.0, 3, rng).shape == (3,)


def test_sample_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="std"):
        gaussian.sample(0.0, -1.0, 5, rng)
    with pytest.raises(ValueError, match="std"):
        gaussian.sample(0.0, np.nan, 5, rng)
    with pytest.raises(ValueError, match="n "):
        gaussian.sample(0.0, 1.0, 0, rng)
    assert np.all(gaussian.sample(1.0, 0.0, 4, rng) == 1.0)  # a point mass, where a long chain ends


def test_fit_multivariate_matches_numpy():
    samples = np.random.default_rng(2).standard_normal((3, 30, 4))
    for estimator, ddof in (("unbiased", 1), ("mle", 0)):
        fitted = gaussian.fit_multivariate(samples, estimator)
        assert fitted["mean"].shape == (3, 4) and fitted["cov"].shape == (3, 4, 4)
        for c in range(3):
            np.testing.assert_allclose(fitted["cov"][c], np.cov(samples[c].T, ddof=ddof))


def test_fit_multivariate_rejects_bad_input():
    with pytest.raises(ValueError, match="n_samples"):
        gaussian.fit_multivariate(np.zeros((2, 3, 3)))  # M = 3 points cannot give a non-singular 3x3 covariance
    with pytest.raises(ValueError, match="samples"):
        gaussian.fit_multivariate(np.zeros(5))


def test_sample_multivariate():
    rng = np.random.default_rng(3)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    draws = gaussian.sample_multivariate(np.array([1.0, -1.0]), cov, 50_000, rng)
    assert draws.shape == (50_000, 2)
    # Each covariance entry is a mean of 50,000 products; its s.e. is at most sqrt((C_ii C_jj + C_ij^2) / n).
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=Z * np.sqrt((2 * 2 + 0.36) / 50_000))
    batched = gaussian.sample_multivariate(np.zeros((4, 3)), np.broadcast_to(np.eye(3), (4, 3, 3)), 6, rng)
    assert batched.shape == (4, 6, 3)


def test_sample_multivariate_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="cov"):
        gaussian.sample_multivariate(np.zeros(3), np.eye(2), 5, rng)  # mismatched dimensions
    with pytest.raises(ValueError, match="cov"):
        gaussian.sample_multivariate(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]), 5, rng)
    with pytest.raises(ValueError, match="cov"):
        gaussian.sample_multivariate(np.zeros(2), np.array([[1.0, np.nan], [np.nan, 1.0]]), 5, rng)


def test_sample_multivariate_degenerate():
    """A singular covariance (a long chain's fate) gives draws on a line."""
    draws = gaussian.sample_multivariate(np.ones(2), np.ones((2, 2)), 100, np.random.default_rng(0))
    np.testing.assert_allclose(draws[:, 0], draws[:, 1])


def test_family_in_the_loop():
    rng = np.random.default_rng(4)
    history = loop.run(gaussian.family("mle"), rng.standard_normal((6, 20)), 5, sample_axis=1, progress=False)
    assert history["mean"].shape == history["std"].shape == (6, 6)
    data = rng.standard_normal((6, 20, 3))
    history = loop.run(gaussian.family(multivariate=True), data, 4, policy="accumulate", sample_axis=1,
                       progress=False)
    assert history["mean"].shape == (5, 6, 3) and history["cov"].shape == (5, 6, 3, 3)
    assert list(history["n_train"]) == [20, 40, 60, 80, 100]


# ---- the shortcut simulation ---------------------------------------------------------------------------

def test_simulate_shapes_and_record():
    run = gaussian.simulate(50, 30, 10, "unbiased", np.random.default_rng(0), record=[0, 5, 30, 5])
    assert list(run["generation"]) == [0, 5, 30]
    assert run["mean"].shape == run["std"].shape == (3, 50)
    full = gaussian.simulate(50, 30, 10, "unbiased", np.random.default_rng(0))
    np.testing.assert_array_equal(full["std"][[0, 5, 30]], run["std"])


def test_simulate_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_samples"):
        gaussian.simulate(10, 5, 1, "unbiased", rng)
    with pytest.raises(ValueError, match="std"):
        gaussian.simulate(10, 5, 10, "unbiased", rng, std=0.0)
    with pytest.raises(ValueError, match="mean"):
        gaussian.simulate(10, 5, 10, "unbiased", rng, mean=np.inf)
    with pytest.raises(ValueError, match="record"):
        gaussian.simulate(10, 5, 10, "unbiased", rng, record=[6])
    with pytest.raises(ValueError, match="n_chains"):
        gaussian.simulate(0, 5, 10, "unbiased", rng)


@pytest.mark.parametrize("estimator", gaussian.ESTIMATORS)
def test_simulate_has_the_law_of_sampling_and_fitting(estimator):
    """Cochran's theorem: the shortcut and the loop give the same law (two-sample KS test at level 1e-4)."""
    m, n_chains, n = 8, 3000, 6
    data = np.random.default_rng(5).standard_normal((n_chains, m))
    history = loop.run(gaussian.family(estimator), data, n, seed=5, sample_axis=1, progress=False)
    run = gaussian.simulate(n_chains, n, m, estimator, np.random.default_rng(6))
    for key in ("mean", "std"):
        assert stats.ks_2samp(history[key][-1], run[key][-1]).pvalue > 1e-4, key


def test_sample_sizes():
    assert list(gaussian.sample_sizes(5, 3)) == [5, 5, 5, 5]
    assert list(gaussian.sample_sizes(lambda g: 2 * (g + 1), 2)) == [2, 4, 6]
    assert list(gaussian.sample_sizes([3, 4, 5], 2)) == [3, 4, 5]
    with pytest.raises(ValueError, match="n_samples"):
        gaussian.sample_sizes([3, 4], 2)
    with pytest.raises(ValueError, match="n_samples"):
        gaussian.sample_sizes(2.5, 2)
    with pytest.raises(ValueError, match="n_generations"):
        gaussian.sample_sizes(5, -1)


def test_log_generations():
    g = gaussian.log_generations(1000, 50)
    assert g[0] == 0 and g[-1] == 1000 and np.all(np.diff(g) > 0) and len(g) <= 50
    assert list(gaussian.log_generations(3, 100)) == [0, 1, 2, 3]


# ---- closed forms --------------------------------------------------------------------------------------

def test_theory_closed_forms_constant_m():
    """Generation g is the paper's n = g + 1 (its first fit is n = 1): E[sigma^2] = (1 - 1/M)^n for the MLE and
    Var(X^(n+1)) = 1 + n / M for the unbiased estimator, with n = g + 1 fits so far."""
    m, n = 100, np.arange(11)
    unbiased, mle = gaussian.theory(10, m), gaussian.theory(10, m, "mle")
    np.testing.assert_allclose(unbiased["variance"], 1.0)
    np.testing.assert_allclose(unbiased["sample_variance"], 1 + (n + 1) / m)
    np.testing.assert_allclose(mle["variance"], (1 - 1 / m) ** (n + 1))
    np.testing.assert_allclose(mle["sample_variance"], 1.0)
    # E[W2^2] ~ (3/2)(n + 1)/M for n << M, up to O((n/M)^2) and O(1/M^2) terms.
    np.testing.assert_allclose(unbiased["w2_squared"], 1.5 * (n + 1) / m, rtol=0.05)
    assert gaussian.theory(5000, 100, "mle")["w2_squared"][-1] == pytest.approx(2.0, abs=1e-6)
    assert gaussian.theory(5000, 100)["w2_squared"][-1] > 50  # grows without bound
    np.testing.assert_allclose(gaussian.theory(3, 10, std=2.0)["w2_squared"], 4 * gaussian.theory(3, 10)["w2_squared"])


def test_theory_with_a_schedule():
    sizes = [10, 20, 40, 80]
    th = gaussian.theory(3, sizes)
    np.testing.assert_allclose(th["mean_error"], np.cumsum(1 / np.array(sizes)))
    np.testing.assert_allclose(th["std"], np.cumprod(gaussian.std_ratio_mean(np.array(sizes))))


def test_theory_rejects_bad_input():
    with pytest.raises(ValueError, match="std"):
        gaussian.theory(5, 10, std=0.0)
    with pytest.raises(ValueError, match="std"):
        gaussian.theory(5, 10, std=-1.0)
    with pytest.raises(ValueError, match="n_samples"):
        gaussian.theory(5, 1)


def test_std_ratio_mean():
    # E sqrt(chi2_k / k) by Monte Carlo (z = 4) and its expansion 1 - 1/(4k) + 1/(32k^2) for large k.
    draws = np.sqrt(np.random.default_rng(7).chisquare(4, 200_000) / 4)
    assert_mean_within(draws, gaussian.std_ratio_mean(5), Z)
    k = 1e4
    assert gaussian.std_ratio_mean(k + 1) == pytest.approx(1 - 1 / (4 * k) + 1 / (32 * k**2), abs=1e-10)
    assert gaussian.std_ratio_mean(5, "mle") == pytest.approx(gaussian.std_ratio_mean(5) * np.sqrt(4 / 5))


CLOSED_FORMS = ("variance", "std", "mean_error", "sample_variance", "w2_squared")


def per_chain(mean, std):
    """Per-chain values whose means over chains estimate each closed form of :func:`gaussian.theory` (N(0, 1))."""
    return {"variance": std**2, "std": std, "mean_error": mean**2, "sample_variance": mean**2 + std**2,
            "w2_squared": metrics.w2_gaussian_1d(mean, std, 0.0, 1.0, squared=True)}


def assert_closed_forms_to_the_generation(mean, std, g, n_samples, estimator, z=4.5, resolution=12.0):
    """The means over chains of generation g's fits match every closed form at g within z standard errors, and
    some closed form moves by more than ``resolution`` standard errors from g to g - 1 and to g + 1, so fits
    counted one generation early or late fail. z = 4.5 over 5 forms: a false alarm has probability 3e-5."""
    exact = gaussian.theory(g + 1, n_samples, estimator)
    shifts = []
    for key, values in per_chain(mean, std).items():
        se = values.std(ddof=1) / np.sqrt(values.size)
        assert_within(values.mean(), exact[key][g], se, z, what=key)
        shifts.append(np.abs(exact[key][[g - 1, g + 1]] - exact[key][g]) / se)
    assert np.max(shifts, axis=0).min() > resolution, shifts  # for each direction, one form resolves the shift


@pytest.mark.parametrize("n_samples", [10, [8, 16, 32, 64]])
@pytest.mark.parametrize("estimator", gaussian.ESTIMATORS)
def test_shortcut_matches_every_closed_form_to_the_generation(estimator, n_samples):
    """Generation 2 of 100,000 shortcut chains (the paper's n = 3: three fits) against the closed forms."""
    sizes = n_samples if np.ndim(n_samples) == 0 else n_samples[:3]  # M_0 .. M_2; theory needs M_3 too
    run = gaussian.simulate(100_000, 2, sizes, estimator, np.random.default_rng(8))
    assert_closed_forms_to_the_generation(run["mean"][2], run["std"][2], 2, n_samples, estimator)


@pytest.mark.parametrize("estimator", gaussian.ESTIMATORS)
def test_loop_matches_every_closed_form_to_the_generation(estimator):
    """The same through the package loop (sample M points, fit): generation 2 of 50,000 chains of M = 10."""
    data = np.random.default_rng(16).standard_normal((50_000, 10))
    history = loop.run(gaussian.family(estimator), data, 2, seed=16, sample_axis=1, progress=False)
    assert_closed_forms_to_the_generation(history["mean"][2], history["std"][2], 2, 10, estimator)


def test_generation_0_fits_the_original_sample():
    """Generation 0 is one fit: its mean is N(0, 1/M) and its variance sigma^2 chi2_(M-1) / (M - ddof), exactly
    (KS tests at level 1e-5); with no fit yet (mean 0, sd 1) or two fits these tests reject."""
    m, k = 10, 20_000
    for estimator in gaussian.ESTIMATORS:
        run = gaussian.simulate(k, 0, m, estimator, np.random.default_rng(17))
        assert stats.kstest(run["mean"][0], stats.norm(0, 1 / np.sqrt(m)).cdf).pvalue > 1e-5
        scaled = run["std"][0] ** 2 * (m - gaussian.ddof(estimator))
        assert stats.kstest(scaled, stats.chi2(m - 1).cdf).pvalue > 1e-5


def test_relative_variance_and_log_law():
    m, n, k = 20, 9, 20_000
    run = gaussian.simulate(k, n, m, "unbiased", np.random.default_rng(9))
    assert gaussian.relative_variance(0, m)[0] == pytest.approx(2 / (m - 1))
    # Var(sigma^2) from 20,000 chains: the relative variance of a sample variance of a light-tailed variable is
    # about (kurtosis - 1) / k, well below 5 % here; allow 15 %.
    assert np.var(run["std"][-1] ** 2) == pytest.approx(gaussian.relative_variance(n, m)[-1], rel=0.15)
    law = gaussian.log_variance_law(n, m)
    log_var = np.log(run["std"][-1] ** 2)
    assert_within(log_var.mean(), law["mean"][-1], np.sqrt(law["variance"][-1] / k), Z)
    assert np.var(log_var) == pytest.approx(law["variance"][-1], rel=Z * np.sqrt(2 / k) * 1.5)
    assert np.all(np.diff(law["mean"]) < 0)  # the random walk drifts down


def test_determinant_laws_against_wishart_samples():
    """One generation in d = 3 from N(0, I): E[det], Var(det) and E[log det] of the fitted covariance."""
    m, d, k = 12, 3, 20_000
    samples = np.random.default_rng(10).standard_normal((k, m, d))
    det = np.linalg.det(gaussian.fit_multivariate(samples)["cov"])
    expected = gaussian.determinant_ratio_mean(0, m, d)[0]
    assert expected == pytest.approx(np.prod([(m - j) / (m - 1) for j in (1, 2, 3)]))
    rse = np.sqrt(gaussian.relative_variance(0, m, d)[0] / k)
    assert_within(det.mean(), expected, rse * expected, Z)
    law = gaussian.log_variance_law(0, m, d=d)
    assert_within(np.log(det).mean(), law["mean"][0], np.sqrt(law["variance"][0] / k), Z)
    mle = gaussian.determinant_ratio_mean(0, m, d, "mle")[0]
    assert mle == pytest.approx(expected * ((m - 1) / m) ** d)


def test_dimension_checks():
    with pytest.raises(ValueError, match="n_samples"):
        gaussian.log_variance_law(3, 4, d=4)
    with pytest.raises(ValueError, match="d "):
        gaussian.determinant_ratio_mean(3, 10, 0)


# ---- W2 between Gaussians ------------------------------------------------------------------------------

def test_w2_gaussian_1d():
    assert metrics.w2_gaussian_1d(0, 1, 3, 5) == pytest.approx(5.0)
    assert metrics.w2_gaussian_1d(0, 1, 3, 5, squared=True) == pytest.approx(25.0)
    np.testing.assert_allclose(metrics.w2_gaussian_1d(np.zeros(3), np.ones(3), 0, 1), 0.0)
    with pytest.raises(ValueError, match="std2"):
        metrics.w2_gaussian_1d(0, 1, 0, -1)


def test_w2_gaussian_1d_matches_quantile_coupling():
    """W2 between two 1-D laws is the L2 distance between their quantile functions."""
    u = (np.arange(200_000) + 0.5) / 200_000
    q1, q2 = stats.norm.ppf(u, 1.0, 2.0), stats.norm.ppf(u, -0.5, 0.7)
    assert metrics.w2_gaussian_1d(1.0, 2.0, -0.5, 0.7) == pytest.approx(np.sqrt(np.mean((q1 - q2) ** 2)), rel=1e-3)


def test_w2_gaussian_multivariate():
    rng = np.random.default_rng(11)
    # d = 1 reduces to the 1-D formula; commuting (diagonal) covariances to sum (sqrt a - sqrt b)^2.
    assert metrics.w2_gaussian([0.0], [[4.0]], [1.0], [[1.0]]) == pytest.approx(metrics.w2_gaussian_1d(0, 2, 1, 1))
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + 3.0
    assert metrics.w2_gaussian(np.zeros(3), np.diag(a), np.ones(3), np.diag(b), squared=True) == pytest.approx(expected)
    # Symmetric, zero on equal laws, invariant under a common rotation, broadcast over leading axes.
    x = rng.standard_normal((4, 3, 3))
    covs = x @ np.swapaxes(x, -1, -2) + np.eye(3)
    means = rng.standard_normal((4, 3))
    forward = metrics.w2_gaussian(means, covs, means[::-1], covs[::-1])
    assert forward.shape == (4,)
    np.testing.assert_allclose(forward, metrics.w2_gaussian(means[::-1], covs[::-1], means, covs), rtol=1e-6)
    np.testing.assert_allclose(metrics.w2_gaussian(means, covs, means, covs), 0.0, atol=1e-6)
    rotation = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    rotated = metrics.w2_gaussian(means @ rotation.T, rotation @ covs @ rotation.T,
                                  means[::-1] @ rotation.T, rotation @ covs[::-1] @ rotation.T)
    np.testing.assert_allclose(rotated, forward, rtol=1e-6)


def test_w2_gaussian_rejects_bad_input():
    with pytest.raises(ValueError, match="mean"):
        metrics.w2_gaussian(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="cov2"):
        metrics.w2_gaussian(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="cov1"):
        metrics.w2_gaussian(np.zeros(2), np.array([[1.0, 2.0], [0.0, 1.0]]), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="cov1"):
        metrics.w2_gaussian(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]), np.zeros(2), np.eye(2))


# ---- the experiment and its command line ---------------------------------------------------------------

TINY = {"sizes": [10, 20], "n_generations": 20, "n_chains": 30, "n_recorded": 10,
        "policy_samples": 10, "policy_chains": 5, "policy_generations": 6,
        "schedule_m0": 4, "schedule_power": 1.5, "schedule_chains": 5, "schedule_generations": 5,
        "dims": [1, 3], "dim_samples": 8, "dim_chains": 5, "dim_generations": 4, "animation_frames": 3}


def test_presets_cover_every_scale():
    assert set(experiment.PRESETS) == {"ci", "book", "paper"}
    for preset in experiment.PRESETS.values():
        assert set(preset) == set(TINY)


def test_schedule():
    assert [experiment.schedule("constant", 10)(g) for g in range(3)] == [10, 10, 10]
    assert [experiment.schedule("linear", 10)(g) for g in range(3)] == [10, 20, 30]
    assert experiment.schedule("superlinear", 10, 1.5)(3) == 80


def test_experiment_parts_shapes():
    runs = experiment.recursion([10, 20], 20, 30, seed=0, n_recorded=10)
    assert set(runs) == {(e, m) for e in gaussian.ESTIMATORS for m in (10, 20)}
    assert runs["mle", 10]["std"].shape == (len(runs["mle", 10]["generation"]), 30)
    policies = experiment.policies(10, 5, 6, seed=0)
    assert policies["accumulate"]["n_train"][-1] == 70 and policies["replace"]["n_train"][-1] == 10
    schedules = experiment.schedules(4, 1.5, 5, 5, seed=0)
    assert list(schedules["linear"]["n_train"]) == [4, 8, 12, 16, 20, 24]
    dims = experiment.dimensions([3], 8, 5, 4, seed=0)
    assert dims[3]["cov"].shape == (5, 5, 3, 3)


def test_cli_runs_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(experiment.PRESETS, "ci", TINY)
    out = tmp_path / "gaussian"
    assert cli.main(["run", "gaussian", "--scale", "ci", "--out", str(out), "--no-progress"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert "recursion_mle_20.npz" in files and "policies" in files and "dimension_3.npz" in files
    first = experiment.recursion(TINY["sizes"], 20, 30, 0, 10, folder=out)
    (out / "schedule_linear.npz").unlink()  # an interrupted run: one part missing
    assert cli.main(["run", "gaussian", "--scale", "ci", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert (out / "schedule_linear.npz").exists()
    np.testing.assert_array_equal(first["unbiased", 10]["std"], experiment.recursion([10], 20, 30, 0, 10)[
        "unbiased", 10]["std"])
    with pytest.raises(ValueError, match="other settings"):
        experiment.recursion(TINY["sizes"], 20, 31, 0, 10, folder=out)  # other settings, same folder


def test_run_cell_on_the_command_lines_folder_equals_a_fresh_run(tmp_path, monkeypatch):
    """What chapter 2 plots with RESULTS set (run_cell reading the CLI's folder) is what it plots without."""
    assert_cli_folder_reads_like_a_fresh_run(experiment, "gaussian", TINY, tmp_path, monkeypatch)


def test_chapter_2_quotes_its_presets():
    """Each fact once: the sizes, chains and generations the runtime table and the paper box state are the
    presets'."""
    runtime, box = chapter_tables("02_gaussian")
    for scale, p in experiment.PRESETS.items():
        loop_chains = sorted({p["policy_chains"], p["schedule_chains"], p["dim_chains"]})
        loop_chains = [loop_chains[0], loop_chains[-1]] if len(loop_chains) > 1 else loop_chains  # "lo–hi"
        assert runtime[scale]["chains (recursion)"] == box["chains per $M$"][scale] == f"{p['n_chains']:,}"
        assert runtime[scale]["generations"] == box["generations"][scale] == f"{p['n_generations']:,}"
        assert runtime[scale]["loop chains"] == "–".join(f"{n:,}" for n in loop_chains), scale
        assert f"{p['policy_chains']:,} chains, {p['policy_generations']:,} generations" in box["policies"][scale]
        assert p["sizes"] == [100, 500, 1000, 10_000]  # the code's, which the box says every scale keeps
    assert box["sample sizes $M$"]["paper (code)"] == "100, 500, 1,000, 10,000"
    assert f"$M = {experiment.PRESETS['ci']['policy_samples']}$" in box["policies"]["ci"]
