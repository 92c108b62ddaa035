"""Chapter 1: absorption of many chains at once (collapsebook.discrete.absorption, vectorised over chains)
against a plain per-chain Python loop running the same algorithm, both measured here, in the same run
(pinned threads, medians of interleaved repeats: benchmarks/_harness.py)."""

import numpy as np
from _harness import REPEATS, Record, compare, pin_threads

from collapsebook import discrete
from collapsebook.experiments.discrete import LAW

N_CHAINS, M = 3000, 50


def per_chain_loop(q, m, n_chains, rng):
    """The reference: one chain at a time, one multinomial draw per generation."""
    states, times = [], []
    for _ in range(n_chains):
        p, t = np.asarray(q), -1  # generation 0 is the first fit: tau counts the fits after it
        while p.max() < 1.0:
            p = rng.multinomial(m, p) / m
            t += 1
        states.append(int(p.argmax()))
        times.append(t)
    return np.array(states), np.array(times)


def main():
    record = Record("bench_discrete", pin_threads())
    seeds, results = {"loop": 0, "vectorised": 1}, {}

    def run(name, fn):  # the same seed every repeat: the same chains, the same work
        results[name] = fn(np.random.default_rng(seeds[name]))

    vec, ref, ratio = compare(lambda: run("vectorised", lambda rng: discrete.absorption(LAW, M, N_CHAINS, rng)),
                              lambda: run("loop", lambda rng: per_chain_loop(LAW, M, N_CHAINS, rng)))
    loop_times, vec_times = results["loop"][1], results["vectorised"][1]
    # same law of results: mean absorption times agree within 5 standard errors of their difference
    se = np.sqrt(loop_times.var() / N_CHAINS + vec_times.var() / N_CHAINS)
    assert abs(loop_times.mean() - vec_times.mean()) < 5 * se, (loop_times.mean(), vec_times.mean())
    generations = vec_times.sum()
    print(f"absorption of {N_CHAINS} chains, M={M}, law={LAW.tolist()} (median [min-max] of {REPEATS})")
    print(f"  per-chain Python loop: {ref.format()} s  ({generations / ref.median:12,.0f} chain-generations/s)")
    print(f"  vectorised over chains: {vec.format()} s  ({generations / vec.median:12,.0f} chain-generations/s)")
    record.add("absorption: per-chain loop / vectorised", ratio, "x")
    record.save()


if __name__ == "__main__":
    main()
