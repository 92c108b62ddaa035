"""Bad input is refused with an error that names the parameter and what is allowed (issue 13): one table of
the cases that used to pass silently or fail deep inside numpy, matplotlib or the loop."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from collapsebook import discrete, gaussian, gmm, loop, metrics, plotting  # noqa: E402

NAN = float("nan")
RNG = np.random.default_rng(0)
MIXTURE = {"weights": np.array([0.5, 0.5]), "means": np.array([[0.0, 0.0], [3.0, 3.0]]),
           "covariances": np.stack([np.eye(2)] * 2)}


def band(**options):
    fig, ax = plt.subplots()
    try:
        return plotting.quantile_band(ax, [0, 1], np.ones((2, 5)), **options)
    finally:
        plt.close(fig)


CASES = {
    # discrete
    "miss_probability q > 1": (lambda: discrete.miss_probability(1.5, 10),
        ValueError, r"q must be numbers in \[0, 1\], got 1.5"),
    "miss_probability q < 0": (lambda: discrete.miss_probability([0.5, -0.1], 10),
        ValueError, r"q .*\[0, 1\], got -0.1"),
    "miss_probability q nan": (lambda: discrete.miss_probability(NAN, 10), ValueError, r"q .*\[0, 1\], got nan"),
    "counts of float samples": (lambda: discrete.counts(np.array([0.5, 1.2]), 3),
        TypeError, "samples must be integer states"),
    "counts of a scalar": (lambda: discrete.counts(1, 3), ValueError, "samples must be an array"),
    "fit of a scalar": (lambda: discrete.fit(2, 3), ValueError, "samples must be an array"),
    "sample without a Generator": (lambda: discrete.sample([0.5, 0.5], 3, 0),
        TypeError, "rng must be a numpy.random.Generator"),
    "resample without a Generator": (lambda: discrete.resample([0.5, 0.5], 3, None), TypeError, "rng must be"),
    # gmm
    "tail_mass level nan": (lambda: gmm.tail_mass(MIXTURE, NAN, np.zeros((5, 2))),
        ValueError, "level must be a finite number, got nan"),
    "tail_mass level inf": (lambda: gmm.tail_mass(MIXTURE, np.inf, np.zeros((5, 2))),
        ValueError, "level must be a finite number, got inf"),
    "tail_mass level a string": (lambda: gmm.tail_mass(MIXTURE, "low", np.zeros((5, 2))),
        ValueError, "level must be a finite number"),
    "gmm sample without a Generator": (lambda: gmm.sample(MIXTURE, 5, 1),
        TypeError, "rng must be a numpy.random.Generator"),
    "gmm fit without a Generator": (lambda: gmm.fit(RNG.normal(size=(20, 2)), 2, None), TypeError, "rng must be"),
    "batch_runs of no points": (lambda: gmm.batch_runs(0, 2, 2),
        ValueError, "n_points must be an integer >= 1, got 0"),
    # plotting
    "quantile_band reversed": (lambda: band(quantiles=(0.9, 0.1)),
        ValueError, r"quantiles must be \(low, high\) with 0 <= low < high <= 1"),
    "quantile_band equal": (lambda: band(quantiles=(0.5, 0.5)), ValueError, r"0 <= low < high <= 1"),
    "quantile_band three": (lambda: band(quantiles=(0.1, 0.5, 0.9)), ValueError, r"\(low, high\)"),
    "quantile_band above 1": (lambda: band(quantiles=(0.1, 1.5)),
        ValueError, r"quantiles must be numbers in \[0, 1\], got 1.5"),
    "quantile_band nan": (lambda: band(quantiles=(NAN, 0.9)), ValueError, r"quantiles .*got nan"),
    "quantile_band of no runs": (lambda: plotting.quantile_band(None, [], np.ones((0, 3))),
        ValueError, "values must hold at least one run"),
    "panels 0": (lambda: plotting.panels(0), ValueError, "n must be an integer >= 1, got 0"),
    "panels 1.5": (lambda: plotting.panels(1.5), ValueError, "n must be an integer >= 1, got 1.5"),
    "generation_colors -1": (lambda: plotting.generation_colors(-1), ValueError, "n must be an integer >= 0"),
    "animate no frames": (lambda: plotting.animate(None, lambda i: None, 0),
        ValueError, "n_frames must be an integer >= 1"),
    # metrics
    "w2_gaussian_1d mean nan": (lambda: metrics.w2_gaussian_1d(NAN, 1.0, 0.0, 1.0),
        ValueError, "mean1 must be finite"),
    "w2_gaussian mean inf": (lambda: metrics.w2_gaussian([0.0, np.inf], np.eye(2), [0.0, 0.0], np.eye(2)),
        ValueError, "mean1 must be finite"),
    # loop
    "loop sample_axis out of range": (lambda: loop.run(gaussian.family(), np.zeros((3, 4)), 2, sample_axis=5,
                                                       progress=False),
                                      ValueError, r"sample_axis must be an integer in \[0, 1\], got 5"),
    "loop sample_axis negative": (lambda: loop.run(gaussian.family(), np.zeros(4), 2, sample_axis=-1, progress=False),
                                  ValueError, r"sample_axis must be an integer in \[0, 0\], got -1"),
    "loop sample_axis float": (lambda: loop.run(gaussian.family(), np.zeros(4), 2, sample_axis=0.0, progress=False),
                               ValueError, r"sample_axis must be an integer in \[0, 0\], got 0.0"),
    "loop data scalar": (lambda: loop.run(gaussian.family(), 1.0, 2, progress=False),
        ValueError, "data must hold points"),
    "loop family None": (lambda: loop.run(None, np.zeros(4), 2),
        TypeError, "family must be a collapsebook.loop.Family"),
    "loop family a module": (lambda: loop.run(gaussian, np.zeros(4), 2), TypeError, "family must be .*got module"),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_refused_naming_the_parameter(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_good_input_still_passes():
    np.testing.assert_allclose(discrete.miss_probability([0.0, 0.5, 1.0], 2), [1.0, 0.25, 0.0])
    assert discrete.counts(np.array([0, 2, 2], dtype=np.uint8), 3).tolist() == [1, 0, 2]
    assert discrete.counts(np.zeros((2, 0), dtype=int), 3).tolist() == [[0, 0, 0], [0, 0, 0]]
    assert discrete.counts([], 3).tolist() == [0, 0, 0]
    assert gmm.tail_mass(MIXTURE, -1e9, np.zeros((5, 2))) == 0.0
    assert band(quantiles=(0.0, 1.0)) is not None
    assert plotting.generation_colors(0) == []
