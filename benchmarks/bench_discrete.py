"""Chapter 1: absorption of many chains at once (collapsebook.discrete.absorption, vectorised over chains)
against a plain per-chain Python loop running the same algorithm, both measured here, in the same run."""

import time

import numpy as np

from collapsebook import discrete
from collapsebook.experiments.discrete import LAW

N_CHAINS, M, REPEATS = 2000, 50, 3


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


def best_time(fn):
    timings = []
    for repeat in range(REPEATS):
        start = time.perf_counter()
        result = fn(np.random.default_rng(repeat))
        timings.append(time.perf_counter() - start)
    return min(timings), result


def main():
    loop_s, (loop_states, loop_times) = best_time(lambda rng: per_chain_loop(LAW, M, N_CHAINS, rng))
    vec_s, (vec_states, vec_times) = best_time(lambda rng: discrete.absorption(LAW, M, N_CHAINS, rng))
    # same law of results: mean absorption times agree within 5 standard errors of their difference
    se = np.sqrt(loop_times.var() / N_CHAINS + vec_times.var() / N_CHAINS)
    assert abs(loop_times.mean() - vec_times.mean()) < 5 * se, (loop_times.mean(), vec_times.mean())
    generations = vec_times.sum()
    print(f"absorption of {N_CHAINS} chains, M={M}, law={LAW.tolist()} (best of {REPEATS})")
    print(f"  per-chain Python loop: {loop_s:8.3f} s  ({generations / loop_s:12,.0f} chain-generations/s)")
    print(f"  vectorised over chains: {vec_s:7.3f} s  ({generations / vec_s:12,.0f} chain-generations/s)")
    print(f"  speed-up (loop / vectorised): {loop_s / vec_s:.1f}x")


if __name__ == "__main__":
    main()
