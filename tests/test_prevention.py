"""Chapter 6's experiment (cells of a policy grid, shares of real data, strong collapse) and the Gaussian's
fresh-data closed form."""

import numpy as np
import pytest

from collapsebook import cli, gaussian, loop, regression
from collapsebook.experiments import prevention as chapter

TINY = {"share": 0.2,
        "discrete": {"n_samples": 20, "n_chains": 6, "n_generations": 3},
        "gaussian": {"n_samples": 20, "n_chains": 6, "n_generations": 3},
        "gmm": {"n_samples": 60, "n_chains": 2, "n_generations": 2},
        "regression": {"n_samples": 20, "n_chains": 6, "n_generations": 3},
        "shares": [0.1, 0.5], "shares_gaussian": {"n_samples": 20, "n_chains": 6, "n_generations": 3},
        "shares_gmm": {"n_samples": 60, "n_chains": 2, "n_generations": 2},
        "strong_sizes": [12, 40], "strong_shares": [0.0, 0.5], "strong_chains": 30}


def test_cells_cover_every_family_and_part_once():
    names = [cell["name"] for cell in chapter.cells(TINY)]
    assert names == ["grid-discrete", "grid-gaussian", "grid-gmm", "grid-regression", "shares-gaussian",
                     "shares-gmm", "strong"]
    assert "shares-gmm" not in [cell["name"] for cell in chapter.cells(chapter.PRESETS["ci"])]


@pytest.mark.parametrize("family", chapter.FAMILIES)
def test_a_grid_cell_runs_every_policy_from_the_same_start(family):
    runs = chapter.run_cell({"part": "grid", "family": family}, TINY, seed=1)
    assert list(runs) == list(chapter.grid_policies(0.2))
    size = TINY[family]
    for name, history in runs.items():
        assert history["error"].shape == (size["n_generations"] + 1, size["n_chains"])
        assert np.all(history["error"] >= 0)
        np.testing.assert_array_equal(history["error"][0], runs["replace"]["error"][0])  # one generation 0
    growth = [int(runs[p]["n_train"][-1]) for p in ("replace", "accumulate")]
    assert growth == [size["n_samples"], size["n_samples"] * (size["n_generations"] + 1)]


def test_the_fresh_points_of_each_family_are_real_data():
    """Generation 1 of the fresh policy at share 1 fits fresh real data only: its error is that of a fit to real
    data, which is what generation 0 has (same law, same sizes); checked on the regression family's mean error."""
    preset = dict(TINY, share=1.0, regression={"n_samples": 20, "n_chains": 4000, "n_generations": 1})
    fresh = chapter.run_cell({"part": "grid", "family": "regression"}, preset, seed=2)["fresh"]["error"]
    se = np.hypot(*fresh.std(axis=1, ddof=1)) / np.sqrt(fresh.shape[1])
    assert abs(fresh[1].mean() - fresh[0].mean()) < 4 * se
    assert not np.allclose(fresh[1], fresh[0])  # new points, not the original ones again


def test_share_cells_run_replace_and_each_share_of_fresh_and_original_data():
    runs = chapter.run_cell({"part": "shares", "family": "gaussian"}, TINY, seed=0)
    assert list(runs) == ["replace", "fresh-0.1", "original-0.1", "fresh-0.5", "original-0.5"]


def test_strong_collapse_cell_matches_its_closed_form():
    result = chapter.strong_collapse([14, 60], [0.0, 0.25], 4000, seed=3)
    for i, share in enumerate(result["shares"]):
        errors = result["errors"][i]
        expected = regression.mixed_error(result["sizes"], share, chapter.D_REGRESSION, chapter.SIGMA,
                                          float(np.sum(chapter.DRIFT**2)))
        se = errors.std(axis=-1, ddof=1) / np.sqrt(errors.shape[-1])
        assert np.all(np.abs(errors.mean(axis=-1) - expected) < 4 * se), (errors.mean(axis=-1), expected, se)


def test_the_cli_runs_every_cell_into_its_folder_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setitem(chapter.PRESETS, "ci", TINY)
    args = ["run", "prevention", "--scale", "ci", "--out", str(tmp_path), "--no-progress"]
    assert cli.main(args) == 0
    folders = {p.name for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders == {c["name"] for c in chapter.cells(TINY)}
    first = loop.History.load(tmp_path / "grid-gmm" / "fresh")
    assert len(first) == 3
    assert cli.main(args + ["--resume"]) == 0
    again = chapter.run_cell({"part": "grid", "family": "gmm"}, TINY, tmp_path / "grid-gmm", seed=0)
    np.testing.assert_array_equal(again["fresh"]["means"], first["means"])
    strong = chapter.run_cell({"part": "strong"}, TINY, tmp_path / "strong", seed=0)
    assert strong["errors"].shape == (2, 2, 30)
    with pytest.raises(ValueError, match="other settings"):
        chapter.run_cell({"part": "strong"}, TINY, tmp_path / "strong", seed=1)


# ---- the Gaussian with fresh data: E[mu_g**2] and E[sigma_g**2] ---------------------------------------------

def fresh_chains(n_samples, n_fresh, n_chains, n_generations, seed):
    data = np.random.default_rng(seed).standard_normal((n_chains, n_samples))
    return loop.run(gaussian.family("unbiased"), data, n_generations, fresh_fraction=n_fresh / n_samples,
                    fresh=lambda n, rng: rng.standard_normal((n_chains, n)), sample_axis=1, seed=seed,
                    progress=False)


@pytest.mark.parametrize("n_fresh, seed", [(0, 4), (3, 5), (15, 6)])
def test_fresh_data_moments_match_simulation(n_fresh, seed):
    history = fresh_chains(30, n_fresh, 20_000, 12, seed)
    theory = gaussian.fresh_data_moments(12, 30, n_fresh)
    for key, values in (("mean_sq", history["mean"] ** 2), ("var", history["std"] ** 2)):
        for g in (1, 4, 12):
            se = values[g].std(ddof=1) / np.sqrt(values.shape[1])
            assert abs(values[g].mean() - theory[key][g]) < 4 * se, (key, g, values[g].mean(), theory[key][g])


def test_fresh_data_moments_without_fresh_data_are_chapter_2s():
    theory = gaussian.fresh_data_moments(5, 40, 0)
    np.testing.assert_allclose(theory["mean_sq"], np.arange(1, 7) / 40)
    np.testing.assert_allclose(theory["var"], 1.0)
    assert theory["limit_mean_sq"] == np.inf


def test_fresh_data_moments_reach_their_fixed_point():
    theory = gaussian.fresh_data_moments(2000, 100, 5)
    assert theory["mean_sq"][-1] == pytest.approx(theory["limit_mean_sq"], rel=1e-9)
    assert theory["limit_mean_sq"] == pytest.approx(1 / (100 * (1 - 0.95**2) - 100 / 99 * 0.95**2))
    # for l M >> 1 about 1 / (M l (2 - l)), with a relative error about 1 / (2 l M)
    for n_fresh in (5, 20, 50):
        limit, lam = gaussian.fresh_data_moments(1, 100, n_fresh)["limit_mean_sq"], n_fresh / 100
        assert limit == pytest.approx(1 / (100 * lam * (2 - lam)), rel=1 / (lam * 100))


@pytest.mark.parametrize("args, name", [((5, 1, 0), "n_samples"), ((5, 10, 11), "n_fresh"),
                                        ((-1, 10, 1), "n_generations"), ((5, 10, 0.5), "n_fresh")])
def test_fresh_data_moments_bad_input_names_the_parameter(args, name):
    with pytest.raises(ValueError, match=name):
        gaussian.fresh_data_moments(*args)
