"""Chapter 3: Gaussian mixtures refitted by EM for up to 2050 generations (L2 distance, tails, replace vs accumulate)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .. import gmm, grid, loop

# The main story: two well-separated 2-D Gaussians (the paper's text). Mahalanobis distance between the means > 4.
TWO_GAUSSIANS = gmm.mixture(
    weights=[0.5, 0.5],
    means=[[-2.0, -1.0], [2.0, 1.0]],
    covariances=[[[1.0, 0.6], [0.6, 1.0]], [[1.0, -0.4], [-0.4, 0.6]]],
)
# The official notebook's setting: one 2-D standard normal blob, fitted with two components anyway.
ONE_BLOB = gmm.mixture(weights=[1.0], means=[[0.0, 0.0]], covariances=[np.eye(2)])

# The official notebook's EM settings (scikit-learn GaussianMixture(tol=1e-5, max_iter=2000), k-means init).
EM = {"tol": 1e-5, "max_iter": 2000, "reg_covar": 1e-6}
TAIL = 0.01  # tail mass: the share of the original mixture outside its outer 1 % density contour
SNAPSHOTS = (0, 50, 100, 150, 200, 350, 2000)  # the paper's scatter panels

PRESETS = {
    "ci": {"n_samples": 1000, "n_runs": 8, "n_generations": 150, "variant_generations": 60,
           "sizes": [250, 1000], "size_runs": 8, "size_generations": 150,
           "accumulate_samples": 500, "accumulate_generations": 25, "drift_runs": 256, "drift_generations": 25},
    "book": {"n_samples": 1000, "n_runs": 8, "n_generations": 2050, "variant_generations": 350,
             "sizes": [500, 1000, 10000], "size_runs": 8, "size_generations": 350,
             "accumulate_samples": 500, "accumulate_generations": 60, "drift_runs": 256, "drift_generations": 25},
    "paper": {"n_samples": 1000, "n_runs": 20, "n_generations": 2050, "variant_generations": 2050,
              "sizes": [500, 1000, 10000, 50000, 200000], "size_runs": 10, "size_generations": 2050,
              "accumulate_samples": 1000, "accumulate_generations": 200, "drift_runs": 1024, "drift_generations": 25},
}


def add_arguments(parser) -> None:
    parser.add_argument("--seed", type=int, default=0)


def runs_of(model: dict, n_runs: int) -> dict:
    """The same mixture repeated for ``n_runs`` independent runs (a leading runs axis)."""
    return {k: np.broadcast_to(v, (n_runs,) + np.shape(v)).copy() for k, v in model.items()}


def measures(truth: dict, seed: int = 0):
    """The per-generation metrics: L2 distance and covariance of the fit, log-likelihood and tail mass of the
    generation's training data under the original mixture ``truth``."""
    level = gmm.outer_contour(truth, TAIL, 200_000, np.random.default_rng([seed, 1]))

    def measure(model, train, g):
        return {"l2": gmm.l2_distance(model, truth), "covariance": gmm.mixture_covariance(model),
                "original_log_likelihood": gmm.log_likelihood(truth, train),
                "tail_mass": gmm.tail_mass(truth, level, train)}

    return measure


def shrinkage_only(fit: dict, n_generations: int, n_samples: int) -> dict:
    """``fit`` at generations ``0 .. n_generations`` if only the Wishart shrinkage acted: each covariance's
    eigenvalues multiplied by ``exp(-5 g / N)`` (the log-determinant falls by ``10 g / N`` in 2-D) plus EM's floor
    ``reg_covar``, weights and centres fixed. Every array gains a leading generation axis."""
    g = np.arange(n_generations + 1, dtype=float)
    covariances = np.asarray(fit["covariances"], dtype=float)
    factor = np.exp(-5.0 * g / n_samples).reshape((-1,) + (1,) * covariances.ndim)
    return {"weights": np.broadcast_to(fit["weights"], g.shape + np.shape(fit["weights"])),
            "means": np.broadcast_to(fit["means"], g.shape + np.shape(fit["means"])),
            "covariances": covariances * factor + EM["reg_covar"] * np.eye(covariances.shape[-1])}


def chains(truth: dict, n_samples: int, n_runs: int, n_generations: int, *, n_components: int = 2,
           policy: str = "replace", original_fraction: float = 0.0, policies=None, seed: int = 0, folder=None,
           progress: bool = False):
    """``n_runs`` independent chains of EM fits, ``n_samples`` points per generation, through :func:`loop.run`
    (``policy`` and ``original_fraction`` as there): a ``History``. With ``policies`` (names, or a mapping as in
    :func:`loop.compare_policies`), the same start under each of them in one call: ``{name: History}``, each
    saved in ``folder/name``."""
    data = gmm.sample(runs_of(truth, n_runs), n_samples, np.random.default_rng([seed, n_samples]))
    settings = dict(seed=seed, measure=measures(truth, seed), checkpoint_dir=folder, sample_axis=1,
                    progress=progress)
    if policies is not None:
        return loop.compare_policies(gmm.family(n_components, **EM), data, n_generations, policies,
                                     original_fraction=original_fraction, **settings)
    return loop.run(gmm.family(n_components, **EM), data, n_generations, policy=policy,
                    original_fraction=original_fraction, **settings)


def experiments(preset: dict) -> dict:
    """Every run of the chapter by name: ``name -> (truth, n_samples, n_runs, n_generations, keyword args)``."""
    p = preset
    runs = {"two": (TWO_GAUSSIANS, p["n_samples"], p["n_runs"], p["n_generations"], {}),
            "one_component": (TWO_GAUSSIANS, p["n_samples"], p["n_runs"], p["variant_generations"],
                              {"n_components": 1}),
            "blob": (ONE_BLOB, p["n_samples"], p["n_runs"], p["variant_generations"], {}),
            "drift": (TWO_GAUSSIANS, p["n_samples"], p["drift_runs"], p["drift_generations"], {})}
    runs["policies"] = (TWO_GAUSSIANS, p["accumulate_samples"], p["n_runs"], p["accumulate_generations"],
                        {"policies": ["replace", "accumulate"]})
    for n in p["sizes"]:
        runs[f"size_{n}"] = (TWO_GAUSSIANS, n, p["size_runs"], p["size_generations"], {})
    return runs


def cells(preset: dict) -> list[dict]:
    """The independent runs of :func:`experiments`, one cell each (``{"part": name}``)."""
    return [{"part": name} for name in experiments(preset)]


def run_cell(cell: dict, preset: dict, folder=None, seed: int = 0, progress: bool = False):
    """The run ``cell["part"]`` of :func:`experiments`, as :func:`chains` returns it; with ``folder``, the
    loop's checkpoints are saved in ``folder/<part>`` and resumed from there."""
    name = cell["part"]
    truth, n, runs, generations, kwargs = experiments(preset)[name]
    saved = None if folder is None else Path(folder) / name
    return chains(truth, n, runs, generations, seed=seed, folder=saved, progress=progress, **kwargs)


def main(args) -> None:
    """Every cell of :func:`cells` (or those ``--only`` picks), in sequence or on Ray (``--ray``)."""
    grid.run(sys.modules[__name__], args)
