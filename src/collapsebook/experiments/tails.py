"""Chapter 7: an n-gram LM refitted to its own samples on real text (pure sampling, top-p, temperature).

The text is the offline Wikipedia corpus of chapter 5 at its full size (about 0.8M training tokens with a
32,768-token byte-level BPE trained by :func:`collapsebook.lm.train_tokenizer`), cut into rows of 64 tokens.
The experiment is a grid of independent cells, each resumable in its own subfolder of ``--out``:

- ``{"sampling": S, "replicate": r}``: a chain of :func:`collapsebook.loop.run` (replace policy) sampled with
  the filter ``SAMPLINGS[S]``, checkpointed in ``S/replicate<r>/`` (per generation: metrics and counts);
- ``{"part": "tradeoff"}``: one generation for each temperature and top-p of the preset: diversity of the
  sampled text against its perplexity under the original model, saved as ``tradeoff.npz``;
- ``{"part": "plateau"}``: the share of real held-out tokens whose type a model trained on ``T`` tokens never
  saw, for real text and for top-p text, saved as ``plateau.npz`` (Dohmatob et al. 2024's memorisation error).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .. import grid, lm, loop, ngram, store

VOCAB_SIZE, ROW_LENGTH, ORDER = 32_768, 64, 2
BOS = 2  # the tokenizer's "</s>", which also starts every article (as OPT's tokenizer does)

# The sampling filters of the chains (top-p 0.9 and temperature 0.8 are common defaults of LM decoding).
SAMPLINGS = {"pure": {}, "top-p": {"top_p": 0.9}, "temperature": {"temperature": 0.8}}

_BOOK = {"n_generations": 20, "samplings": ["pure", "top-p", "temperature"], "replicates": 3,
         "tradeoff_top_p": [1.0, 0.98, 0.95, 0.9, 0.8, 0.7, 0.6, 0.4],
         "tradeoff_temperature": [1.2, 1.0, 0.9, 0.8, 0.7, 0.6],
         "plateau_real_sizes": [10_000, 20_000, 50_000, 100_000, 200_000, 400_000, 800_000],
         "plateau_synthetic_sizes": [10_000, 20_000, 50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000,
                                     3_200_000, 6_400_000]}
PRESETS = {
    "ci": {"n_generations": 20, "samplings": ["pure", "top-p", "temperature"], "replicates": 1,
           "tradeoff_top_p": [1.0, 0.95, 0.9, 0.8, 0.6], "tradeoff_temperature": [1.0, 0.9, 0.8, 0.6],
           "plateau_real_sizes": [10_000, 30_000, 100_000, 300_000, 800_000],
           "plateau_synthetic_sizes": [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000]},
    "book": _BOOK,
    "paper": {**_BOOK, "n_generations": 50, "replicates": 10},
}

METRICS = ("perplexity", "type_counts", "vocabulary", "ngram_types", "unigram_entropy", "conditional_entropy")


def add_arguments(parser) -> None:
    parser.add_argument("--seed", type=int, default=0)


@functools.cache
def text(vocab_size: int = VOCAB_SIZE, length: int = ROW_LENGTH):
    """``(train, test, tokenizer)``: the offline corpus's training and test articles tokenised (each starts
    with ``</s>``), concatenated and cut into rows of ``length`` tokens (the remainder dropped)."""
    corpus = lm.offline_corpus()
    tokenizer = lm.train_tokenizer(corpus.train, vocab_size)
    return rows(tokenizer, corpus.train, length), rows(tokenizer, corpus.test, length), tokenizer


def rows(tokenizer, texts, length: int = ROW_LENGTH) -> np.ndarray:
    """``texts`` tokenised, concatenated and cut into int32 rows of ``length`` tokens."""
    flat = np.concatenate([np.asarray(ids, np.int32) for ids in tokenizer(list(texts))["input_ids"]])
    return flat[: len(flat) // length * length].reshape(-1, length)


def family(sampling: str | dict) -> loop.Family:
    """The chapter's bigram family with the filters of ``SAMPLINGS[sampling]`` (or the filters given)."""
    filters = SAMPLINGS[sampling] if isinstance(sampling, str) else sampling
    return ngram.family(ORDER, VOCAB_SIZE, BOS, ROW_LENGTH, **filters)


def chain_seed(seed: int, sampling: str, replicate: int) -> int:
    """The loop's seed of one chain: distinct for every (seed, sampling, replicate)."""
    return 1000 * seed + 100 * list(SAMPLINGS).index(sampling) + replicate


def chain(sampling: str, replicate: int, n_generations: int, seed: int = 0, folder=None,
          progress: bool = False) -> dict:
    """One chain under the replace policy: the per-generation metrics of :func:`collapsebook.ngram.measure`
    (arrays over generations ``0 .. n_generations``), resumed from ``folder`` when given."""
    train, test, _ = text()
    history = loop.run(family(sampling), train, n_generations, seed=chain_seed(seed, sampling, replicate),
                       measure=ngram.measure(test), checkpoint_dir=folder, progress=progress)
    return {key: history[key] for key in ("generation", *METRICS)}


def tradeoff(top_ps, temperatures, seed: int = 0, progress: bool = False) -> dict:
    """One sampled corpus (as large as the training text) per filter: its vocabulary, the entropy of its
    tokens and its perplexity under the original model (smoothed), for each top-p and each temperature."""
    train, _, _ = text()
    model = ngram.fit(train, ORDER, vocab_size=VOCAB_SIZE, bos=BOS)
    settings = [("top_p", p) for p in top_ps] + [("temperature", t) for t in temperatures]
    out = {name: [] for name in ("vocabulary", "entropy", "perplexity")}
    for i, (kind, value) in enumerate(tqdm(settings, desc="tradeoff", disable=not progress)):
        sampled = ngram.sample(model, len(train), ROW_LENGTH, np.random.default_rng([seed, i]), **{kind: value})
        counts = np.bincount(sampled.ravel(), minlength=VOCAB_SIZE)
        out["vocabulary"].append(int((counts > 0).sum()))
        out["entropy"].append(ngram.entropy(counts))
        out["perplexity"].append(ngram.perplexity(model, sampled))
    kinds = np.array([k for k, _ in settings])
    return {"kind": kinds, "value": np.array([v for _, v in settings]), **{k: np.array(v) for k, v in out.items()}}


def unseen_mass(train_tokens, test_tokens, sizes) -> np.ndarray:
    """For each ``T`` in ``sizes``: the share of ``test_tokens`` whose type is absent from the first ``T``
    training tokens (the test error of a model that memorises the types it saw)."""
    first_seen = np.full(VOCAB_SIZE, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, train_tokens, np.arange(len(train_tokens)))
    position = first_seen[test_tokens]
    return np.array([(position >= t).mean() for t in sizes])


def plateau(real_sizes, synthetic_sizes, top_p: float = 0.9, seed: int = 0) -> dict:
    """:func:`unseen_mass` on the real test text for a model trained on ``real_sizes`` tokens of real text,
    and for one trained on ``synthetic_sizes`` tokens sampled with top-p from the bigram fitted to all the
    real training text; ``floor`` is the test mass of the types that no top-p law can emit (no context's
    nucleus holds them), the level where the second curve must stop. The real rows are shuffled first, so
    that ``T`` tokens mix topics."""
    train, test, _ = text()
    real_sizes, synthetic_sizes = np.asarray(real_sizes), np.asarray(synthetic_sizes)
    if real_sizes.max() > train.size:
        raise ValueError(f"plateau_real_sizes must be at most the {train.size} training tokens, got "
                         f"{real_sizes.max()}")
    rng = np.random.default_rng([seed, 7])
    model = ngram.fit(train, ORDER, vocab_size=VOCAB_SIZE, bos=BOS)
    n_rows = -(-int(synthetic_sizes.max()) // ROW_LENGTH)
    synthetic = ngram.sample(model, n_rows, ROW_LENGTH, rng, top_p=top_p)
    emitted = np.unique(np.concatenate([law.tokens for law in ngram.sampler(model, top_p=top_p)]))
    return {"real_sizes": real_sizes, "synthetic_sizes": synthetic_sizes, "p": np.array(top_p),
            "real": unseen_mass(rng.permutation(train).ravel(), test.ravel(), real_sizes),
            "top_p": unseen_mass(synthetic.ravel(), test.ravel(), synthetic_sizes),
            "floor": np.array(1 - np.isin(test, emitted).mean())}


def cells(preset: dict) -> list[dict]:
    """Every chain (sampling x replicate) and the two one-generation parts."""
    return ([{"sampling": s, "replicate": r} for s in preset["samplings"] for r in range(preset["replicates"])]
            + [{"part": "tradeoff"}, {"part": "plateau"}])


def run_cell(cell: dict, preset: dict, folder=None, seed: int = 0, progress: bool = False) -> dict:
    """One cell of :func:`cells`, its arrays returned; with ``folder``, saved there and resumed (finished
    generations and parts are read back, not recomputed)."""
    folder = None if folder is None else Path(folder)
    if "sampling" in cell:
        sub = None if folder is None else folder / cell["sampling"] / f"replicate{cell['replicate']}"
        return chain(cell["sampling"], cell["replicate"], preset["n_generations"], seed, sub, progress)
    if cell["part"] == "tradeoff":
        compute = lambda: tradeoff(preset["tradeoff_top_p"], preset["tradeoff_temperature"], seed,  # noqa: E731
                                   progress)
    else:
        compute = lambda: plateau(preset["plateau_real_sizes"], preset["plateau_synthetic_sizes"],  # noqa: E731
                                  seed=seed)
    return store.cached(folder, cell["part"], {"preset": preset, "seed": seed}, compute)


def main(args) -> None:
    """Every cell of :func:`cells` (or those ``--only`` picks), in sequence or on Ray (``--ray``)."""
    grid.run(sys.modules[__name__], args)


