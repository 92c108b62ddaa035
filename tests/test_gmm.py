"""Tests of collapsebook.gmm (chapter 3): EM against scikit-learn, sampling, the L2 distance, bad input."""

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.mixture import GaussianMixture

from collapsebook import cli, gmm, loop, testing
from collapsebook.experiments import gmm as experiment

from test_discrete import chapter_tables  # the chapters' Markdown tables

TRUTH = experiment.TWO_GAUSSIANS
THREE = gmm.mixture([0.2, 0.5, 0.3], [[0.0, 0.0, 0.0], [2.0, 0.0, 1.0], [0.0, 3.0, -1.0]],
                    [np.eye(3), np.diag([0.5, 1.0, 2.0]), [[1.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 1.0]]])


def sklearn_fit(X, init, tol, max_iter):
    return GaussianMixture(len(init["weights"]), covariance_type="full", tol=tol, max_iter=max_iter,
                           weights_init=init["weights"], means_init=init["means"],
                           precisions_init=np.linalg.inv(init["covariances"])).fit(X)


def assert_same_up_to_permutation(model, reference):
    k = len(reference.weights_)
    order = min(itertools.permutations(range(k)),
                key=lambda p: np.abs(model["means"][list(p)] - reference.means_).sum())
    order = list(order)
    np.testing.assert_allclose(model["weights"][order], reference.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(model["means"][order], reference.means_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model["covariances"][order], reference.covariances_, rtol=1e-6, atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("truth, n_components, tol, max_iter", [
    (TRUTH, 2, 1e-3, 100), (TRUTH, 2, 1e-5, 2000), (experiment.ONE_BLOB, 2, 1e-5, 2000), (THREE, 3, 1e-4, 500),
    (TRUTH, 1, 1e-3, 100), (TRUTH, 3, 1e-4, 5),
])
def test_fit_matches_scikit_learn_from_the_same_initialisation(truth, n_components, tol, max_iter):
    rng = np.random.default_rng(1)
    X = gmm.sample(truth, 600, rng)
    init = gmm.initialize(X, n_components, rng)
    ours = gmm.fit(X, n_components, rng, init=init, tol=tol, max_iter=max_iter)
    reference = sklearn_fit(X, init, tol, max_iter)
    assert ours["n_iter"] == reference.n_iter_ and ours["converged"] == reference.converged_
    assert ours["log_likelihood"] == pytest.approx(reference.score(X), rel=1e-6)
    assert_same_up_to_permutation(ours, reference)


def test_batched_fit_equals_one_fit_per_run():
    rng = np.random.default_rng(2)
    X = gmm.sample(experiment.runs_of(TRUTH, 5), 300, rng)
    init = gmm.initialize(X, 2, rng)
    batched = gmm.fit(X, 2, rng, init=init, tol=1e-5, max_iter=500)
    for r in range(5):
        one = gmm.fit(X[r], 2, rng, init={k: init[k][r] for k in gmm.PARAMETERS}, tol=1e-5, max_iter=500)
        for key in ("weights", "means", "covariances", "log_likelihood", "n_iter", "converged"):
            np.testing.assert_allclose(batched[key][r], one[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch_bytes", [1, 2 * 8 * 2 * 2 * 300, 10**9], ids=["one-by-one", "two-runs", "all"])
def test_em_in_batches_gives_each_run_the_result_of_one_batch(monkeypatch, batch_bytes):
    """7 runs through EM in batches of 1, 2 (the last one alone) or all 7: the same fits, traces and iteration
    counts bit for bit (each run's arithmetic does not depend on the others)."""
    rng = np.random.default_rng(4)
    X = gmm.sample(experiment.runs_of(TRUTH, 7), 300, rng)
    init = gmm.initialize(X, 2, rng)
    monkeypatch.setattr(gmm, "EM_BATCH_BYTES", 10**9)
    together = gmm.fit(X, 2, rng, init=init, tol=1e-5, max_iter=500, trace=True)
    monkeypatch.setattr(gmm, "EM_BATCH_BYTES", batch_bytes)
    batches = gmm.fit(X, 2, rng, init=init, tol=1e-5, max_iter=500, trace=True)
    assert len(np.unique(together["n_iter"])) > 1  # runs stop at different iterations: traces of unequal length
    for key in together:
        np.testing.assert_array_equal(batches[key], together[key], err_msg=key)


@pytest.mark.parametrize("n_points, expected", [(1000, 32), (10_000, 3), (50_000, 1), (10**7, 1)])
def test_em_batches_hold_at_most_em_batch_bytes_of_temporaries(n_points, expected):
    assert gmm.batch_runs(n_points, 2, 2, batch_bytes=2**20) == expected


def test_em_batch_bytes_must_be_positive():
    with pytest.raises(ValueError, match="batch_bytes"):
        gmm.batch_runs(1000, 2, 2, batch_bytes=0)


def test_em_never_decreases_the_log_likelihood():
    rng = np.random.default_rng(3)
    X = gmm.sample(experiment.runs_of(experiment.ONE_BLOB, 20), 200, rng)
    model = gmm.fit(X, 3, rng, tol=1e-8, max_iter=300, trace=True)
    steps = np.diff(model["trace"], axis=-1)
    assert np.all(np.nan_to_num(steps, nan=0.0) >= -1e-12)  # EM's monotonicity, up to rounding
    last = model["trace"][np.arange(20), model["n_iter"] - 1]
    assert np.all(model["log_likelihood"] >= last - 1e-12)  # the final M-step did not lower it either
    assert np.all(np.isnan(model["trace"][model["n_iter"] < model["n_iter"].max(), -1]))


def test_sampling_reproduces_the_mixture_moments_and_weights():
    n = 200_000
    X = gmm.sample(TRUTH, n, np.random.default_rng(4))
    cov = gmm.mixture_covariance(TRUTH)
    mean = (TRUTH["weights"][:, None] * TRUTH["means"]).sum(0)
    # sample mean: standard error sqrt(Sigma_ii / n); 5 standard errors
    assert np.all(np.abs(X.mean(0) - mean) < 5 * np.sqrt(np.diag(cov) / n))
    # sample covariance: Var(x_i x_j) <= sqrt(E x_i^4 E x_j^4) ~ 3 Sigma_ii Sigma_jj-ish; bound with 10 / sqrt(n)
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.all(np.abs(np.cov(X.T) - cov) < 10 * scale / np.sqrt(n))
    # component shares: the means are far apart along x, so the sign of x - y/2 tells the component (binomial SE)
    share = np.mean(X[:, 0] < 0)
    assert abs(share - 0.5) < 5 * np.sqrt(0.25 / n) + 0.01  # + the overlap of the components, < 1 %


def test_sampling_is_batched_and_reproducible():
    models = experiment.runs_of(TRUTH, 4)
    a = gmm.sample(models, 50, np.random.default_rng(5))
    b = gmm.sample(models, 50, np.random.default_rng(5))
    assert a.shape == (4, 50, 2) and np.array_equal(a, b)


def test_score_samples_matches_scipy():
    X = gmm.sample(THREE, 100, np.random.default_rng(6))
    expected = np.log(sum(w * stats.multivariate_normal(m, c).pdf(X)
                          for w, m, c in zip(THREE["weights"], THREE["means"], THREE["covariances"])))
    np.testing.assert_allclose(gmm.score_samples(THREE, X), expected, rtol=1e-10)
    assert gmm.log_likelihood(THREE, X) == pytest.approx(expected.mean(), rel=1e-10)


def test_logsumexp_does_not_overflow():
    a = np.array([[1000.0, 1000.0], [-1000.0, -np.inf]])
    np.testing.assert_allclose(gmm.logsumexp(a), [1000.0 + np.log(2.0), -1000.0])


def test_logsumexp_matches_scipy():
    from scipy.special import logsumexp as reference

    a = np.random.default_rng(0).normal(scale=300.0, size=(3, 4, 7))
    for axis in (0, 1, -1):
        np.testing.assert_allclose(gmm.logsumexp(a, axis=axis), reference(a, axis=axis), rtol=1e-12)


def test_e_step_responsibilities_and_m_step_on_hard_labels():
    X = gmm.sample(TRUTH, 500, np.random.default_rng(7))
    resp, ll = gmm.e_step(TRUTH, X)
    assert resp.shape == (2, 500) and np.allclose(resp.sum(0), 1.0)
    assert ll == pytest.approx(gmm.log_likelihood(TRUTH, X))
    labels = (X[:, 0] > 0).astype(int)
    model = gmm.m_step(X, np.stack([labels == 0, labels == 1]).astype(float), reg_covar=1e-6)
    np.testing.assert_allclose(model["means"][1], X[labels == 1].mean(0))
    np.testing.assert_allclose(model["covariances"][1], np.cov(X[labels == 1].T, bias=True) + 1e-6 * np.eye(2))
    assert model["weights"][1] == pytest.approx(labels.mean())


def test_kmeans_separates_distant_clusters_and_seeds_on_data_points():
    rng = np.random.default_rng(8)
    far = gmm.mixture([0.5, 0.5], [[-20.0, 0.0], [20.0, 0.0]], [np.eye(2)] * 2)
    X = gmm.sample(experiment.runs_of(far, 6), 200, rng)
    seeds = gmm.kmeans_plusplus(X, 2, rng)
    assert all((X[r] == seeds[r, k]).all(-1).any() for r in range(6) for k in range(2))
    labels = gmm.kmeans_labels(X, 2, rng)
    for r in range(6):
        assert len(set(zip(labels[r], X[r, :, 0] > 0))) == 2  # one label per side


def test_l2_distance_closed_form():
    one = gmm.mixture([1.0], [[0.0]], [[[1.0]]])
    shifted = gmm.mixture([1.0], [[1.5]], [[[1.0]]])
    # int (N(0, 1) - N(m, 1))^2 = (1 - exp(-m^2 / 4)) / sqrt(pi): the squared distance, with no root
    expected = (1.0 - np.exp(-1.5**2 / 4)) / np.sqrt(np.pi)
    assert gmm.l2_distance(one, shifted) == pytest.approx(expected, rel=1e-12)
    assert gmm.l2_distance(TRUTH, TRUTH) == pytest.approx(0.0, abs=1e-7)
    runs = experiment.runs_of(TRUTH, 3)
    assert gmm.l2_distance(runs, experiment.ONE_BLOB).shape == (3,)
    assert gmm.l2_distance(TRUTH, experiment.ONE_BLOB) == pytest.approx(gmm.l2_distance(experiment.ONE_BLOB, TRUTH))


def test_l2_distance_of_a_narrow_blob_is_its_self_overlap():
    # int N(x; mu, S)^2 dx = 1 / (4 pi sqrt(det S)) in 2-D: a component of std 0.01 far from a unit blob
    # dominates the distance (the official run's last generation: std 0.010-0.011, distance ~536, not ~20).
    narrow = gmm.mixture([1.0], [[8.0, 0.0]], [np.eye(2) * 1e-4])
    expected = 1 / (4 * np.pi * 1e-4) + 1 / (4 * np.pi)
    assert gmm.l2_distance(narrow, experiment.ONE_BLOB) == pytest.approx(expected, rel=1e-6)


def test_l2_distance_matches_numerical_integration():
    grid = np.linspace(-9, 9, 721)
    xx, yy = np.meshgrid(grid, grid)
    points = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    gap = np.exp(gmm.score_samples(TRUTH, points)) - np.exp(gmm.score_samples(experiment.ONE_BLOB, points))
    numeric = (gap**2).sum() * (grid[1] - grid[0]) ** 2
    assert gmm.l2_distance(TRUTH, experiment.ONE_BLOB) == pytest.approx(numeric, rel=1e-4)


def test_tail_mass_beyond_the_outer_contour():
    rng = np.random.default_rng(9)
    level = gmm.outer_contour(TRUTH, 0.05, 400_000, rng)
    n = 100_000
    share = gmm.tail_mass(TRUTH, level, gmm.sample(TRUTH, n, rng))
    assert abs(share - 0.05) < 5 * np.sqrt(0.05 * 0.95 / n) + 5 * np.sqrt(0.05 * 0.95 / 400_000)  # binomial SEs
    narrow = dict(TRUTH, covariances=TRUTH["covariances"] / 4)
    assert gmm.tail_mass(TRUTH, level, gmm.sample(narrow, n, rng)) < 0.01


def test_family_in_the_loop_with_runs_on_axis_0():
    data = gmm.sample(experiment.runs_of(TRUTH, 3), 100, np.random.default_rng(10))
    history = loop.run(gmm.family(2, tol=1e-4), data, 4, sample_axis=1, progress=False)
    assert history["means"].shape == (5, 3, 2, 2) and history["n_train"].tolist() == [100] * 5


def test_chains_records_the_measures():
    history = experiment.chains(TRUTH, 200, 3, 3, n_components=1)
    assert history["l2"].shape == (4, 3) and history["covariance"].shape == (4, 3, 2, 2)
    assert np.all((history["tail_mass"] >= 0) & (history["tail_mass"] <= 1))
    best_single = gmm.mixture([1.0], [TRUTH["weights"] @ TRUTH["means"]], [gmm.mixture_covariance(TRUTH)])
    floor = gmm.l2_distance(best_single, TRUTH)  # one Gaussian cannot be two: the expressivity error
    assert np.all(history["l2"][0] > floor / 2)


def test_cli_run_and_resume(tmp_path, monkeypatch):
    tiny = {"n_samples": 50, "n_runs": 2, "n_generations": 2, "variant_generations": 2, "sizes": [40], "size_runs": 2,
            "size_generations": 2, "accumulate_samples": 30, "accumulate_generations": 2, "drift_runs": 3,
            "drift_generations": 2}
    monkeypatch.setitem(experiment.PRESETS, "ci", tiny)
    args = ["run", "gmm", "--scale", "ci", "--out", str(tmp_path), "--no-progress"]
    assert cli.main(args) == 0
    first = loop.History.load(tmp_path / "two")
    assert len(first) == 3 and len(loop.History.load(tmp_path / "policies" / "accumulate")) == 3
    assert cli.main(args + ["--resume"]) == 0
    np.testing.assert_array_equal(loop.History.load(tmp_path / "two")["l2"], first["l2"])
    # chapter 3 with RESULTS set reads them through run_cell: what a fresh run gives; other settings are refused
    for cell in experiment.cells(tiny):
        saved, fresh = (experiment.run_cell(cell, tiny, folder, seed=0) for folder in (tmp_path, None))
        saved, fresh = ({"": h} if isinstance(h, loop.History) else h for h in (saved, fresh))
        assert saved.keys() == fresh.keys(), cell
        for name, history in fresh.items():
            for key in history.keys():
                np.testing.assert_array_equal(saved[name][key], history[key], err_msg=f"{cell} {name} {key}")
    with pytest.raises(ValueError, match="other settings"):
        experiment.run_cell({"part": "two"}, tiny, tmp_path, seed=1)


@pytest.mark.parametrize("call, name", [
    (lambda: gmm.fit(np.zeros((1, 2)), 2, np.random.default_rng(0)), "X"),
    (lambda: gmm.fit(np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), 2, np.random.default_rng(0)), "X"),
    (lambda: gmm.fit(np.zeros(5), 1, np.random.default_rng(0)), "X"),
    (lambda: gmm.fit(np.zeros((2, 2, 5, 2)), 1, np.random.default_rng(0)), "X"),
    (lambda: gmm.fit(np.ones((5, 2)), 0, np.random.default_rng(0)), "n_components"),
    (lambda: gmm.fit(np.ones((5, 2)), 1, np.random.default_rng(0), tol=0.0), "tol"),
    (lambda: gmm.fit(np.ones((5, 2)), 1, np.random.default_rng(0), max_iter=0), "max_iter"),
    (lambda: gmm.fit(np.ones((5, 2)), 1, np.random.default_rng(0), reg_covar=-1.0), "reg_covar"),
    (lambda: gmm.fit(np.ones((5, 3)), 2, np.random.default_rng(0), init=TRUTH), "init"),
    (lambda: gmm.mixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), [[1.0, 2.0], [2.0, 1.0]]]),
     "covariances"),
    (lambda: gmm.mixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2), [[1.0, 0.5], [0.0, 1.0]]]),
     "covariances"),
    (lambda: gmm.mixture([0.5, 0.6], [[0.0, 0.0], [1.0, 1.0]], [np.eye(2)] * 2), "weights"),
    (lambda: gmm.mixture([0.5, 0.5], [[0.0, 0.0]], [np.eye(2)] * 2), "means"),
    (lambda: gmm.mixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [np.eye(3)] * 2), "covariances"),
    (lambda: gmm.sample(TRUTH, 0, np.random.default_rng(0)), "n"),
    (lambda: gmm.sample({"weights": [1.0], "means": [[0.0]]}, 3, np.random.default_rng(0)), "model"),
    (lambda: gmm.score_samples(TRUTH, np.zeros(4)), "X"),
    (lambda: gmm.outer_contour(TRUTH, 1.5, 10, np.random.default_rng(0)), "tail"),
])
def test_bad_input_raises_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_shrinkage_only_lowers_the_log_determinant_at_the_wishart_rate():
    shrunk = experiment.shrinkage_only(TRUTH, 300, 1000)
    assert shrunk["covariances"].shape == (301, 2, 2, 2) and shrunk["weights"].shape == (301, 2)
    np.testing.assert_allclose(shrunk["covariances"][0], TRUTH["covariances"] + 1e-6 * np.eye(2))
    np.testing.assert_array_equal(shrunk["means"][300], TRUTH["means"])
    drop = np.linalg.slogdet(shrunk["covariances"][300])[1] - np.linalg.slogdet(TRUTH["covariances"])[1]
    np.testing.assert_allclose(drop, -10 * 300 / 1000, atol=1e-4)  # 10 g / N in 2-D, the floor aside


# ---- accumulate: EM warm-started from the previous generation's mixture (issue 14) ----

def grown_pool(n_runs=6, n_points=2000, n_block=500, seed=20):
    """A pool of ``n_points`` per run, its cold fit, and the pool with a block from a shifted mixture added."""
    rng = np.random.default_rng(seed)
    pool = gmm.sample(experiment.runs_of(TRUTH, n_runs), n_points, rng)
    shifted = dict(TRUTH, means=TRUTH["means"] + 1.0)  # moves the pool's fit by a visible amount
    grown = np.concatenate([pool, gmm.sample(experiment.runs_of(shifted, n_runs), n_block, rng)], axis=1)
    return gmm.fit(pool, 2, rng, **experiment.EM), grown, rng


def test_warm_start_reaches_the_fit_of_a_cold_start_in_fewer_iterations():
    previous, grown, rng = grown_pool()
    warm = gmm.family(2, **experiment.EM).warm_fit(previous, grown, rng)
    cold = gmm.fit(grown, 2, rng, **experiment.EM)
    # Both stop once an iteration gains less than tol; EM contracts by far more than 1/2 per iteration on
    # these well-separated clusters, so each ends within tol of the same maximum.
    np.testing.assert_allclose(warm["log_likelihood"], cold["log_likelihood"], rtol=0, atol=experiment.EM["tol"])
    assert np.all(warm["log_likelihood"] - gmm.log_likelihood(previous, grown) > 100 * experiment.EM["tol"])
    for run in range(len(grown)):  # the same mixture (components in either order) ...
        fitted = {k: warm[k][run] for k in gmm.PARAMETERS}
        assert gmm.l2_distance(fitted, {k: cold[k][run] for k in gmm.PARAMETERS}) < 1e-3 * gmm.l2_distance(
            fitted, {k: previous[k][run] for k in gmm.PARAMETERS})
    assert warm["n_iter"].max() < cold["n_iter"].min()  # ... in fewer iterations, with no k-means


def pool_fits(policy, n_generations=5, folder=None, family=None):
    """Each generation's model and training pool under ``policy`` (3 runs of 100 points)."""
    data = gmm.sample(experiment.runs_of(TRUTH, 3), 100, np.random.default_rng(21))
    pools = []
    history = loop.run(family or gmm.family(2, **experiment.EM), data, n_generations, policy=policy, sample_axis=1,
                       measure=lambda model, train, g: pools.append(np.array(train)) or {},
                       checkpoint_dir=folder, progress=False)
    return history, pools


def test_accumulate_refits_each_pool_from_the_previous_generations_mixture():
    history, pools = pool_fits("accumulate")
    assert [p.shape[1] for p in pools] == [100 * (g + 1) for g in range(6)]
    for g in range(1, len(history)):
        before = {k: history[k][g - 1] for k in gmm.PARAMETERS}
        expected = gmm.fit(pools[g], 2, np.random.default_rng(), init=before, **experiment.EM)  # rng unused
        for key in gmm.PARAMETERS:
            np.testing.assert_array_equal(history[key][g], expected[key], err_msg=f"generation {g}, {key}")


@pytest.mark.parametrize("policy, warm_start", [("replace", True), ("accumulate", False)])
def test_replace_and_a_cold_family_fit_from_k_means(policy, warm_start):
    history, pools = pool_fits(policy, 3, family=gmm.family(2, warm_start=warm_start, **experiment.EM))
    for g in range(1, len(history)):
        rng = loop.generation_rng(0, g)
        gmm.sample({k: history[k][g - 1] for k in gmm.PARAMETERS}, 100, rng)  # the loop's new block, drawn first
        expected = gmm.fit(pools[g], 2, rng, **experiment.EM)  # then k-means and EM on the same stream
        for key in gmm.PARAMETERS:
            np.testing.assert_array_equal(history[key][g], expected[key], err_msg=f"generation {g}, {key}")


def test_accumulate_with_warm_starts_resumes_bit_for_bit(tmp_path):
    whole, _ = pool_fits("accumulate", 5)
    pool_fits("accumulate", 2, folder=tmp_path)
    resumed, _ = pool_fits("accumulate", 5, folder=tmp_path)
    for key in gmm.PARAMETERS:
        np.testing.assert_array_equal(resumed[key], whole[key])


def test_accumulate_warm_and_cold_end_equally_far_from_the_original():
    """The warm start changes where each fit starts, not the law of the chain: over 64 runs from the same data and
    random streams, the mean of (warm - cold) log L2 distance after 10 generations is 0 within 4 standard errors."""
    data = gmm.sample(experiment.runs_of(TRUTH, 64), 200, np.random.default_rng(22))
    final = {}
    for warm_start in (True, False):
        history = loop.run(gmm.family(2, warm_start=warm_start, **experiment.EM), data, 10, policy="accumulate",
                           sample_axis=1, seed=3, progress=False)
        final[warm_start] = np.log(gmm.l2_distance({k: history[k][-1] for k in gmm.PARAMETERS}, TRUTH))
    testing.assert_mean_within(final[True] - final[False], 0.0, z=4, what="mean log L2, warm - cold")


def test_chapter_3_quotes_its_presets():
    """Each fact once: the runs, generations and sizes the runtime table and the paper box state are the
    presets'."""
    runtime, box = chapter_tables("03_gmm")
    for scale, p in experiment.PRESETS.items():
        sizes = ", ".join(f"{n:,}" for n in p["sizes"])
        assert runtime[scale]["what runs"] == (
            f"{p['n_runs']} runs × {p['n_generations']} generations, N = {p['n_samples']}; sizes {sizes} over "
            f"{p['size_generations']} generations; {p['drift_runs']} short chains"), scale
        assert box["N per generation"][scale] == str(p["n_samples"]) and box["runs"][scale] == str(p["n_runs"])
        variants = "" if p["variant_generations"] == p["n_generations"] else f" (variants {p['variant_generations']})"
        assert box["generations"][scale] == f"{p['n_generations']}{variants}", scale
        assert f"accumulate (N = {p['accumulate_samples']}, {p['accumulate_generations']} generations)" in (
            box["policy"][scale]), scale
        if scale != "paper":
            assert box["L2 vs N"][scale] == f"two Gaussians; {sizes}; {p['size_generations']} generations", scale
    paper = experiment.PRESETS["paper"]
    assert box["L2 vs N"]["paper"] == f"two Gaussians; same sizes, {paper['size_runs']} runs each"
    assert box["L2 vs N"]["paper (official notebook)"].startswith(
        f"one blob; {', '.join(f'{n:,}' for n in paper['sizes'])}; {paper['n_generations']} generations")


def test_fit_from_a_given_start_needs_no_rng():
    """rng draws only the k-means initialisation: from ``init`` EM is deterministic (bench_gmm times it so)."""
    X = np.random.default_rng(5).normal(size=(200, 2))
    start = gmm.fit(X, 2, np.random.default_rng(0), max_iter=1)
    fits = [gmm.fit(X, 2, rng, init=start, max_iter=5) for rng in (None, np.random.default_rng(1))]
    np.testing.assert_array_equal(fits[0]["means"], fits[1]["means"])
