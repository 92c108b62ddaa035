"""Chapter 6: what keeps a model from collapsing (policies across families, fresh data, strong collapse).

The experiment is a list of independent cells (:func:`cells`), each run by :func:`run_cell` into its own
subfolder of ``--out`` (resumable: the loop checkpoints every generation of every policy):

- ``grid-<family>``: every policy of :func:`grid_policies` on one family (discrete, gaussian, gmm, regression)
  in one :func:`collapsebook.loop.compare_policies` call, one subfolder per policy;
- ``shares-<family>``: the Gaussian (and the GMM) with a share ``l`` of fresh or of original data per generation,
  for each ``l`` of the preset;
- ``strong``: strong collapse, OLS on one training set with a fixed share of synthetic labels
  (:func:`collapsebook.regression.mixed_sample`) for growing sizes, saved as ``strong.npz``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import discrete, gaussian, gmm, grid, loop, metrics, regression, store
from .discrete import LAW
from .gmm import EM, TWO_GAUSSIANS, runs_of

FAMILIES = ("discrete", "gaussian", "gmm", "regression")
D_REGRESSION = 4  # regression: d features, true weights W, label noise SIGMA
W = np.ones(D_REGRESSION)
SIGMA = 1.0
DRIFT = np.array([0.6, 0.0, -0.8, 0.0])  # strong collapse: w_synthetic = W + DRIFT, ||DRIFT||**2 = 1

PRESETS = {
    "ci": {"share": 0.1,
           "discrete": {"n_samples": 100, "n_chains": 200, "n_generations": 40},
           "gaussian": {"n_samples": 100, "n_chains": 400, "n_generations": 60},
           "gmm": {"n_samples": 300, "n_chains": 24, "n_generations": 20},
           "regression": {"n_samples": 100, "n_chains": 1000, "n_generations": 12},
           "shares": [0.02, 0.05, 0.1, 0.2, 0.5], "shares_gaussian": {"n_samples": 100, "n_chains": 1000,
                                                                     "n_generations": 150},
           "shares_gmm": None,
           "strong_sizes": [12, 25, 50, 100, 200, 400, 800, 1600], "strong_shares": [0.0, 0.05, 0.2],
           "strong_chains": 400},
    "book": {"share": 0.1,
             "discrete": {"n_samples": 100, "n_chains": 500, "n_generations": 100},
             "gaussian": {"n_samples": 100, "n_chains": 1000, "n_generations": 150},
             "gmm": {"n_samples": 500, "n_chains": 24, "n_generations": 50},
             "regression": {"n_samples": 100, "n_chains": 2000, "n_generations": 30},
             "shares": [0.02, 0.05, 0.1, 0.2, 0.5], "shares_gaussian": {"n_samples": 100, "n_chains": 4000,
                                                                       "n_generations": 300},
             "shares_gmm": {"n_samples": 500, "n_chains": 8, "n_generations": 60},
             "strong_sizes": [12, 25, 50, 100, 200, 400, 800, 1600, 3200], "strong_shares": [0.0, 0.05, 0.2],
             "strong_chains": 1000},
    "paper": {"share": 0.1,
              "discrete": {"n_samples": 100, "n_chains": 1000, "n_generations": 400},
              "gaussian": {"n_samples": 100, "n_chains": 2000, "n_generations": 300},
              "gmm": {"n_samples": 1000, "n_chains": 24, "n_generations": 200},
              "regression": {"n_samples": 100, "n_chains": 2000, "n_generations": 60},
              "shares": [0.01, 0.02, 0.05, 0.1, 0.2, 0.5],
              "shares_gaussian": {"n_samples": 100, "n_chains": 10000, "n_generations": 1000},
              "shares_gmm": {"n_samples": 1000, "n_chains": 20, "n_generations": 200},
              "strong_sizes": [12, 25, 50, 100, 200, 400, 800, 1600, 3200, 6400],
              "strong_shares": [0.0, 0.01, 0.05, 0.2], "strong_chains": 2000},
}

METRICS = {"discrete": "TV distance to $q$", "gaussian": "$W_2^2$ to $N(0, 1)$",
           "gmm": "$L_2$ distance to the mixture", "regression": r"$\|\hat w - w\|^2$"}


def add_arguments(parser) -> None:
    parser.add_argument("--seed", type=int, default=0)


def grid_policies(share: float) -> dict:
    """The policies of the grid, as :func:`collapsebook.loop.compare_policies` takes them."""
    return {"replace": {"policy": "replace"}, "accumulate": {"policy": "accumulate"},
            "accumulate-subsample": {"policy": "accumulate-subsample"},
            "original": {"original_fraction": share}, "fresh": {"fresh_fraction": share}}


def share_policies(shares) -> dict:
    """Replace with a share ``l`` of fresh, or of original, points in every block, for each ``l``."""
    policies = {"replace": {"policy": "replace"}}
    for share in shares:
        policies[f"fresh-{share:g}"] = {"fresh_fraction": share}
        policies[f"original-{share:g}"] = {"original_fraction": share}
    return policies


def setting(name: str, size: dict, seed: int) -> dict:
    """One family's start: ``{"family", "data", "fresh", "error"}``; ``fresh(n, rng)`` draws new real points
    for every chain, ``error(history)`` is the family's distance to the truth, shape ``(generations, chains)``."""
    m, chains = size["n_samples"], size["n_chains"]
    rng = np.random.default_rng([seed, FAMILIES.index(name)])
    if name == "discrete":
        laws = np.broadcast_to(LAW, (chains, LAW.size))
        return {"family": discrete.family(LAW.size), "data": discrete.sample(laws, m, rng),
                "fresh": lambda n, r: discrete.sample(laws, n, r),
                "error": lambda h: metrics.tv_distance(h["p"], LAW)}
    if name == "gaussian":
        return {"family": gaussian.family("unbiased"), "data": rng.standard_normal((chains, m)),
                "fresh": lambda n, r: r.standard_normal((chains, n)),
                "error": lambda h: metrics.w2_gaussian_1d(h["mean"], h["std"], 0.0, 1.0, squared=True)}
    if name == "gmm":
        truths = runs_of(TWO_GAUSSIANS, chains)
        return {"family": gmm.family(2, **EM), "data": gmm.sample(truths, m, rng),
                "fresh": lambda n, r: gmm.sample(truths, n, r),
                "error": lambda h: np.stack([gmm.l2_distance(fit, TWO_GAUSSIANS) for fit in _generations(h)])}
    rows = regression.design(m, D_REGRESSION, rng, chains)
    truth = np.broadcast_to(W, (chains, D_REGRESSION))
    return {"family": regression.family(rows, SIGMA), "data": regression.sample(truth, rows, SIGMA, m, rng),
            "fresh": lambda n, r: regression.sample(truth, rows, SIGMA, n, r),
            "error": lambda h: regression.squared_error(h["w"], W)}


def _generations(history: loop.History):
    """Each generation's model of a history as a dict of arrays (leading axis: chains)."""
    parameters = [key for key in history.keys() if key not in ("generation", "n_train")]
    return [{key: record[key] for key in parameters} for record in history.records]


def cells(preset: dict) -> list[dict]:
    """The experiment's independent cells: ``{"name", "part", "family"}``, each run by :func:`run_cell`."""
    grid = [{"name": f"grid-{name}", "part": "grid", "family": name} for name in FAMILIES]
    shares = [{"name": f"shares-{name}", "part": "shares", "family": name}
              for name in ("gaussian", "gmm") if preset[f"shares_{name}"] is not None]
    return grid + shares + [{"name": "strong", "part": "strong", "family": "regression"}]


def run_cell(cell: dict, preset: dict, folder=None, seed: int = 0, progress: bool = False) -> dict:
    """Run one of :func:`cells` (resumed from ``folder`` when given). A ``grid`` or ``shares`` cell returns
    ``{policy: History}`` (the family's distance to the truth added to each record as ``"error"``), the
    ``strong`` cell the arrays of :func:`strong_collapse`."""
    if cell["part"] == "strong":
        return store.cached(folder, "strong", {"preset": _strong_settings(preset), "seed": seed},
                      lambda: strong_collapse(preset["strong_sizes"], preset["strong_shares"],
                                              preset["strong_chains"], seed, progress))
    name = cell["family"]
    if cell["part"] == "grid":
        size, policies = preset[name], grid_policies(preset["share"])
    else:
        size, policies = preset[f"shares_{name}"], share_policies(preset["shares"])
    start = setting(name, size, seed)
    runs = loop.compare_policies(start["family"], start["data"], size["n_generations"], policies,
                                 fresh=start["fresh"], seed=seed, sample_axis=1, progress=progress,
                                 checkpoint_dir=None if folder is None else Path(folder))
    for history in runs.values():
        for record, error in zip(history.records, start["error"](history)):
            record["error"] = error
    return runs


def strong_collapse(sizes, shares, n_chains: int, seed: int, progress: bool = False) -> dict:
    """OLS errors ``||w_hat - w||**2`` on ``N`` points of which a share ``p`` is labelled by ``W + DRIFT``:
    ``{"sizes", "shares", "errors"}`` with errors of shape ``(shares, sizes, chains)``."""
    errors = np.empty((len(shares), len(sizes), n_chains))
    for i, share in enumerate(tqdm(shares, desc="synthetic shares", disable=not progress)):
        for j, n in enumerate(sizes):
            rng = np.random.default_rng([seed, i, j])
            for chains in np.array_split(np.arange(n_chains), -(-n_chains * n // 100_000)):  # <= 4 MB a batch
                truth = np.broadcast_to(W, (chains.size, W.size))
                points = regression.mixed_sample(truth, W + DRIFT, n, share, rng, SIGMA)
                errors[i, j, chains] = regression.squared_error(regression.fit(points), W)
    return {"sizes": np.asarray(sizes), "shares": np.asarray(shares, dtype=float), "errors": errors}


def _strong_settings(preset: dict) -> dict:
    return {key: preset[key] for key in ("strong_sizes", "strong_shares", "strong_chains")}


def cell_folder(cell: dict) -> str:
    """The subfolder of ``--out`` that :func:`run_cell` gets for ``cell`` (:mod:`collapsebook.grid`)."""
    return cell["name"]


def main(args) -> None:
    """Every cell of :func:`cells` (or those ``--only`` picks), in sequence or on Ray (``--ray``)."""
    grid.run(sys.modules[__name__], args)
