"""Chapter 5: a pretrained LM fine-tuned recursively on its own beam-search continuations (settings b and c).

Setting ``b``: 5 epochs per generation, no original data; setting ``c``: 10 epochs, a random 10 % of the
original blocks kept in every generation; plus setting b with repetition penalties 2.0 and 3.0. The model is
OPT-125m when the hub answers, else SmolLM2-135M (offline). Each run ``OUT/<setting>[-penalty<p>]/seed<k>/`` is
a checkpoint folder of :func:`collapsebook.loop.run` (per generation: data, metrics) with the weights as
safetensors in ``weights/`` (generation 0's and the last one's once the run is finished); ``--resume``
continues it without redoing finished generations.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import grid, lm, loop, store
from .._checks import check_choice, check_int, check_positive

SETTINGS = {"b": {"epochs": 5, "original_fraction": 0.0}, "c": {"epochs": 10, "original_fraction": 0.1}}
# Setting b's repetition-penalty ablation: the paper's 2.0, and the 3.0 that its released code hard-codes.
ABLATION_PENALTIES = (2.0, 3.0)

# The tiny OPT of the ci scale, pretrained on the offline corpus in about 20 s: it checks the pipeline, not the
# paper's result. Smaller or shorter-trained ones continue every block with the same repeated token, a run
# the chapter's checks must (and do) reject.
TINY = {"vocab_size": 1024, "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 128,
        "dropout": 0.0, "pretrain_texts": 2000, "epochs": 3, "lr": 3e-3, "batch_size": 16, "warmup": 5, "seed": 0}

# model: "auto" is OPT-125m when the hub answers and the offline stand-in (SmolLM2-135M) when it does not.
PRESETS = {
    "ci": {"model": "tiny", "corpus": "auto", "n_train": 16, "n_validation": 16, "n_test": 64,
           "n_generations": 2, "seeds": 2, "ablation_seeds": 1, "lr": 1e-3, "batch_size": 8,
           "generate_batch_size": 16},
    "book": {"model": "auto", "corpus": "auto", "n_train": 16, "n_validation": 16, "n_test": 64,
             "n_generations": 3, "seeds": 2, "ablation_seeds": 1, "lr": 1e-4, "batch_size": 4,
             "generate_batch_size": 8},
    "paper": {"model": "auto", "corpus": "auto", "n_train": None, "n_validation": None, "n_test": None,
              "n_generations": 9, "seeds": 5, "ablation_seeds": 1, "lr": 2e-5, "batch_size": 128,
              "generate_batch_size": 256},
}


GPU_SCALES = ("paper",)  # on Ray, a paper-scale cell asks for one GPU

# Preset entries a resumed run may change: more generations or seeds extend it, batching does not alter results.
RESUMABLE = ("n_generations", "seeds", "ablation_seeds", "generate_batch_size")


@dataclass
class Setup:
    """The pretrained model, its tokenizer and name, and the original blocks of the three splits."""

    model: object
    tokenizer: object
    name: str
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    source: str
    corpus_train: np.ndarray  # every training block, the reference of which tokens are rare


def setup(preset: dict, *, model: str | None = None, progress: bool = True) -> Setup:
    """Load the corpus and the pretrained model (``model`` overrides the preset's), and cut the blocks."""
    corpus = lm.load_corpus(preset["corpus"])
    base, tokenizer, name = lm.pretrained(model or preset["model"], tiny=TINY, corpus=corpus, progress=progress)
    every = {split: lm.blocks(tokenizer, getattr(corpus, split)) for split in lm.SPLITS}
    cut = {split: every[split][:preset[f"n_{split}"]] for split in lm.SPLITS}
    return Setup(base, tokenizer, name, **cut, source=corpus.source, corpus_train=every["train"])


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
                "model_name": env.name, "model_config": env.model.config.to_diff_dict(), **fixed}
    store.claim(folder, settings, name="lm_config.json")
    family = lm.family(env.model, env.train, folder / "weights", epochs=spec["epochs"], lr=preset["lr"],
                       batch_size=preset["batch_size"], validation=env.validation,
                       repetition_penalty=repetition_penalty, generate_batch_size=preset["generate_batch_size"],
                       progress=detailed)
    history = loop.run(family, env.train, preset["n_generations"], policy="replace",
                       original_fraction=spec["original_fraction"], seed=seed, checkpoint_dir=folder,
                       measure=_measure(env, family, folder, repetition_penalty), progress=progress)
    _keep_weights(folder, {str(history.records[0]["weights"]), str(history.records[-1]["weights"])})
    return history


def _keep_weights(folder: Path, keep: set[str]) -> None:
    """Delete the weights of a finished run's intermediate generations (a 135M model takes 0.5 GB each); those
    of generation 0 (the reference of the data losses) and of the last (to extend the run) stay."""
    for path in (folder / "weights").glob("*.safetensors"):
        if path.stem not in keep:
            path.unlink()


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
                "distinct_blocks": len(np.unique(train, axis=0)) / len(train),
                "rare_share": lm.rare_token_share(train, env.corpus_train), "example": example}

    return measure


# A degenerate run, where every block is continued by the same few repeated tokens, is no evidence of collapse,
# and the chapter's checks must reject it (a tiny model that learnt only the commonest token does this). A
# k-token loop repeated in all n blocks of 64 tokens has at most k / (61 n) distinct 4-grams (under 0.01 for
# k <= 8 and n >= 16) and a single distinct block; real text and a 135M model's beam search are far above both.
MIN_DISTINCT_4, MIN_DISTINCT_BLOCKS = 0.05, 0.5


def check_varied(history: loop.History, generation: int = 1) -> None:
    """Raise AssertionError if ``generation``'s training data are degenerate (see :data:`MIN_DISTINCT_4`)."""
    distinct_4, distinct_blocks = history["distinct_4"][generation], history["distinct_blocks"][generation]
    assert distinct_4 > MIN_DISTINCT_4 and distinct_blocks > MIN_DISTINCT_BLOCKS, (
        f"generation {generation}'s data are degenerate: {distinct_4:.3f} of their 4-grams and "
        f"{distinct_blocks:.2f} of their blocks are distinct (floors {MIN_DISTINCT_4}, {MIN_DISTINCT_BLOCKS})")


def plan(preset: dict, settings=("b", "c"), seeds: int | None = None, ablation: bool = True):
    """The runs of the chapter: ``(setting, repetition_penalty, seed)`` for each setting and seed, and the
    repetition-penalty ablations of setting b (:data:`ABLATION_PENALTIES`)."""
    if isinstance(settings, str):
        raise TypeError(f"settings must be a list of settings among {tuple(SETTINGS)}, got the string {settings!r}")
    seeds = check_int("seeds", preset["seeds"] if seeds is None else seeds, 1)
    runs = [(check_choice("settings", s, SETTINGS), 1.0, k) for s in settings for k in range(seeds)]
    if ablation and "b" in settings:
        runs += [("b", p, k) for p in ABLATION_PENALTIES for k in range(preset["ablation_seeds"])]
    return runs


def run_all(env: Setup, preset: dict, out, runs, *, progress: bool = True,
            detailed: bool = False) -> dict[str, list[loop.History]]:
    """Every run in ``runs`` (see :func:`plan`) under ``out``; returns their histories by run name."""
    results = {}
    for setting, penalty, seed in runs:
        history = run(env, preset, setting, seed, run_folder(out, setting, penalty, seed),
                      repetition_penalty=penalty, progress=progress, detailed=detailed)
        results.setdefault(run_name(setting, penalty), []).append(history)
    return results


def run_folder(out, setting: str, repetition_penalty: float, seed: int) -> Path:
    """Where a run is saved under ``out``: ``out/<run_name>/seed<seed>``."""
    return Path(out) / run_name(setting, repetition_penalty) / f"seed{seed}"


def load_results(out) -> dict[str, list[loop.History]]:
    """The histories saved under ``out`` by :func:`run_all` or the CLI, by run name."""
    return {run.name: [loop.History.load(seed) for seed in sorted(run.glob("seed*"))]
            for run in sorted(Path(out).iterdir()) if run.is_dir() and not run.name.startswith(".")}


def add_arguments(parser) -> None:
    parser.add_argument("--model", default=None,
                        help="'auto' (OPT-125m when the hub answers, else the offline stand-in SmolLM2-135M), "
                             "'offline', 'tiny', a hub name or a folder (default: the scale's, 'auto' but at ci)")
    parser.add_argument("--setting", choices=["b", "c", "all"], default="all",
                        help="b: 5 epochs, no original data; c: 10 epochs, 10%% original data; all: both and "
                             "the repetition-penalty ablation")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default: the scale's)")
    parser.add_argument("--repetition-penalty", type=float, default=1.0, help="1.0: none (the paper's main runs)")


def cli_preset(args) -> dict:
    """The scale's preset with ``--model`` and ``--seeds`` (how many) when given."""
    preset = dict(PRESETS[args.scale])
    if args.model is not None:
        preset["model"] = args.model
    if args.seeds is not None:
        preset["seeds"] = check_int("--seeds", args.seeds, 1)
    return preset


def cells(preset: dict) -> list[dict]:
    """Every run of :func:`plan` as a cell: ``{"setting": "b", "penalty": 1.0, "seed": 0}``."""
    return [{"setting": s, "penalty": p, "seed": k} for s, p, k in plan(preset)]


def cli_cells(args, preset: dict) -> list[dict]:
    """The runs the command line asks for: :func:`cells` for ``--setting all``, else one setting and penalty."""
    if args.setting == "all":
        if args.repetition_penalty != 1.0:
            raise ValueError(f"--repetition-penalty needs --setting b or c: --setting all runs setting b with "
                             f"the penalties {ABLATION_PENALTIES} itself")
        return cells(preset)
    penalty = check_positive("--repetition-penalty", args.repetition_penalty)
    return [{"setting": args.setting, "penalty": penalty, "seed": k} for k in range(preset["seeds"])]


@functools.lru_cache(maxsize=1)
def _shared_setup(preset_json: str, progress: bool) -> Setup:
    """:func:`setup` once per process for the cells it runs (the model and corpus take a while to load)."""
    return setup(json.loads(preset_json), progress=progress)


def run_cell(cell: dict, preset: dict, folder, seed: int = 0, progress: bool = False) -> None:
    """One run of :func:`cells` into ``folder/<run_name>/seed<k>`` (resumed); the loop's seed is the cell's
    ``k`` plus ``seed`` (0 from the command line)."""
    env = _shared_setup(json.dumps(preset, sort_keys=True), progress)
    setting, penalty, k = cell["setting"], cell["penalty"], cell["seed"]
    run(env, preset, setting, seed + k, run_folder(folder, setting, penalty, k), repetition_penalty=penalty,
        progress=progress, detailed=progress)


def main(args) -> None:
    """Every cell the command line asks for (or those ``--only`` picks), in sequence or on Ray (``--ray``)."""
    grid.run(sys.modules[__name__], args)
