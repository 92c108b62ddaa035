"""Chapter 4: VAEs trained on their own samples, measured by the original encoder and a digit classifier.

Two protocols: the paper's (a fresh VAE per generation, every training batch a fresh batch of decoder means
of the previous VAE; one safetensors checkpoint per generation in OUT/fresh) and fixed synthetic datasets
through the generation loop under three data policies (OUT/policies/NAME). Metrics per generation go to
OUT/fresh_metrics.json and into the loop's checkpoints. Everything resumes with --resume.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from .. import data, loop, metrics, vae

PRESETS = {
    "ci": {"image_size": 8, "width": 256, "n_train": 1000, "n_heldout": 600, "epochs": 16, "batch_size": 32,
           "n_generations": 3, "policy_generations": 2, "n_measure": 1000},
    "book": {"image_size": 28, "width": 32, "n_train": 4000, "n_heldout": 4000, "epochs": 10, "batch_size": 32,
             "n_generations": 5, "policy_generations": 2, "n_measure": 2000},
    "paper": {"image_size": 28, "width": 64, "n_train": 60000, "n_heldout": 5000, "epochs": 30,
              "batch_size": 256, "n_generations": 20, "policy_generations": 10, "n_measure": 10000},
}

# The data policies compared on fixed synthetic datasets: loop.run keywords.
POLICIES = {
    "replace": {"policy": "replace"},
    "accumulate": {"policy": "accumulate"},
    "replace, 10% real": {"policy": "replace", "original_fraction": 0.1},
}

LEVELS = (0.95, 0.99)  # central quantile intervals of the original latents


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


def reusing_generation0(family: loop.Family, original_images, model0) -> loop.Family:
    """The same family, except that fitting the original images returns ``model0``: generation 0 of every
    policy is then the paper protocol's generation 0 (the same seed trains the same model), trained once."""
    return dataclasses.replace(family, fit=lambda d, rng: model0 if d is original_images else family.fit(d, rng))


def run_policies(images, model0, measure, preset, seed: int, folder=None, progress: bool = True) -> dict:
    """The loop on fixed synthetic datasets under each of :data:`POLICIES`: a ``History`` per policy."""
    steps = vae.n_batches(len(images), preset["batch_size"], preset["epochs"])
    family = vae.family(progress=progress, n_steps=steps, batch_size=preset["batch_size"], width=preset["width"])
    family = reusing_generation0(family, images, model0)
    return {
        name: loop.run(family, images, preset["policy_generations"], seed=seed, measure=measure,
                       checkpoint_dir=None if folder is None else folder / _folder_name(name),
                       progress=progress, **kwargs)
        for name, kwargs in POLICIES.items()
    }


def main(args) -> None:
    preset = PRESETS[args.scale]
    vae.set_threads()
    images, labels = data.load_mnist(preset["image_size"], online=True if args.online else None)
    train, _, held, held_labels = split_digits(images, labels, preset["n_train"], preset["n_heldout"], args.seed)
    classifier = digit_classifier(held, held_labels)
    models = vae.recursive_fresh(train, preset["n_generations"], epochs=preset["epochs"],
                                 batch_size=preset["batch_size"], width=preset["width"], seed=args.seed,
                                 checkpoint_dir=args.out / "fresh", progress=args.progress)
    reference = vae.encode(models[0], train[:preset["n_measure"]])

    def measure(model, _train, g):
        rng = np.random.default_rng([args.seed, g, 1])  # the notebook draws the same samples
        return summary(models[0], model, reference, classifier, preset["n_measure"], rng)

    rows = [{k: np.asarray(v).tolist() for k, v in measure(m, None, g).items()} for g, m in enumerate(models)]
    (args.out / "fresh_metrics.json").write_text(json.dumps(rows))
    run_policies(train, models[0], measure, preset, args.seed, folder=args.out / "policies", progress=args.progress)


def _folder_name(policy_name: str) -> str:
    return policy_name.replace(", ", "_").replace("% ", "pct-")
