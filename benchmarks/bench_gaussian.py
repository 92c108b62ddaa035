"""Chapter 2 benchmark: the Gaussian recursion, per chain in Python against many chains at once, and the
accumulate policy through running statistics against refitting the pool.

1. Reference (measured in this run): one chain at a time in plain Python and numpy, drawing M points and fitting
   them every generation. Compared: the package loop on arrays of shape (chains, M) (the same work, vectorised
   over chains), and the shortcut `gaussian.simulate` (two draws per chain and generation, exact by Cochran's
   theorem).
2. Accumulate: the package loop with the Gaussian's running moments against the same loop refitting the whole
   pool (the family without `update`), and against replace, at 200 chains x M = 100 x 150 generations. Then
   chapter 2's paper preset (1,000 chains x M = 100 x 500 generations): the running path's time, and the peak
   traced memory of the running path at a quarter, half and all of its generations (beyond the history it
   returns, it must not grow with them) and of the refit path at 50 and 100 generations (it grows with the pool;
   its time grows quadratically).
3. The chapter's paper-scale recursion (4 sample sizes x 2 estimators x 2,000 generations x 10,000 chains).
Pinned threads, medians and spreads of interleaved repeats (benchmarks/_harness.py).
Run: .venv/bin/python benchmarks/bench_gaussian.py
"""

import dataclasses
import time
import tracemalloc

import numpy as np
from _harness import Record, compare, pin_threads, timed

from collapsebook import gaussian, loop
from collapsebook.experiments import gaussian as experiment

M, GENERATIONS, REFERENCE_CHAINS = 100, 200, 100
PAPER = experiment.PRESETS["paper"]


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


def per_chain_speed(record: Record) -> None:
    print(f"1. M = {M}, {GENERATIONS} generations per chain; ms per chain, median [min-max]")
    for name, run, n_chains in [("package loop, (chains, M) arrays", vectorised_loop, 1000),
                                ("gaussian.simulate (shortcut)", shortcut, 10_000)]:
        ours, ref, ratio = compare(lambda: run(n_chains, np.random.default_rng(0)),
                                   lambda: per_chain_python(REFERENCE_CHAINS, np.random.default_rng(0)))
        print(f"  {name}: {ours.scaled(1e3 / n_chains).format()}; "
              f"per-chain Python loop: {ref.scaled(1e3 / REFERENCE_CHAINS).format()}")
        record.add(f"{name}: speed-up per chain over a per-chain Python loop",
                   ratio.scaled(n_chains / REFERENCE_CHAINS), "x")


def accumulate(family, n_chains, n_generations, policy="accumulate"):
    data = np.random.default_rng(0).standard_normal((n_chains, PAPER["policy_samples"]))
    return loop.run(family, data, n_generations, policy=policy, sample_axis=1, progress=False)


def refit_only(family):
    """The family without its running statistics: accumulate refits the whole pool every generation."""
    return dataclasses.replace(family, update=None, fit_state=None)


def peak_memory(fn):
    """Seconds, peak traced memory and the size of the history returned (MiB) of one call of ``fn()``."""
    tracemalloc.start()
    start = time.perf_counter()
    history = fn()
    elapsed, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    kept = sum(np.asarray(v).nbytes for r in history.records for v in r.values())
    return elapsed, peak / 2**20, kept / 2**20


def accumulate_speed(record: Record) -> None:
    family = gaussian.family()
    print("2. accumulate, 200 chains x M = 100 x 150 generations; seconds, median [min-max]")
    running, refit, ratio = compare(lambda: accumulate(family, 200, 150), lambda: accumulate(refit_only(family),
                                                                                              200, 150))
    _, replace, cost = compare(lambda: accumulate(family, 200, 150),
                               lambda: accumulate(family, 200, 150, policy="replace"))
    print(f"  running moments {running.format()}, refitting the pool {refit.format()}, replace {replace.format()}")
    record.add("accumulate (200 chains x 150 generations): refit / running moments", ratio, "x")
    record.add("accumulate (200 chains x 150 generations): replace / running moments (1 = same cost)", cost, "x")
    n_chains, n_generations = PAPER["policy_chains"], PAPER["policy_generations"]
    paper, _ = timed(lambda: accumulate(family, n_chains, n_generations), warmup=False)
    print(f"  chapter 2's paper preset ({n_chains:,} chains x {n_generations} generations): "
          f"running moments {paper.format()} s")
    record.add(f"accumulate at chapter 2's paper preset ({n_chains:,} x {n_generations}), running moments",
               paper, "s")
    for label, fam, generations in [("running moments", family, [n_generations // 4, n_generations // 2,
                                                                   n_generations]),
                                    ("refit the pool", refit_only(family), [50, 100])]:
        cells = [(g, *peak_memory(lambda: accumulate(fam, n_chains, g))) for g in generations]
        print(f"  {label}: " + "; ".join(f"{g} generations {t:.1f} s, peak {mib:.0f} MiB ({kept:.0f} MiB: the history "
                                         "returned)" for g, t, mib, kept in cells))


def paper_recursion(record: Record) -> None:
    """Time of the chapter's paper-scale recursion."""
    p = PAPER
    spread, _ = timed(lambda: experiment.recursion(p["sizes"], p["n_generations"], p["n_chains"], seed=0,
                                                   n_recorded=p["n_recorded"]), warmup=False)
    print(f"3. paper-scale recursion: M in {p['sizes']}, both estimators, {p['n_generations']} generations, "
          f"{p['n_chains']:,} chains, {p['n_recorded']} generations kept: {spread.format()} s")
    record.add("chapter 2's paper-scale recursion (gaussian.simulate)", spread, "s")


def main():
    record = Record("bench_gaussian", pin_threads())
    per_chain_speed(record)
    accumulate_speed(record)
    paper_recursion(record)
    record.save()


if __name__ == "__main__":
    main()
