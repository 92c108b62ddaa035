import numpy as np
import pytest

from collapsebook import metrics


def test_tv_distance():
    assert metrics.tv_distance([1, 0], [0, 1]) == 1.0
    assert metrics.tv_distance([0.5, 0.5], [0.5, 0.5]) == 0.0
    np.testing.assert_allclose(metrics.tv_distance([[0.2, 0.8], [1, 0]], [0.5, 0.5]), [0.3, 0.5])


def test_entropy():
    assert metrics.entropy([0.25] * 4) == pytest.approx(np.log(4))
    assert metrics.entropy([1.0, 0.0]) == 0.0


def test_kl_divergence():
    assert metrics.kl_divergence([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert metrics.kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(2 / 3))
    assert metrics.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert metrics.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2))


def test_support_size_and_tail_mass():
    original = np.array([0.5, 0.3, 0.15, 0.04, 0.01])
    collapsed = np.array([0.6, 0.4, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(metrics.support_size(np.stack([original, collapsed])), [5, 2])
    assert metrics.tail_mass(original, original, 0.05) == pytest.approx(0.05)
    assert metrics.tail_mass(collapsed, original, 0.05) == 0.0


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="q must sum to 1"):
        metrics.tv_distance([0.5, 0.5], [0.5, 0.6])
    with pytest.raises(ValueError, match="threshold"):
        metrics.tail_mass([1.0], [1.0], 2.0)


@pytest.mark.parametrize("values, reference, level, named", [
    ([np.nan, 1.0], [0.0, 1.0, 2.0], 0.9, "values"), ([0.0], [np.inf, 1.0], 0.9, "reference"),
    ([0.0], [1.0, 2.0], 1.0, "level"), ([], [1.0], 0.5, "values must hold at least one"),
])
def test_share_outside_refuses_what_it_cannot_measure(values, reference, level, named):
    with pytest.raises(ValueError, match=named):
        metrics.share_outside(values, reference, level)
