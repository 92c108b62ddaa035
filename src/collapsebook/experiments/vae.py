"""Chapter 4: VAEs trained on their own samples, measured by the original encoder and a digit classifier.

Two protocols: the paper's (a fresh VAE per generation, every training batch a fresh batch of decoder means
of the previous VAE; one safetensors checkpoint per generation in OUT/fresh) and fixed synthetic datasets
through the generation loop under two data policies, in independently trained chains, one per seed
(OUT/chains/seed_S/NAME, generation 0 in OUT/chains/seed_S/generation0). Metrics per generation go to
OUT/fresh_metrics.json and into the loop's checkpoints. Everything resumes with --resume. The grid's cells:
the paper's protocol, and each chain; generation 0 of the paper's protocol, whose encoder measures every cell,
is trained first.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from .. import data, grid, loop, metrics, store, vae

# beta: the weight of the KL term. The paper's is 1 for 784 pixels; an 8x8 digit has 64, so at the ci scale
# the KL term is scaled by 64/784 to weigh against the reconstruction term per pixel as it does in the paper.
PRESETS = {
    "ci": {"image_size": 8, "width": 256, "beta": 64 / 784, "n_train": 1000, "n_heldout": 600, "epochs": 16,
           "batch_size": 32, "n_generations": 5, "policy_generations": 3, "policy_chains": 5, "n_measure": 1000},
    "book": {"image_size": 28, "width": 32, "beta": 1.0, "n_train": 8000, "n_heldout": 2000, "epochs": 10,
             "batch_size": 64, "n_generations": 5, "policy_generations": 3, "policy_chains": 3, "n_measure": 2000},
    "paper": {"image_size": 28, "width": 64, "beta": 1.0, "n_train": 55000, "n_heldout": 5000, "epochs": 30,
              "batch_size": 256, "n_generations": 21, "policy_generations": 10, "policy_chains": 3,
              "n_measure": 10000},
}

GPU_SCALES = ("paper",)  # on Ray, a paper-scale cell asks for one GPU

# The data policies compared on fixed synthetic datasets: loop.run keywords.
POLICIES = {"replace": {"policy": "replace"}, "accumulate": {"policy": "accumulate"}}

LEVELS = (0.95, 0.99)  # central quantile intervals of the original latents

# The spread (std) of latent means under the original encoder that the official notebook
# (iliaishacked/curse_recurse, VAE_experiments.ipynb) printed for its five runs, at its generations 0-4
# (100 draws each; its generation n is this book's generation n + 1).
PAPER_SPREADS = np.array([
    [0.6995, 0.6013, 0.5541, 0.4893, 0.4665],
    [0.6953, 0.5937, 0.5296, 0.4843, 0.4310],
    [0.6923, 0.6091, 0.5336, 0.4892, 0.4583],
    [0.6784, 0.6050, 0.5235, 0.4830, 0.4280],
    [0.6736, 0.6076, 0.5273, 0.4681, 0.4329],
])


def add_arguments(parser) -> None:
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--online", action="store_true", help="load MNIST from the hub (default: probe)")


def split_digits(images, labels, n_train: int, n_heldout: int, seed: int):
    """A random split: up to ``n_train`` images for the VAE and the last ``n_heldout`` for the classifier."""
    order = np.random.default_rng([seed, 4]).permutation(len(images))
    held, rest = order[len(order) - n_heldout:], order[:max(0, len(order) - n_heldout)][:n_train]
    if len(rest) == 0:
        raise ValueError(f"n_heldout={n_heldout} leaves no image for the VAE out of {len(images)}")
    return images[rest], labels[rest], images[held], labels[held]


def digit_classifier(images, labels):
    """A multinomial logistic regression on pixels, trained on real digits (chapter 4's class counter)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.1, max_iter=300).fit(images.reshape(len(images), -1), labels)


def class_frequencies(classifier, images, n_classes: int = 10) -> np.ndarray:
    """The share of ``images`` the classifier assigns to each class."""
    predicted = classifier.predict(images.reshape(len(images), -1))
    return np.bincount(predicted, minlength=n_classes) / len(images)


def latent_spread(latents) -> tuple[float, float]:
    """The standard deviation of latent means (all coordinates pooled) and its standard error, from the
    variance as a mean over the independent rows (CLT) and the delta method: ``se(std) = se(var) / (2 std)``."""
    latents = np.asarray(latents, dtype=float)
    per_row = ((latents - latents.mean()) ** 2).mean(axis=1)
    std = float(np.sqrt(per_row.mean()))
    return std, float(per_row.std(ddof=1) / np.sqrt(len(per_row)) / (2 * std))


def summary(original, model, reference, classifier, n: int, rng) -> dict:
    """One generation's metrics: the spread of its samples' latent means under the ``original`` encoder,
    their share outside the central 95 % and 99 % intervals of the ``reference`` latents (real data), and
    the class frequencies of its samples."""
    samples = vae.sample(model, n, rng)
    latents = vae.encode(original, samples)
    std, std_se = latent_spread(latents)
    return {
        "latent_std": std,
        "latent_std_se": std_se,
        **{f"outside_{round(100 * q)}": float(metrics.share_outside(latents, reference, q)) for q in LEVELS},
        "class_frequencies": class_frequencies(classifier, samples),
    }


def spread_factor(spreads) -> float:
    """The mean factor by which the spread shrinks per generation: ``(last / first) ** (1 / steps)``."""
    spreads = np.asarray(spreads, dtype=float)
    if spreads.ndim != 1 or len(spreads) < 2 or np.any(spreads <= 0):
        raise ValueError(f"spreads must be at least two positive numbers, got {spreads!r}")
    return float((spreads[-1] / spreads[0]) ** (1 / (len(spreads) - 1)))


def training(preset: dict, progress: bool = False) -> dict:
    """The preset's training settings, as :func:`collapsebook.vae.recursive_fresh` takes them."""
    keys = ("epochs", "batch_size", "width", "beta")
    return {**{k: preset[k] for k in keys}, "progress": progress}


def generation0(images, preset: dict, seed: int, folder=None, progress: bool = False) -> vae.VAE:
    """Generation 0 of chain ``seed``: a VAE fitted to the real ``images`` with the preset's settings (saved in,
    and on a second call loaded from, ``folder``). The same model as ``vae.fit`` with
    ``loop.generation_rng(seed, 0)`` and as many steps."""
    return vae.recursive_fresh(images, 0, seed=seed, checkpoint_dir=folder, **training(preset, progress))[0]


def reusing_generation0(family: loop.Family, original_images, model0) -> loop.Family:
    """The same family, except that fitting the original images returns ``model0``: generation 0 of every
    policy is then the paper protocol's generation 0 (the same seed trains the same model), trained once."""
    return dataclasses.replace(family, fit=lambda d, rng: model0 if d is original_images else family.fit(d, rng))


def run_policies(images, model0, measure, preset, seed: int, folder=None, progress: bool = True) -> dict:
    """One chain: :func:`collapsebook.loop.compare_policies` on fixed synthetic datasets under each of
    :data:`POLICIES`, all from generation 0 ``model0``, with the loop's ``seed``; ``measure(model, seed, g)``
    makes each generation's record. Returns a ``History`` per policy (saved in ``folder/<policy>``)."""
    steps = vae.n_batches(len(images), preset["batch_size"], preset["epochs"])
    family = vae.family(progress=progress, n_steps=steps, batch_size=preset["batch_size"], width=preset["width"],
                        beta=preset["beta"])
    return loop.compare_policies(reusing_generation0(family, images, model0), images,
                                 preset["policy_generations"], POLICIES, seed=seed,
                                 measure=lambda model, _train, g: measure(model, seed, g),
                                 checkpoint_dir=folder, progress=progress)


def policy_chains(images, measure, preset, seeds, model0=None, folder=None, progress: bool = True) -> list[dict]:
    """Independently trained chains, one per seed: generation 0 fitted to ``images`` with that seed
    (``model0``, when given, is the first seed's), then :func:`run_policies` from it. Returns one
    ``{policy: History}`` per chain."""
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one chain, got none")
    chains = []
    for i, seed in enumerate(seeds):
        chain = None if folder is None else Path(folder) / f"seed_{seed}"
        first = model0 if i == 0 and model0 is not None else generation0(
            images, preset, seed, None if chain is None else chain / "generation0", progress)
        chains.append(run_policies(images, first, measure, preset, seed, folder=chain, progress=progress))
    return chains


def paired_difference(a, b) -> tuple[float, float]:
    """The mean of ``a - b`` over paired chains and its standard error (sample std over sqrt(chains))."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) < 2:
        raise ValueError(f"a and b must hold the same two or more chains, got {len(np.atleast_1d(d))}")
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def cli_preset(args) -> dict:
    """The scale's preset; ``--online`` adds ``"online": True`` (MNIST from the hub, else a probe decides)."""
    return {**PRESETS[args.scale], "online": True} if args.online else PRESETS[args.scale]


def cells(preset: dict) -> list[dict]:
    """The paper's protocol (``{"protocol": "fresh"}``) and each policy chain (``{"protocol": "chains",
    "chain": k}``, seed ``seed + k``): independent once generation 0 (:func:`prepare`) is trained."""
    return [{"protocol": "fresh"}] + [{"protocol": "chains", "chain": k} for k in range(preset["policy_chains"])]


@dataclasses.dataclass
class Context:
    """What every cell reads: the training images, generation 0 of the paper's protocol and the measure."""

    train: np.ndarray
    model0: vae.VAE
    measure: object  # measure(model, seed, g) -> one generation's summary


_CONTEXTS: dict[str, Context] = {}  # per process: cells run one after another in a worker share it


def context(preset: dict, folder, seed: int = 0, progress: bool = False) -> Context:
    """The digits split by ``seed``, generation 0 of the paper's protocol (trained into ``folder/fresh`` the
    first time, then loaded), and :func:`summary` against its encoder with a classifier of held-out digits."""
    key = json.dumps([preset, str(folder), seed], sort_keys=True)
    if key not in _CONTEXTS:
        vae.set_threads()
        images, labels = data.load_mnist(preset["image_size"], online=True if preset.get("online") else None)
        train, _, held, held_labels = split_digits(images, labels, preset["n_train"], preset["n_heldout"], seed)
        classifier = digit_classifier(held, held_labels)
        model0 = vae.recursive_fresh(train, 0, seed=seed, checkpoint_dir=Path(folder) / "fresh",
                                     **training(preset, progress))[0]
        reference = vae.encode(model0, train[:preset["n_measure"]])

        def measure(model, chain_seed, g):
            rng = np.random.default_rng([chain_seed, g, 1])  # the notebook draws the same samples
            return summary(model0, model, reference, classifier, preset["n_measure"], rng)

        _CONTEXTS[key] = Context(train, model0, measure)
    return _CONTEXTS[key]


def prepare(preset: dict, folder, seed: int = 0, progress: bool = False) -> None:
    """Train generation 0 of the paper's protocol (``folder/fresh``) before the cells, which all measure with
    its encoder."""
    context(preset, folder, seed, progress)


def run_cell(cell: dict, preset: dict, folder, seed: int = 0, progress: bool = False) -> None:
    """One cell of :func:`cells`: the paper's protocol (``folder/fresh``, ``folder/fresh_metrics.json``) or
    chain ``k`` (``folder/chains/seed_<seed + k>``), resumed from what is saved."""
    shared, folder = context(preset, folder, seed, progress), Path(folder)
    if cell["protocol"] == "fresh":
        models = vae.recursive_fresh(shared.train, preset["n_generations"], seed=seed,
                                     checkpoint_dir=folder / "fresh", **training(preset, progress))
        rows = [{k: np.asarray(v).tolist() for k, v in shared.measure(m, seed, g).items()}
                for g, m in enumerate(models)]
        store.atomic_write(folder / "fresh_metrics.json", json.dumps(rows).encode())
    else:
        k = cell["chain"]
        policy_chains(shared.train, shared.measure, preset, [seed + k], model0=shared.model0 if k == 0 else None,
                      folder=folder / "chains", progress=progress)


def main(args) -> None:
    """Every cell of :func:`cells` (or those ``--only`` picks), in sequence or on Ray (``--ray``)."""
    grid.run(sys.modules[__name__], args)
