"""Chapter 2: a Gaussian refitted to its own samples (Theorem 3.1, both estimators, replace vs accumulate).

Four parts, saved under ``--out`` (``--resume`` skips what is finished): the replace recursion for every sample
size and estimator (``recursion_<estimator>_<M>.npz``), replace against accumulate through the package loop
(``policies/<policy>/``, a checkpoint per generation), sample-size schedules (``schedule_<name>.npz``) and the
d-dimensional Gaussian (``dimension_<d>.npz``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import gaussian, grid, loop, store

PRESETS = {
    "ci": {"sizes": [100, 500, 1000, 10000], "n_generations": 1000, "n_chains": 1000, "n_recorded": 150,
           "policy_samples": 100, "policy_chains": 200, "policy_generations": 150,
           "schedule_m0": 10, "schedule_power": 1.5, "schedule_chains": 200, "schedule_generations": 40,
           "dims": [1, 2, 5, 10], "dim_samples": 100, "dim_chains": 200, "dim_generations": 50,
           "animation_frames": 12},
    "book": {"sizes": [100, 500, 1000, 10000], "n_generations": 1000, "n_chains": 4000, "n_recorded": 200,
             "policy_samples": 100, "policy_chains": 400, "policy_generations": 200,
             "schedule_m0": 10, "schedule_power": 1.5, "schedule_chains": 400, "schedule_generations": 100,
             "dims": [1, 2, 5, 10], "dim_samples": 100, "dim_chains": 500, "dim_generations": 100,
             "animation_frames": 30},
    "paper": {"sizes": [100, 500, 1000, 10000], "n_generations": 2000, "n_chains": 10000, "n_recorded": 300,
              "policy_samples": 100, "policy_chains": 1000, "policy_generations": 500,
              "schedule_m0": 10, "schedule_power": 1.5, "schedule_chains": 500, "schedule_generations": 150,
              "dims": [1, 2, 5, 10], "dim_samples": 100, "dim_chains": 1000, "dim_generations": 200,
              "animation_frames": 40},
}

SCHEDULES = ("constant", "linear", "superlinear")


def add_arguments(parser) -> None:
    parser.add_argument("--seed", type=int, default=0)


def recursion(sizes, n_generations, n_chains, seed, n_recorded=200, folder=None, progress=False) -> dict:
    """The replace chains of :func:`collapsebook.gaussian.simulate` for each estimator and sample size.

    Returns ``{(estimator, M): {"generation", "mean", "std"}}``, kept at about ``n_recorded`` generations
    evenly spaced on a log axis.
    """
    record = gaussian.log_generations(n_generations, n_recorded)
    config = {"n_generations": n_generations, "n_chains": n_chains, "n_recorded": n_recorded, "seed": seed}
    runs = {}
    for estimator, m in tqdm([(e, m) for e in gaussian.ESTIMATORS for m in sizes], desc="recursion",
                             disable=not progress):
        rng = np.random.default_rng([seed, gaussian.ddof(estimator), m])
        runs[estimator, m] = store.cached(folder, f"recursion_{estimator}_{m}", config, lambda: gaussian.simulate(
            n_chains, n_generations, m, estimator, rng, record=record))
    return runs


def policies(n_samples, n_chains, n_generations, seed, folder=None, progress=False) -> dict:
    """Replace against accumulate through :func:`collapsebook.loop.compare_policies`, unbiased fits of
    ``N(0, 1)``; with ``folder``, each policy is saved (and resumed) in ``folder/policies/<policy>``.

    Returns ``{policy: {"mean", "std", "n_train", ...}}`` with arrays of shape ``(generations, chains)``.
    """
    data = np.random.default_rng([seed, n_samples]).standard_normal((n_chains, n_samples))
    runs = loop.compare_policies(gaussian.family("unbiased"), data, n_generations, ["replace", "accumulate"],
                                 seed=seed, sample_axis=1, progress=progress,
                                 checkpoint_dir=None if folder is None else Path(folder) / "policies")
    return {policy: _arrays(history) for policy, history in runs.items()}


def schedule(name: str, m0: int, power: float = 1.5):
    """The sample size ``g -> M_g`` of a schedule: ``"constant"`` ``m0``, ``"linear"`` ``m0 (g + 1)`` or
    ``"superlinear"`` ``m0 (g + 1) ** power``."""
    exponent = {"constant": 0.0, "linear": 1.0, "superlinear": power}[name]
    return lambda g: int(round(m0 * (g + 1) ** exponent))


def schedules(m0, power, n_chains, n_generations, seed, folder=None, progress=False) -> dict:
    """Replace chains of unbiased fits under each schedule of :data:`SCHEDULES`, through the loop."""
    data = np.random.default_rng([seed, m0]).standard_normal((n_chains, m0))
    config = {"m0": m0, "power": power, "n_chains": n_chains, "n_generations": n_generations, "seed": seed}
    return {name: store.cached(folder, f"schedule_{name}", config, lambda: _arrays(loop.run(
        gaussian.family("unbiased"), data, n_generations, n_samples=schedule(name, m0, power), seed=seed,
        sample_axis=1, progress=progress))) for name in SCHEDULES}


def dimensions(dims, n_samples, n_chains, n_generations, seed, folder=None, progress=False) -> dict:
    """Replace chains of unbiased fits of ``N(0, I_d)`` for each ``d``, through the loop."""
    runs = {}
    for d in dims:
        data = np.random.default_rng([seed, n_samples, d]).standard_normal((n_chains, n_samples, d))
        config = {"n_samples": n_samples, "n_chains": n_chains, "n_generations": n_generations, "seed": seed}
        runs[d] = store.cached(folder, f"dimension_{d}", config, lambda: _arrays(loop.run(
            gaussian.family("unbiased", multivariate=True), data, n_generations, seed=seed, sample_axis=1,
            progress=progress)))
    return runs


def cells(preset: dict) -> list[dict]:
    """The independent parts: the recursion for each sample size (both estimators), the policies, the
    schedules, and the d-dimensional Gaussian for each dimension."""
    recursions = [{"part": "recursion", "M": m} for m in preset["sizes"]]
    by_dimension = [{"part": "dimension", "d": d} for d in preset["dims"]]
    return recursions + [{"part": "policies"}, {"part": "schedules"}] + by_dimension


def run_cell(cell: dict, preset: dict, folder=None, seed: int = 0, progress: bool = False) -> dict:
    """One part of :func:`cells`, its results returned (as :func:`recursion`, :func:`policies`,
    :func:`schedules` or :func:`dimensions` return them); with ``folder``, saved there and read back or resumed
    from its files."""
    p, part = preset, cell["part"]
    if part == "recursion":
        return recursion([cell["M"]], p["n_generations"], p["n_chains"], seed, p["n_recorded"], folder,
                         progress)
    if part == "policies":
        return policies(p["policy_samples"], p["policy_chains"], p["policy_generations"], seed, folder,
                        progress)
    if part == "schedules":
        return schedules(p["schedule_m0"], p["schedule_power"], p["schedule_chains"],
                         p["schedule_generations"], seed, folder, progress)
    return dimensions([cell["d"]], p["dim_samples"], p["dim_chains"], p["dim_generations"], seed, folder,
                      progress)


def main(args) -> None:
    """Every cell of :func:`cells` (or those ``--only`` picks), in sequence or on Ray (``--ray``)."""
    grid.run(sys.modules[__name__], args)


def _arrays(history: loop.History) -> dict:
    return {key: history[key] for key in history.keys()}

