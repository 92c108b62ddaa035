"""Benchmark of chapter 3's EM (collapsebook.gmm) against scikit-learn's GaussianMixture at equal settings, and of
how many runs EM should batch at each sample size N.

1. One fit: 1000 points from the chapter's two Gaussians, two components, the paper's settings (k-means init,
   tol=1e-5, max_iter=2000); ratio scikit-learn time / ours (> 1: ours is faster). Goal >= 1x.
2. 100 independent fits: one batched call against 100 scikit-learn fits in a loop. Goal >= 3x.
3. Batching by N (1,000, 10,000, 50,000 points): EM time per fit (10 iterations from the same k-means start) with
   all runs in one batch, one run at a time, and the package's batches (gmm.EM_BATCH_BYTES); then the sweep over
   batch sizes from which that cutover was chosen. Goal: the package's batches are never slower than one by one.
4. Accumulate (chapter 3's replace-or-accumulate runs at book scale, fewer runs and generations): the pool
   refitted each generation with EM warm-started from the previous generation's mixture (the package's family)
   against refitted from k-means (``warm_start=False``, the way before); ratio cold / warm. Goal >= 2x.
All on pinned threads (scikit-learn's OpenMP k-means otherwise slows down by an order of magnitude on a busy
2-core machine, which would flatter the ratios); medians and spreads of >= 5 interleaved repeats.
"""

import numpy as np
from _harness import REPEATS, Record, compare, pin_threads, timed
from sklearn.mixture import GaussianMixture

from collapsebook import gmm, loop
from collapsebook.experiments.gmm import EM, TWO_GAUSSIANS, runs_of

N_SAMPLES, N_FITS = 1000, 100
RUNS_BY_N = {1_000: 64, 10_000: 16, 50_000: 4}  # runs per N in part 3 (a few seconds each)
EM_ITERATIONS = 10
ACCUMULATE = {"runs": 4, "n_samples": 500, "n_generations": 30}  # book: 8 runs x 500 points x 60 generations


def sklearn_fit(X, seed):
    return GaussianMixture(2, covariance_type="full", tol=EM["tol"], max_iter=EM["max_iter"],
                           reg_covar=EM["reg_covar"], init_params="kmeans", random_state=seed).fit(X)


def against_sklearn(record: Record, rng) -> None:
    X = gmm.sample(runs_of(TWO_GAUSSIANS, N_FITS), N_SAMPLES, rng)
    ours, theirs, ratio = compare(lambda: gmm.fit(X[0], 2, rng, **EM), lambda: sklearn_fit(X[0], 0), 3 * REPEATS)
    print(f"one fit     : collapsebook {ours.format(1e3)} ms, scikit-learn {theirs.format(1e3)} ms")
    record.add("one fit, N = 1,000: scikit-learn / ours (goal >= 1)", ratio, "x")
    ours, theirs, ratio = compare(lambda: gmm.fit(X, 2, rng, **EM),
                                  lambda: [sklearn_fit(x, seed) for seed, x in enumerate(X)])
    print(f"{N_FITS} fits    : collapsebook {ours.format()} s (batched), scikit-learn {theirs.format()} s (loop)")
    record.add(f"{N_FITS} fits, N = 1,000: scikit-learn loop / ours batched (goal >= 3)", ratio, "x")
    ll_ours = gmm.fit(X[:20], 2, rng, **EM)["log_likelihood"].mean()
    ll_sklearn = np.mean([sklearn_fit(x, seed).score(x) for seed, x in enumerate(X[:20])])
    print(f"mean log-likelihood per point on the first 20 data sets (different k-means seeds): "
          f"collapsebook {ll_ours:.5f}, scikit-learn {ll_sklearn:.5f}")


def em_only(X, start):
    """EM_ITERATIONS iterations of EM on every run of ``X`` from the mixtures ``start`` (no early stop)."""
    return gmm.fit(X, 2, None, init=start, tol=1e-300, max_iter=EM_ITERATIONS)


def with_batch_bytes(batch_bytes, fn):
    """``fn()`` with ``gmm.EM_BATCH_BYTES`` set to ``batch_bytes``."""
    saved, gmm.EM_BATCH_BYTES = gmm.EM_BATCH_BYTES, batch_bytes
    try:
        return fn()
    finally:
        gmm.EM_BATCH_BYTES = saved


def batching_by_n(record: Record, rng) -> None:
    print(f"EM per fit ({EM_ITERATIONS} iterations), ms: all runs in one batch / package batches / one run at a time "
          f"(EM_BATCH_BYTES = {gmm.EM_BATCH_BYTES:,})")
    for n, runs in RUNS_BY_N.items():
        X = gmm.sample(runs_of(TWO_GAUSSIANS, runs), n, rng)
        start = gmm.initialize(X, 2, rng, EM["reg_covar"])
        per_run_bytes = 8 * 2 * X.shape[-1] * n
        package, one_by_one, ratio = compare(lambda: em_only(X, start),
                                             lambda: with_batch_bytes(1, lambda: em_only(X, start)))
        together, _ = timed(lambda: with_batch_bytes(runs * per_run_bytes, lambda: em_only(X, start)))
        print(f"  N = {n:6,d}, {runs:2d} runs: {1e3 * together.median / runs:7.2f} / "
              f"{1e3 * package.median / runs:7.2f} / {1e3 * one_by_one.median / runs:7.2f}"
              f"   (package batch: {gmm.batch_runs(n, 2, X.shape[-1])} runs)")
        record.add(f"EM per fit, N = {n:,}: one by one / package batches (goal >= 1)", ratio, "x")
        sweep = {size: timed(lambda: with_batch_bytes(size * per_run_bytes, lambda: em_only(X, start)))[0].median
                 / runs for size in _powers_of_two(runs)}
        best = min(sweep, key=sweep.get)
        print("    sweep, runs per batch -> ms per fit: "
              + ", ".join(f"{size}: {1e3 * t:.2f}" for size, t in sweep.items())
              + f"; fastest at {best} runs = {best * per_run_bytes / 2**20:.2f} MiB of temporaries")


def _powers_of_two(limit):
    return [2**i for i in range(int(np.log2(limit)) + 1)]


def accumulate(data, warm_start: bool):
    family = gmm.family(2, warm_start=warm_start, **EM)
    return loop.run(family, data, ACCUMULATE["n_generations"], policy="accumulate", sample_axis=1, progress=False)


def warm_started_accumulate(record: Record, rng) -> None:
    data = gmm.sample(runs_of(TWO_GAUSSIANS, ACCUMULATE["runs"]), ACCUMULATE["n_samples"], rng)
    warm, cold, ratio = compare(lambda: accumulate(data, True), lambda: accumulate(data, False))
    print(f"accumulate, {ACCUMULATE}: warm-started {warm.format()} s, from k-means {cold.format()} s")
    histories = {start: accumulate(data, start) for start in (True, False)}
    for start, history in histories.items():
        l2 = gmm.l2_distance({k: history[k][-1] for k in gmm.PARAMETERS}, TWO_GAUSSIANS)
        print(f"  {'warm' if start else 'cold'}: EM iterations per refit {history['n_iter'][1:].mean():.1f}, "
              f"last generation's mean log L2 to the original {np.log(l2).mean():.3f}")
    record.add(f"accumulate, {ACCUMULATE['n_generations']} generations: from k-means / warm-started (goal >= 2)",
               ratio, "x")


def main() -> None:
    record = Record("bench_gmm", pin_threads())
    rng = np.random.default_rng(0)
    against_sklearn(record, rng)
    batching_by_n(record, rng)
    warm_started_accumulate(record, rng)
    record.save()


if __name__ == "__main__":
    main()
