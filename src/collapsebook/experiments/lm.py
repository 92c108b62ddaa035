"""Chapter 5: OPT fine-tuned recursively on its own beam-search continuations (settings b and c, seeds).

Setting ``b``: 5 epochs per generation, no original data; setting ``c``: 10 epochs, a random 10 % of the
original blocks kept in every generation. Each run ``OUT/<setting>[-penalty<p>]/seed<k>/`` is a checkpoint
folder of :func:`collapsebook.loop.run` (per generation: data, metrics) with the weights of every generation
as safetensors in ``weights/``; ``--resume`` continues it without redoing finished generations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import lm, loop
from .._checks import check_choice, check_int

SETTINGS = {"b": {"epochs": 5, "original_fraction": 0.0}, "c": {"epochs": 10, "original_fraction": 0.1}}
ABLATION_PENALTY = 2.0

# Offline stand-ins for OPT-125m, one per scale (architecture and pretraining on the offline corpus).
TINY = {"vocab_size": 512, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 64,
        "dropout": 0.0, "pretrain_texts": 200, "epochs": 1, "lr": 3e-3, "batch_size": 16, "warmup": 5, "seed": 0}
SMALL = {"vocab_size": 2048, "hidden_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4, "ffn_dim": 512,
         "dropout": 0.1, "pretrain_texts": None, "epochs": 1, "lr": 3e-3, "batch_size": 32, "warmup": 50, "seed": 0}
OPT_125M_SHAPE = {"vocab_size": 8192, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                  "ffn_dim": 3072, "dropout": 0.1, "pretrain_texts": None, "epochs": 4, "lr": 6e-4,
                  "batch_size": 64, "warmup": 500, "seed": 0}

PRESETS = {
    "ci": {"model": None, "corpus": "auto", "offline": TINY, "n_train": 16, "n_validation": 16, "n_test": 64,
           "n_generations": 2, "seeds": 2, "ablation_seeds": 1, "lr": 1e-3, "batch_size": 8,
           "generate_batch_size": 16},
    "book": {"model": None, "corpus": "auto", "offline": SMALL, "n_train": 48, "n_validation": 32,
             "n_test": 128, "n_generations": 5, "seeds": 2, "ablation_seeds": 1, "lr": 5e-4, "batch_size": 16,
             "generate_batch_size": 32},
    "paper": {"model": lm.OPT_125M, "corpus": "auto", "offline": OPT_125M_SHAPE, "n_train": None,
              "n_validation": None, "n_test": None, "n_generations": 9, "seeds": 5, "ablation_seeds": 1,
              "lr": 2e-5, "batch_size": 128, "generate_batch_size": 256},
}


# Preset entries a resumed run may change: more generations or seeds extend it, batching does not alter results.
RESUMABLE = ("n_generations", "seeds", "ablation_seeds", "generate_batch_size")


@dataclass
class Setup:
    """The pretrained model and tokenizer, and the original blocks of the three splits."""

    model: object
    tokenizer: object
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    source: str


def setup(preset: dict, *, model: str | None = None, progress: bool = True) -> Setup:
    """Load the corpus and the pretrained model (``model`` overrides the preset's), and cut the blocks."""
    corpus = lm.load_corpus(preset["corpus"])
    base, tokenizer = lm.pretrained(model or preset["model"], offline=preset["offline"], corpus=corpus,
                                    progress=progress)
    cut = {split: lm.blocks(tokenizer, getattr(corpus, split))[:preset[f"n_{split}"]] for split in lm.SPLITS}
    return Setup(base, tokenizer, **cut, source=corpus.source)


def run_name(setting: str, repetition_penalty: float = 1.0) -> str:
    """The folder name of a run: ``b``, ``c``, or e.g. ``b-penalty2`` for the repetition-penalty ablation."""
    setting = check_choice("setting", setting, SETTINGS)
    return setting if repetition_penalty == 1.0 else f"{setting}-penalty{repetition_penalty:g}"


def run(env: Setup, preset: dict, setting: str, seed: int, folder, *, repetition_penalty: float = 1.0,
        progress: bool = True, detailed: bool = False) -> loop.History:
    """One recursive run (generations ``0 .. n_generations``) saved in ``folder``; resumes what is there.

    ``progress`` shows a bar over generations; ``detailed`` adds bars for every fine-tuning and beam search
    (useful in long command-line runs; in a notebook their many updates can overflow the output channel)."""
    spec = SETTINGS[check_choice("setting", setting, SETTINGS)]
    folder = Path(folder)
    fixed = {k: v for k, v in preset.items() if k not in RESUMABLE}
    settings = {"setting": setting, "repetition_penalty": repetition_penalty, "source": env.source,
                "model_config": env.model.config.to_diff_dict(), **fixed}
    loop.claim_folder(folder, settings, name="lm_config.json")
    family = lm.family(env.model, env.train, folder / "weights", epochs=spec["epochs"], lr=preset["lr"],
                       batch_size=preset["batch_size"], validation=env.validation,
                       repetition_penalty=repetition_penalty, generate_batch_size=preset["generate_batch_size"],
                       progress=detailed)
    return loop.run(family, env.train, preset["n_generations"], policy="replace",
                    original_fraction=spec["original_fraction"], seed=seed, checkpoint_dir=folder,
                    measure=_measure(env, family, folder, repetition_penalty), progress=progress)


def _measure(env: Setup, family, folder: Path, repetition_penalty: float):
    """Metrics of generation ``g``: losses on the test blocks, of its training data under generation 0's
    model (the paper's Figure 1 histograms), diversity of that data, and the continuation of one prompt."""
    reference = {}

    def measure(generation, train, g):
        if g == 0:
            reference["model"] = generation.model
        elif "model" not in reference:  # resumed after generation 0: reload its weights
            reference["model"] = family.from_arrays(loop.History.load(folder).records[0]).model
        example = lm.continue_blocks(generation.model, env.test[:1], repetition_penalty=repetition_penalty,
                                     progress=False)[0]
        return {"test_loss": lm.sequence_losses(generation.model, env.test),
                "data_loss": lm.sequence_losses(reference["model"], train),
                "distinct_2": lm.distinct_ngrams(train, 2), "distinct_4": lm.distinct_ngrams(train, 4),
                "rare_share": lm.rare_token_share(train, env.train), "example": example}

    return measure


def plan(preset: dict, settings=("b", "c"), seeds: int | None = None, ablation: bool = True):
    """The runs of the chapter: ``(setting, repetition_penalty, seed)`` for each setting and seed, and the
    repetition-penalty ablation of setting b."""
    seeds = check_int("seeds", preset["seeds"] if seeds is None else seeds, 1)
    runs = [(s, 1.0, k) for s in settings for k in range(seeds)]
    if ablation and "b" in settings:
        runs += [("b", ABLATION_PENALTY, k) for k in range(preset["ablation_seeds"])]
    return runs


def run_all(env: Setup, preset: dict, out, runs, *, progress: bool = True,
            detailed: bool = False) -> dict[str, list[loop.History]]:
    """Every run in ``runs`` (see :func:`plan`) under ``out``; returns their histories by run name."""
    results = {}
    for setting, penalty, seed in runs:
        folder = Path(out) / run_name(setting, penalty) / f"seed{seed}"
        history = run(env, preset, setting, seed, folder, repetition_penalty=penalty, progress=progress,
                      detailed=detailed)
        results.setdefault(run_name(setting, penalty), []).append(history)
    return results


def load_results(out) -> dict[str, list[loop.History]]:
    """The histories saved under ``out`` by :func:`run_all` or the CLI, by run name."""
    return {run.name: [loop.History.load(seed) for seed in sorted(run.glob("seed*"))]
            for run in sorted(Path(out).iterdir()) if run.is_dir()}


def add_arguments(parser) -> None:
    parser.add_argument("--model", default=None, help="hub name or folder (default: the scale's model)")
    parser.add_argument("--setting", choices=["b", "c", "all"], default="all",
                        help="b: 5 epochs, no original data; c: 10 epochs, 10%% original data; all: both and "
                             "the repetition-penalty ablation")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the scale's)")
    parser.add_argument("--repetition-penalty", type=float, default=1.0, help="1.0: none (the paper's main runs)")


def main(args) -> None:
    preset = PRESETS[args.scale]
    env = setup(preset, model=args.model, progress=args.progress)
    if args.setting == "all":
        runs = plan(preset, seeds=args.seeds)
    else:
        runs = [(args.setting, args.repetition_penalty, k) for k in range(args.seeds or preset["seeds"])]
    run_all(env, preset, args.out, runs, progress=args.progress, detailed=args.progress)
