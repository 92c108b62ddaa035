import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from collapsebook import cli, discrete
from collapsebook.experiments import discrete as experiment

from test_book import tables  # the chapters' Markdown tables

LAW = np.array([0.5, 0.3, 0.15, 0.04, 0.01])


def test_counts_match_bincount_per_row():
    samples = np.random.default_rng(0).integers(0, 5, size=(3, 4, 30))
    result = discrete.counts(samples, 5)
    assert result.shape == (3, 4, 5)
    for idx in np.ndindex(3, 4):
        np.testing.assert_array_equal(result[idx], np.bincount(samples[idx], minlength=5))


def test_fit_is_the_empirical_frequencies():
    np.testing.assert_allclose(discrete.fit([0, 0, 1, 3], 4), [0.5, 0.25, 0.0, 0.25])


def test_sample_shape_dtype_and_frequencies():
    rng = np.random.default_rng(1)
    n = 200_000
    samples = discrete.sample(LAW, n, rng)
    assert samples.shape == (n,) and np.issubdtype(samples.dtype, np.integer)
    frequencies = discrete.fit(samples, 5)
    # binomial standard error of each frequency; 5 s.e. bounds
    assert np.all(np.abs(frequencies - LAW) <= 5 * np.sqrt(LAW * (1 - LAW) / n))


def test_sample_never_draws_a_state_of_probability_zero():
    p = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    samples = discrete.sample(p, 1000, np.random.default_rng(2))
    assert set(np.unique(samples[0])) == {1}
    assert set(np.unique(samples[1])) == {0, 2}


def test_resample_is_unbiased_and_keeps_point_masses():
    rng = np.random.default_rng(3)
    n_chains, m = 50_000, 20
    refits = discrete.resample(np.broadcast_to(LAW, (n_chains, 5)), m, rng)
    sem = np.sqrt(LAW * (1 - LAW) / m / n_chains)  # standard error of the mean refit
    assert np.all(np.abs(refits.mean(axis=0) - LAW) <= 5 * sem)
    np.testing.assert_array_equal(discrete.resample([0, 1, 0], m, rng), [0, 1, 0])


def test_resample_matches_sample_then_fit_in_distribution():
    """The multinomial shortcut and sample-then-fit lose a rare state equally often."""
    n_chains, m, q = 20_000, 100, np.array([0.99, 0.01])
    laws = np.broadcast_to(q, (n_chains, 2))
    shortcut = (discrete.resample(laws, m, np.random.default_rng(4))[:, 1] == 0).mean()
    explicit = (discrete.fit(discrete.sample(laws, m, np.random.default_rng(5)), 2)[:, 1] == 0).mean()
    p = 0.99**m
    assert abs(shortcut - explicit) <= 5 * np.sqrt(2 * p * (1 - p) / n_chains)


def test_trajectories_start_with_the_fit_of_generation_0():
    """Row g is generation g's fit: row 0 already fits M = 50 points drawn from q (on the 1/50 grid, unbiased)."""
    laws = discrete.trajectories(LAW, 50, 7, 11, np.random.default_rng(6))
    assert laws.shape == (8, 11, 5)
    np.testing.assert_allclose(laws * 50, np.round(laws * 50), atol=1e-9)  # q itself (2.0, 0.5) is off the grid
    np.testing.assert_allclose(laws.sum(axis=-1), 1.0)
    first = discrete.trajectories(LAW, 50, 0, 20_000, np.random.default_rng(12))[0]
    assert np.all(np.abs(first.mean(axis=0) - LAW) <= 4 * np.sqrt(LAW * (1 - LAW) / 50 / 20_000))


def test_absorption_lands_on_state_k_with_probability_q_k():
    n = 20_000
    state, time = discrete.absorption(LAW, 20, n, np.random.default_rng(7))
    frequency = np.bincount(state, minlength=5) / n
    assert np.all(np.abs(frequency - LAW) <= 4 * np.sqrt(LAW * (1 - LAW) / n))
    assert time.min() >= 0


def test_absorption_time_is_the_first_generation_whose_fit_is_a_point_mass():
    """tau = 0 when generation 0's sample is already constant: always from a point mass, and for q = (0.9, 0.1)
    and M = 2 with probability 0.9^2 + 0.1^2 = 0.82 (binomial proportion, 4 standard errors)."""
    state, time = discrete.absorption([0.0, 1.0, 0.0], 30, 100, np.random.default_rng(13))
    assert np.all(time == 0) and np.all(state == 1)
    n = 20_000
    _, time = discrete.absorption([0.9, 0.1], 2, n, np.random.default_rng(14))
    assert abs((time == 0).mean() - 0.82) <= 4 * np.sqrt(0.82 * 0.18 / n)
    assert 1 - discrete.absorption_survival([0.9, 0.1], 2, 0)[0] == pytest.approx(0.82)


def count_vector_chain(q, m):
    """Reference for the exact law: the full chain on count vectors (multinomial transitions), restricted to its
    transient states (two or more states occupied). Returns the law of generation 0 and the transient block Q."""
    q = np.asarray(q)
    vectors = np.array([np.bincount(c, minlength=q.size)
                        for c in itertools.combinations_with_replacement(range(q.size), m)])
    step = np.array([stats.multinomial.pmf(vectors, m, c / m) for c in vectors])
    transient = vectors.max(axis=1) < m
    return stats.multinomial.pmf(vectors, m, q)[transient], step[np.ix_(transient, transient)]


@pytest.mark.parametrize("q, m", [([0.6, 0.3, 0.1], 6), (LAW, 4), ([0.5, 0.5], 9)])
def test_exact_law_matches_the_fundamental_matrix_of_the_chain_on_count_vectors(q, m):
    """One state at a time (the package) against all count vectors at once: P(tau > g) = a Q^g 1,
    E[tau] = a N 1 and E[tau^2] = a (2 N^2 - N) 1 with N = (I - Q)^-1."""
    start, block = count_vector_chain(q, m)
    fundamental = np.linalg.inv(np.eye(len(block)) - block)
    survival = [start @ np.linalg.matrix_power(block, g) @ np.ones(len(block)) for g in range(12)]
    np.testing.assert_allclose(discrete.absorption_survival(q, m, 11), survival, atol=1e-12)
    mean = start @ fundamental.sum(axis=1)
    second = start @ (2 * fundamental @ fundamental - fundamental).sum(axis=1)
    moments = discrete.absorption_time_moments(q, m)
    assert moments["mean"] == pytest.approx(mean, rel=1e-10)
    assert moments["variance"] == pytest.approx(second - mean**2, rel=1e-10)


def test_simulated_absorption_time_has_the_exact_law():
    """40,000 chains at M = 10: the mean of tau is within 4 standard errors of the exact mean, and 4 standard errors
    are below half a generation, so a time counted one generation late or early fails. The empirical survival is
    within the DKW bound (false alarm < 1e-5) of the exact one at every generation."""
    n, m = 40_000, 10
    _, time = discrete.absorption(LAW, m, n, np.random.default_rng(15))
    exact = discrete.absorption_time_moments(LAW, m)
    se = np.sqrt(exact["variance"] / n)
    assert 4 * se < 0.5
    assert abs(time.mean() - exact["mean"]) <= 4 * se, (time.mean(), exact["mean"], se)
    generations = np.arange(time.max() + 1)
    empirical = (time[None, :] > generations[:, None]).mean(axis=1)
    dkw = np.sqrt(np.log(2 / 1e-5) / (2 * n))
    assert np.abs(empirical - discrete.absorption_survival(LAW, m, time.max())).max() <= dkw
    assert time.var() == pytest.approx(exact["variance"], rel=0.1)  # sample variance: ~2 % s.e. here


@pytest.mark.parametrize("m", [10, 100, 1000])
def test_diffusion_approximation_approaches_the_exact_mean(m):
    """Relative error below log(M) / M (measured: 0.10, 0.014, 0.0018), and the -1 of the book's numbering."""
    exact = discrete.absorption_time_moments(LAW, m)["mean"]
    diffusion = discrete.diffusion_absorption_time(LAW, m)
    assert diffusion == pytest.approx(-2 * m * np.sum((1 - LAW) * np.log(1 - LAW)) - 1)
    assert abs(diffusion / exact - 1) < np.log(m) / m


def test_exact_law_edge_cases():
    assert discrete.absorption_time_moments([0.0, 1.0], 5) == {"mean": 0.0, "variance": 0.0}
    assert discrete.absorption_time_moments(LAW, 1) == {"mean": 0.0, "variance": 0.0}
    assert discrete.diffusion_absorption_time([1.0, 0.0], 5) == 0.0
    np.testing.assert_allclose(discrete.count_transitions(4).sum(axis=1), 1.0)
    survival = discrete.absorption_survival(LAW, 20, 200)
    assert survival[0] == pytest.approx(1 - np.sum(LAW**20)) and np.all(np.diff(survival) <= 0)


def test_absorption_reports_chains_that_did_not_finish():
    with pytest.raises(RuntimeError, match="max_generations"):
        discrete.absorption(LAW, 1000, 10, np.random.default_rng(9), max_generations=3)


def test_miss_probability():
    assert discrete.miss_probability(0.01, 100) == pytest.approx(0.99**100)
    np.testing.assert_allclose(discrete.miss_probability([0.0, 1.0], 10), [1.0, 0.0])


def test_family_plugs_into_the_loop_contract():
    family = discrete.family(5)
    model = family.fit(np.array([0, 1, 1, 4]), None)
    np.testing.assert_allclose(model["p"], [0.25, 0.5, 0.0, 0.0, 0.25])
    assert family.sample(model, 7, np.random.default_rng(0)).shape == (7,)


@pytest.mark.parametrize("call, name", [
    (lambda: discrete.sample([0.5, 0.6], 3, np.random.default_rng()), "p must sum to 1"),
    (lambda: discrete.sample([0.5, 0.5], 0, np.random.default_rng()), "n must be"),
    (lambda: discrete.resample([0.5, 0.5], 0, np.random.default_rng()), "n_samples"),
    (lambda: discrete.counts([0, 7], 5), r"samples must be states in \[0, 4\]"),
    (lambda: discrete.fit(np.zeros(0, dtype=int), 3), "at least one sample"),
    (lambda: discrete.family(0), "n_states"),
    (lambda: discrete.trajectories(LAW, 10, 3, 0, np.random.default_rng()), "n_chains"),
    (lambda: discrete.absorption([1.2, -0.2], 10, 5, np.random.default_rng()), "q must have"),
    (lambda: discrete.diffusion_absorption_time(LAW, 0), "n_samples"),
    (lambda: discrete.absorption_time_moments(LAW, 0), "n_samples"),
    (lambda: discrete.absorption_survival(LAW, 10, -1), "n_generations"),
    (lambda: discrete.count_transitions(0), "n_samples"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_importing_the_module_does_not_load_scipy_stats():
    """scipy.stats takes about a second to import: the command line's help must not wait for it."""
    import subprocess
    import sys

    code = "import sys, collapsebook.discrete; print('scipy.stats' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


TINY = {"n_samples": 10, "n_chains": 20, "absorption_sizes": [5, 10], "exact_size": 5, "exact_chains": 10,
        "loop_chains": 4, "loop_generations": 3}


def test_presets_have_the_keys_of_the_experiment():
    assert all(set(preset) == set(TINY) for preset in experiment.PRESETS.values())


def assert_cli_folder_reads_like_a_fresh_run(experiment, name, preset, tmp_path, monkeypatch):
    """``python -m collapsebook run name`` at ``preset`` (as its ci preset), then every cell's ``run_cell`` on
    that folder equals ``run_cell`` with no folder; returns the folder."""
    monkeypatch.setitem(experiment.PRESETS, "ci", preset)
    out = tmp_path / name
    assert cli.main(["run", name, "--scale", "ci", "--out", str(out), "--no-progress"]) == 0
    for cell in experiment.cells(preset):
        saved, fresh = (experiment.run_cell(cell, preset, folder, seed=0) for folder in (out, None))
        assert saved.keys() == fresh.keys(), cell
        for key, arrays in fresh.items():
            for array in arrays.keys():
                np.testing.assert_array_equal(saved[key][array], arrays[array], err_msg=f"{cell} {key} {array}")
    return out


def test_run_cell_on_the_command_lines_folder_equals_a_fresh_run(tmp_path, monkeypatch):
    """What chapter 1 plots with RESULTS set (run_cell reading the CLI's folder) is what it plots without;
    a folder holding other settings is refused, not read."""
    out = assert_cli_folder_reads_like_a_fresh_run(experiment, "discrete", TINY, tmp_path, monkeypatch)
    with pytest.raises(ValueError, match="other settings"):
        experiment.run_cell({"part": "absorption"}, {**TINY, "n_chains": 21}, out, seed=0)


def chapter_tables(chapter: str) -> list[dict]:
    """Each Markdown table of ``notebooks/<chapter>.md`` as ``{row: {column: cell}}``, keyed by first cells and
    headers, a scale's name (`ci`, `book (this page)`, `paper` scale) shortened to ci, book, paper."""
    def key(cell):
        scale = re.match(r"`(\w+)`", cell)
        return scale.group(1) if scale else cell

    text = (Path(__file__).resolve().parents[1] / "notebooks" / f"{chapter}.md").read_text()
    return [{key(row[0]): {key(h): cell for h, cell in zip(header, row)} for row in rows}
            for header, *rows in tables(text)]


def test_chapter_1_quotes_its_presets():
    """Each fact once: the chains and sizes the runtime table and the paper box state are the presets'."""
    runtime, box = chapter_tables("01_discrete")
    for scale, p in experiment.PRESETS.items():
        sizes = p["absorption_sizes"]
        assert runtime[scale]["chains"] == f"{p['n_chains']:,}", scale
        assert runtime[scale]["sample sizes $M$ for absorption"] == f"{min(sizes):,} – {max(sizes):,}", scale
        assert box["chains"][scale].startswith(f"{p['n_chains']:,} ({p['exact_chains']:,}"), scale
