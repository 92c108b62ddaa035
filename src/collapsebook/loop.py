"""The generation loop every chapter runs: fit a model, sample from it, form the next training set, repeat.

A model family is a :class:`Family`: ``fit(data, rng) -> model`` and ``sample(model, n, rng) -> data``.
The *policy* says how generation ``g``'s training set is formed from the original data ``D0`` and the
generated blocks ``S1 .. Sg`` (see the introduction, "generational data"):

- ``"replace"``: only the newest block ``Sg`` (the paper's theory, beta = gamma = 0);
- ``"accumulate"``: everything so far, ``D0 + S1 + ... + Sg`` (Gerstgrasser et al. 2024);
- ``"accumulate-subsample"``: a fixed-size random subsample of that pool (Kazdan et al. 2024).

``original_fraction`` keeps a random share of original points in every new block (the paper's 10 % setting).
A family whose fit depends on its data only through running sufficient statistics (counts, means, sums of
squares) can say so with ``update`` and ``fit_state``; ``"accumulate"`` then merges each new block into them
and never holds the pool, so it costs what ``"replace"`` costs. Other families refit on the pool, which grows in
place (no copy of the whole pool per generation).
Randomness comes only from :func:`generation_rng`, derived from ``(seed, generation)``, so a run that is
interrupted and resumed from its checkpoint folder ends bit-for-bit equal to an uninterrupted one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import trange

from . import store
from ._checks import check_choice, check_fraction, check_int

POLICIES = ("replace", "accumulate", "accumulate-subsample")


@dataclass(frozen=True)
class Family:
    """A model family for the loop. ``to_arrays``/``from_arrays`` (default: the model is a dict of arrays)
    turn a model into named arrays for the history and the checkpoint, and back.

    Optional, together: ``update(state, block) -> state`` merges a block of data (points along the loop's
    ``sample_axis``) into running sufficient statistics (``state`` is None before the first block), and
    ``fit_state(state, rng) -> model`` fits from them, equal to ``fit`` on all the merged data up to rounding.
    """

    fit: Callable[[np.ndarray, np.random.Generator], Any]
    sample: Callable[[Any, int, np.random.Generator], np.ndarray]
    to_arrays: Callable[[Any], Mapping[str, np.ndarray]] = dict
    from_arrays: Callable[[Mapping[str, np.ndarray]], Any] = dict
    update: Callable[[Any, np.ndarray], Any] | None = None
    fit_state: Callable[[Any, np.random.Generator], Any] | None = None

    def __post_init__(self):
        if (self.update is None) != (self.fit_state is None):
            raise ValueError("update and fit_state must be given together (or neither)")

    @property
    def incremental(self) -> bool:
        """Whether the family fits from running statistics (``update`` and ``fit_state``)."""
        return self.update is not None


def generation_rng(seed: int, generation: int) -> np.random.Generator:
    """The random generator of one generation: independent streams for every ``(seed, generation)``."""
    return np.random.default_rng(np.random.SeedSequence([check_int("seed", seed, 0), generation]))


class History:
    """Per-generation records (model parameters and metrics); ``history["key"]`` stacks one over generations."""

    def __init__(self, records: list[dict] | None = None):
        self.records = list(records or [])

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: str) -> np.ndarray:
        return np.stack([np.asarray(r[key]) for r in self.records])

    def keys(self) -> list[str]:
        return list(self.records[0]) if self.records else []

    def save_json(self, path) -> None:
        """Write the history as JSON (lists of numbers), readable without collapsebook."""
        rows = [{k: np.asarray(v).tolist() for k, v in r.items()} for r in self.records]
        store.atomic_write(Path(path), json.dumps(rows).encode())

    @classmethod
    def load(cls, path) -> "History":
        """Read a history from a JSON file or from a checkpoint folder written by :func:`run`."""
        path = Path(path)
        if path.is_dir():
            return cls([_load_generation(f)[1] for f in _generation_files(path)])
        return cls([{k: np.asarray(v) for k, v in r.items()} for r in json.loads(path.read_text())])


def run(
    family: Family,
    data: np.ndarray,
    n_generations: int,
    *,
    policy: str = "replace",
    original_fraction: float = 0.0,
    n_samples: int | Callable[[int], int] | None = None,
    seed: int = 0,
    measure: Callable[[Any, np.ndarray, int], Mapping[str, Any]] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    sample_axis: int = 0,
    progress: bool = True,
) -> History:
    """Run generations ``0 .. n_generations`` and return their :class:`History`.

    Generation 0 fits ``data``; generation ``g >= 1`` samples ``n_samples`` points (an int, or a schedule
    ``g -> int``; default: as many as ``data`` has) from generation ``g - 1``'s model, forms the training set
    by ``policy`` and fits. ``measure(model, train, g)`` adds metrics to each record. With
    ``checkpoint_dir``, every finished generation is saved there and a later call with the same folder
    resumes at the first unfinished one. ``sample_axis`` is the axis along which data points lie (1 for
    arrays of shape ``(chains, M)`` holding many independent chains).
    """
    n_generations = check_int("n_generations", n_generations, 0)
    policy = check_choice("policy", policy, POLICIES)
    original_fraction = check_fraction("original_fraction", original_fraction)
    data = np.asarray(data)
    n_original = data.shape[sample_axis]
    schedule = _schedule(n_samples, n_original)
    generation_rng(seed, 0)  # validates the seed before any work
    training = _training_set(family, policy, sample_axis, measure)
    if checkpoint_dir is None:
        return _generations(family, data, n_generations, History(), None, training, schedule, original_fraction,
                            seed, measure, None, sample_axis, progress)
    folder = Path(checkpoint_dir)
    config = {"seed": seed, "policy": policy, "original_fraction": original_fraction, "sample_axis": sample_axis,
              "data": store.fingerprint(data), "n_samples": [schedule(g) for g in range(1, 11)]}
    with store.lock(folder):
        history, model = _resume(folder, config, family, training, data)
        return _generations(family, data, n_generations, history, model, training, schedule, original_fraction,
                            seed, measure, folder, sample_axis, progress)


def _generations(family, data, n_generations, history, model, training, schedule, original_fraction, seed,
                 measure, folder, sample_axis, progress) -> History:
    """Generations ``len(history) .. n_generations`` of :func:`run`, each saved to ``folder`` when given."""
    for g in trange(len(history), n_generations + 1, desc="generations", disable=not progress):
        rng = generation_rng(seed, g)
        if g == 0:
            block = None
            training.add(data)
            model, train = family.fit(data, rng), data
        else:
            block = _new_block(family, model, data, schedule(g), original_fraction, rng, sample_axis)
            training.add(block)
            model, train = training.fit(family, schedule(g), rng)
        arrays = family.to_arrays(model)
        n_train = training.n_train if train is None else train.shape[sample_axis]
        record = {"generation": g, "n_train": n_train, **arrays}
        if measure is not None:
            record.update(measure(model, train, g))
        history.records.append(record)
        if folder is not None:
            _save_generation(folder, g, block, arrays, record)
    return History(history.records[: n_generations + 1])


def _schedule(n_samples, n_original: int) -> Callable[[int], int]:
    if n_samples is None:
        return lambda g: n_original
    if callable(n_samples):
        return lambda g: check_int("n_samples", n_samples(g), 1)
    fixed = check_int("n_samples", n_samples, 1)
    return lambda g: fixed


def _new_block(family, model, original, n, fraction, rng, axis):
    """``n`` new points: ``round(fraction * n)`` original ones drawn without replacement, the rest sampled."""
    n_kept = int(round(fraction * n))
    if n_kept > original.shape[axis]:
        raise ValueError(
            f"original_fraction * n_samples = {n_kept} exceeds the {original.shape[axis]} original points"
        )
    sampled = family.sample(model, n - n_kept, rng) if n > n_kept else None
    if n_kept == 0:
        return np.asarray(sampled)
    kept = draw_without_replacement(original, n_kept, rng, axis)
    return kept if sampled is None else np.concatenate([kept, sampled], axis=axis)


def draw_without_replacement(array, n: int, rng: np.random.Generator, axis: int) -> np.ndarray:
    """``n`` points of ``array`` along ``axis``, drawn without replacement independently for every chain (the
    axes before ``axis``: with ``axis=1``, each row of a ``(chains, M, ...)`` array gets its own draw)."""
    if axis == 0:
        return np.take(array, rng.choice(array.shape[0], n, replace=False), axis=0)
    chains = array.shape[:axis]
    order = np.argsort(rng.random(chains + (array.shape[axis],)), axis=-1)[..., :n]  # a permutation per chain
    return np.take_along_axis(array, order.reshape(chains + (n,) + (1,) * (array.ndim - axis - 1)), axis=axis)


def _training_set(family, policy, axis, measure):
    """Where generation g's training set is kept: the newest block (replace), running statistics (accumulate
    with an incremental family and no ``measure``, which needs the pool itself) or the growing pool."""
    if policy == "replace":
        return _Newest()
    if policy == "accumulate" and family.incremental and measure is None:
        return _Running(family.update, axis)
    return _Pool(axis, subsample=policy == "accumulate-subsample")


class _Newest:
    """Replace: the training set is the newest block."""

    def __init__(self):
        self.block = None

    def add(self, block):
        self.block = block

    def fit(self, family, n, rng):
        return family.fit(self.block, rng), self.block


class _Running:
    """Accumulate through the family's running statistics: each block is merged once, the pool is never held."""

    def __init__(self, update, axis):
        self.update, self.axis, self.state, self.n_train = update, axis, None, 0

    def add(self, block):
        self.state = self.update(self.state, block)
        self.n_train += block.shape[self.axis]

    def fit(self, family, n, rng):
        """The model fitted from the running statistics, and no training set (the pool is not kept)."""
        return family.fit_state(self.state, rng), None


class _Pool:
    """Accumulate: ``D0 + S1 + ... + Sg`` in a buffer that doubles along ``axis`` when full, so a block is
    copied once when it arrives instead of the whole pool every generation. With ``subsample``, the training
    set is ``n`` pooled points drawn without replacement."""

    def __init__(self, axis, subsample):
        self.axis, self.subsample, self.buffer, self.size = axis, subsample, None, 0

    def add(self, block):
        n, dtype = block.shape[self.axis], block.dtype if self.buffer is None else np.result_type(self.buffer, block)
        if self.buffer is None or dtype != self.buffer.dtype or self.size + n > self.buffer.shape[self.axis]:
            self._grow(block.shape, dtype, self.size + n)
        self._part(self.buffer, self.size, self.size + n)[...] = block
        self.size += n

    def fit(self, family, n, rng):
        """The model fitted to the pool (or to ``n`` points of it), and that training set."""
        pool = self._part(self.buffer, 0, self.size)
        pool.flags.writeable = False  # the pool outlives this fit: a family must not change its training set
        if self.subsample:
            pool = draw_without_replacement(pool, min(n, self.size), rng, self.axis)
        return family.fit(pool, rng), pool

    def _grow(self, block_shape, dtype, needed):
        capacity = max(needed, 0 if self.buffer is None else 2 * self.buffer.shape[self.axis])
        shape = block_shape[: self.axis] + (capacity,) + block_shape[self.axis + 1:]
        buffer = np.empty(shape, dtype=dtype)
        if self.buffer is not None:
            self._part(buffer, 0, self.size)[...] = self._part(self.buffer, 0, self.size)
        self.buffer = buffer

    def _part(self, array, start, stop):
        return array[(slice(None),) * self.axis + (slice(start, stop),)]


# ---- checkpoints: one .npz per finished generation (new block, model, record) and the run's config ----

def _generation_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("generation_*.npz"))


def _save_generation(folder: Path, g: int, block, model_arrays, record) -> None:
    arrays = {f"model/{k}": np.asarray(v) for k, v in model_arrays.items()}
    arrays.update({f"record/{k}": np.asarray(v) for k, v in record.items()})
    if block is not None:
        arrays["block"] = block
    store.save_npz(folder / f"generation_{g:05d}.npz", **arrays)


def _load_generation(path: Path):
    z = store.load_npz(path)  # a damaged file is reported with its path
    model = {k[6:]: v for k, v in z.items() if k.startswith("model/")}
    record = {k[7:]: v for k, v in z.items() if k.startswith("record/")}
    return model, record, z.get("block")


def _resume(folder: Path, config: dict, family: Family, training, data):
    """The history of the finished generations in ``folder`` and the last one's model; their blocks are added to
    ``training`` in order, one file at a time, as the uninterrupted run added them."""
    store.claim(folder, config, name="config.json")
    history, model_arrays = History(), None
    for expected, path in enumerate(_generation_files(folder)):
        if path.name != f"generation_{expected:05d}.npz":
            raise ValueError(f"checkpoint_dir {folder} is missing generation {expected}")
        model_arrays, record, block = _load_generation(path)
        history.records.append(record)
        training.add(data if block is None else block)
    # only the last finished generation's model is needed to go on
    model = None if model_arrays is None else family.from_arrays(model_arrays)
    return history, model
