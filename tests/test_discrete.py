import numpy as np
import pytest

from collapsebook import discrete

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


def test_trajectories_shape_and_start():
    laws = discrete.trajectories(LAW, 50, 7, 11, np.random.default_rng(6))
    assert laws.shape == (8, 11, 5)
    np.testing.assert_array_equal(laws[0], np.broadcast_to(LAW, (11, 5)))
    np.testing.assert_allclose(laws.sum(axis=-1), 1.0)


def test_absorption_lands_on_state_k_with_probability_q_k():
    n = 20_000
    state, time = discrete.absorption(LAW, 20, n, np.random.default_rng(7))
    frequency = np.bincount(state, minlength=5) / n
    assert np.all(np.abs(frequency - LAW) <= 4 * np.sqrt(LAW * (1 - LAW) / n))
    assert time.min() >= 1


def test_absorption_time_matches_the_diffusion_approximation_for_two_states():
    n, m = 20_000, 50
    _, time = discrete.absorption([0.7, 0.3], m, n, np.random.default_rng(8))
    expected = -2 * m * (0.7 * np.log(0.7) + 0.3 * np.log(0.3))
    assert discrete.expected_absorption_time([0.7, 0.3], m) == pytest.approx(expected)
    # 4 standard errors plus the O(1/M) relative error of the diffusion approximation
    assert abs(time.mean() - expected) <= 4 * time.std() / np.sqrt(n) + 2 * expected / m


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
    (lambda: discrete.expected_absorption_time(LAW, 0), "n_samples"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
