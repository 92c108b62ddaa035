"""Chapter 2 benchmark: the Gaussian recursion, per chain in Python against many chains at once.

Reference (measured in this run): one chain at a time in plain Python and numpy, drawing M points and fitting
them every generation. Compared: the package loop on arrays of shape (chains, M) (the same work, vectorised over
chains), and the shortcut `gaussian.simulate` (two draws per chain and generation, exact by Cochran's theorem).
Then the paper-scale run of the chapter (4 sample sizes x 2 estimators x 2,000 generations x 10,000 chains):
its time and peak memory. Run: .venv/bin/python benchmarks/bench_gaussian.py
"""

import time
import tracemalloc

import numpy as np

from collapsebook import gaussian, loop
from collapsebook.experiments import gaussian as experiment

M, GENERATIONS = 100, 200


def per_chain_python(n_chains, rng):
    """The reference: the textbook loop, one chain after another."""
    for _ in range(n_chains):
        mean, std = 0.0, 1.0
        for _ in range(GENERATIONS + 1):
            x = rng.normal(mean, std, M)
            mean, std = x.mean(), x.std(ddof=1)


def vectorised_loop(n_chains, rng):
    data = rng.standard_normal((n_chains, M))
    loop.run(gaussian.family(), data, GENERATIONS, sample_axis=1, progress=False)


def shortcut(n_chains, rng):
    gaussian.simulate(n_chains, GENERATIONS, M, "unbiased", rng)


def seconds_per_chain(run, n_chains, repeats=3):
    """Best of ``repeats`` timings, per chain of GENERATIONS generations."""
    best = np.inf
    for r in range(repeats):
        start = time.perf_counter()
        run(n_chains, np.random.default_rng(r))
        best = min(best, time.perf_counter() - start)
    return best / n_chains


def paper_scale():
    """Time and peak traced memory of the chapter's paper-scale recursion."""
    p = experiment.PRESETS["paper"]
    tracemalloc.start()
    start = time.perf_counter()
    experiment.recursion(p["sizes"], p["n_generations"], p["n_chains"], seed=0, n_recorded=p["n_recorded"])
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return p, elapsed, peak


def main():
    reference = seconds_per_chain(per_chain_python, 20)
    print(f"M = {M}, {GENERATIONS} generations per chain")
    print(f"  per-chain Python loop (reference): {1e3 * reference:8.3f} ms per chain")
    for name, run, n_chains in [("package loop, (chains, M) arrays", vectorised_loop, 1000),
                                ("gaussian.simulate (shortcut)", shortcut, 10_000)]:
        t = seconds_per_chain(run, n_chains)
        print(f"  {name:34s} {1e3 * t:8.3f} ms per chain   speed-up x{reference / t:,.0f}")
    p, elapsed, peak = paper_scale()
    print(f"paper scale: M in {p['sizes']}, both estimators, {p['n_generations']} generations, "
          f"{p['n_chains']:,} chains, {p['n_recorded']} generations kept")
    chain_units = p["n_chains"] * 2 * len(p["sizes"]) * p["n_generations"] / GENERATIONS
    print(f"  {elapsed:.1f} s, peak traced memory {peak / 2**20:.0f} MiB; the per-chain reference would need "
          f"about {reference * chain_units / 3600:.1f} h for as many chain-generations even at M = {M}")


if __name__ == "__main__":
    main()
