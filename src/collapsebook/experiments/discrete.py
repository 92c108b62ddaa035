"""Chapter 1: a categorical law refitted to its own samples (absorption, rare states, replace vs accumulate)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .. import discrete, grid, loop, store

# The law of chapter 1: two rare states, the last one with probability 1/100.
LAW = np.array([0.5, 0.3, 0.15, 0.04, 0.01])

# exact_size / exact_chains: the small sample size whose exact law of the absorption time is computed from all
# count vectors, and the chains simulated there (enough for 4 standard errors of the mean to be < 1/2 generation).
PRESETS = {
    "ci": {"n_samples": 100, "n_chains": 2000, "absorption_sizes": [10, 20, 50, 100],
           "exact_size": 10, "exact_chains": 20_000, "loop_chains": 200, "loop_generations": 60},
    "book": {"n_samples": 100, "n_chains": 10000, "absorption_sizes": [10, 20, 50, 100, 200, 500],
             "exact_size": 10, "exact_chains": 100_000, "loop_chains": 500, "loop_generations": 200},
    "paper": {"n_samples": 100, "n_chains": 100000, "absorption_sizes": [10, 20, 50, 100, 200, 500, 1000],
              "exact_size": 10, "exact_chains": 1_000_000, "loop_chains": 1000, "loop_generations": 400},
}


def add_arguments(parser) -> None:
    parser.add_argument("--seed", type=int, default=0)


def absorption_by_size(q, sizes, n_chains, seed):
    """Absorbing state and time of ``n_chains`` chains for each sample size in ``sizes``."""
    results = {}
    for i, m in enumerate(sizes):
        state, time = discrete.absorption(q, m, n_chains, np.random.default_rng([seed, i]))
        results[m] = {"state": state, "time": time}
    return results


def replace_and_accumulate(q, n_samples, n_chains, n_generations, seed, folder=None, progress=False):
    """The package loop on ``n_chains`` chains of samples at once, under both policies (one
    :func:`collapsebook.loop.compare_policies` call, each policy saved in ``folder/policy``)."""
    laws = np.broadcast_to(q, (n_chains, len(q)))
    data = discrete.sample(laws, n_samples, np.random.default_rng([seed, len(q)]))
    return loop.compare_policies(discrete.family(len(q)), data, n_generations, ["replace", "accumulate"],
                                 n_samples=n_samples, seed=seed, sample_axis=1, progress=progress,
                                 checkpoint_dir=folder)


def cells(preset: dict) -> list[dict]:
    """The two independent parts: the absorption times by sample size, and replace against accumulate."""
    return [{"part": "absorption"}, {"part": "policies"}]


def run_cell(cell: dict, preset: dict, folder=None, seed: int = 0, progress: bool = False) -> dict:
    """One part of :func:`cells`, its results returned: :func:`absorption_by_size` of the preset's sizes, or
    :func:`replace_and_accumulate`'s ``{policy: History}``. With ``folder``, saved there (``absorption.npz``,
    the loop's ``replace/`` and ``accumulate/`` checkpoint folders) and read back or resumed from there."""
    folder = None if folder is None else Path(folder)
    if cell["part"] == "absorption":
        return absorption(preset, seed, folder)
    return replace_and_accumulate(LAW, preset["n_samples"], preset["loop_chains"], preset["loop_generations"],
                                  seed, folder=folder, progress=progress)


def absorption(preset: dict, seed: int, folder=None) -> dict:
    """:func:`absorption_by_size` of :data:`LAW` for the preset's sizes; with ``folder``, saved there as
    ``absorption.npz`` (for these settings) and read back from there."""
    sizes, n_chains = preset["absorption_sizes"], preset["n_chains"]

    def compute():
        by_size = absorption_by_size(LAW, sizes, n_chains, seed)
        return {f"{key}_{m}": value for m, run in by_size.items() for key, value in run.items()}

    settings = {"law": LAW.tolist(), "sizes": sizes, "n_chains": n_chains, "seed": seed}
    arrays = store.cached(folder, "absorption", settings, compute)
    return {m: {key: arrays[f"{key}_{m}"] for key in ("state", "time")} for m in sizes}


def main(args) -> None:
    """Every cell of :func:`cells` (or those ``--only`` picks), in sequence or on Ray (``--ray``)."""
    grid.run(sys.modules[__name__], args)
