"""Benchmark of chapter 3's EM (collapsebook.gmm) against scikit-learn's GaussianMixture at equal settings.

1. One fit: 1000 points from the chapter's two Gaussians, two components, the paper's settings (k-means init,
   tol=1e-5, max_iter=2000), repeated; median time per fit.
2. 100 independent fits: one batched call against 100 scikit-learn fits in a loop.
Prints both ratios (scikit-learn time / ours; > 1 means ours is faster). Goals: >= 1x single, >= 3x batched.
Both run on one thread (threadpoolctl): scikit-learn's OpenMP k-means otherwise slows down by an order of
magnitude on a busy 2-core machine, which would flatter the ratios.
"""

import time

import numpy as np
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from collapsebook import gmm
from collapsebook.experiments.gmm import EM, TWO_GAUSSIANS, runs_of

N_SAMPLES, N_FITS, REPEATS = 1000, 100, 15


def seconds(call, repeats: int) -> float:
    """Median wall time of ``call()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def sklearn_fit(X, seed):
    return GaussianMixture(2, covariance_type="full", tol=EM["tol"], max_iter=EM["max_iter"],
                           reg_covar=EM["reg_covar"], init_params="kmeans", random_state=seed).fit(X)


def main() -> None:
    rng = np.random.default_rng(0)
    X = gmm.sample(runs_of(TWO_GAUSSIANS, N_FITS), N_SAMPLES, rng)
    ours_one = seconds(lambda: gmm.fit(X[0], 2, rng, **EM), REPEATS)
    sklearn_one = seconds(lambda: sklearn_fit(X[0], 0), REPEATS)
    print(f"one fit     : collapsebook {ours_one * 1e3:7.1f} ms, scikit-learn {sklearn_one * 1e3:7.1f} ms, "
          f"ratio {sklearn_one / ours_one:5.1f}x (goal >= 1x)")
    ours_all = seconds(lambda: gmm.fit(X, 2, rng, **EM), 3)
    sklearn_all = seconds(lambda: [sklearn_fit(x, seed) for seed, x in enumerate(X)], 1)
    print(f"{N_FITS} fits    : collapsebook {ours_all:7.2f} s (batched), scikit-learn {sklearn_all:7.2f} s (loop), "
          f"ratio {sklearn_all / ours_all:5.1f}x (goal >= 3x)")
    ll_ours = gmm.fit(X[:20], 2, rng, **EM)["log_likelihood"].mean()
    ll_sklearn = np.mean([sklearn_fit(x, seed).score(x) for seed, x in enumerate(X[:20])])
    print(f"mean log-likelihood per point on the first 20 data sets (different k-means seeds): "
          f"collapsebook {ll_ours:.5f}, scikit-learn {ll_sklearn:.5f}")


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
