import numpy as np
import pytest

from collapsebook import testing


def test_mean_and_se_are_the_sample_mean_and_its_standard_error():
    values = np.array([[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 1.0, 1.0]])
    mean, se = testing.mean_and_se(values)
    np.testing.assert_allclose(mean, [3.0, 0.5])
    np.testing.assert_allclose(se, [np.std(values[0], ddof=1) / 2, np.std(values[1], ddof=1) / 2])


def test_a_true_expectation_passes_at_the_documented_rate_and_a_shifted_one_fails():
    rng = np.random.default_rng(0)
    draws = rng.normal(1.0, 2.0, size=(2000, 400))  # 2000 checks of a mean over 400 draws
    mean, se = testing.mean_and_se(draws)
    misses = np.abs(mean - 1.0) > 2.0 * se
    assert abs(misses.mean() - 0.0455) < 4 * np.sqrt(0.0455 * 0.9545 / 2000)  # z = 2 misses 4.55 %
    testing.assert_mean_within(draws[0], 1.0)
    with pytest.raises(AssertionError, match="standard errors from"):
        testing.assert_mean_within(draws[0], 1.0 + 5 * 2.0 / np.sqrt(400), what="shifted")


def test_margin_widens_the_bound_and_assert_above_needs_the_gap_resolved():
    testing.assert_within(1.3, 1.0, se=0.05, z=4, margin=0.11)
    with pytest.raises(AssertionError, match="mean"):
        testing.assert_within(1.3, 1.0, se=0.05, z=4, margin=0.09)
    testing.assert_above(1.0, 0.0, se=0.3, z=3)
    with pytest.raises(AssertionError, match="gap: "):
        testing.assert_above(1.0, 0.0, se=0.34, z=3, what="gap")


@pytest.mark.parametrize("call, name", [
    (lambda: testing.assert_within(1, 1, 0.1, z=0), "z"),
    (lambda: testing.assert_above(1, 0, 0.1, z=-1), "z"),
    (lambda: testing.mean_and_se([1.0]), "values"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
