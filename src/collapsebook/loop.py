"""The generation loop every chapter runs: fit a model, sample from it, form the next training set, repeat.

A model family is a :class:`Family`: ``fit(data, rng) -> model`` and ``sample(model, n, rng) -> data``.
The *policy* says how generation ``g``'s training set is formed from the original data ``D0`` and the
generated blocks ``S1 .. Sg`` (see the introduction, "generational data"):

- ``"replace"``: only the newest block ``Sg`` (the paper's theory, beta = gamma = 0);
- ``"accumulate"``: everything so far, ``D0 + S1 + ... + Sg`` (Gerstgrasser et al. 2024);
- ``"accumulate-subsample"``: a fixed-size random subsample of that pool (Kazdan et al. 2024).

``original_fraction`` keeps a random share of original points in every new block (the paper's 10 % setting);
``fresh_fraction`` puts a share of *fresh* real points, drawn from the source ``fresh(n, rng)``, in every new
block (the "fresh data loop" of Alemohammad et al. 2024). :func:`compare_policies` runs several policies on one
family and the same data in one call.
A family whose fit depends on its data only through running sufficient statistics (counts, means, sums of
squares) can say so with ``update`` and ``fit_state``; ``"accumulate"`` then merges each new block into them
and never holds the pool, so it costs what ``"replace"`` costs. Other families refit on the pool, which grows in
place (no copy of the whole pool per generation); one with ``warm_fit`` (an iterative fit, such as EM) starts
that refit from the previous generation's model, which the pool, changed by one block, has barely moved.
Randomness comes only from :func:`generation_rng`, derived from ``(seed, generation)``, so a run that is
interrupted and resumed from its checkpoint folder ends bit-for-bit equal to an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
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

    Optional: ``warm_fit(previous, data, rng) -> model`` fits ``data`` like ``fit`` but starts from the model
    ``previous``; ``"accumulate"`` uses it to refit its pool from the previous generation's model.
    """

    fit: Callable[[np.ndarray, np.random.Generator], Any]
    sample: Callable[[Any, int, np.random.Generator], np.ndarray]
    to_arrays: Callable[[Any], Mapping[str, np.ndarray]] = dict
    from_arrays: Callable[[Mapping[str, np.ndarray]], Any] = dict
    update: Callable[[Any, np.ndarray], Any] | None = None
    fit_state: Callable[[Any, np.random.Generator], Any] | None = None
    warm_fit: Callable[[Any, np.ndarray, np.random.Generator], Any] | None = None

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
    fresh_fraction: float = 0.0,
    fresh: Callable[[int, np.random.Generator], np.ndarray] | None = None,
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
    by ``policy`` and fits. Of the ``n`` new points of a block, ``round(original_fraction * n)`` are original
    points (drawn without replacement) and ``round(fresh_fraction * n)`` are new real points from
    ``fresh(k, rng)``, which returns ``k`` points along ``sample_axis`` shaped like ``data`` (each chain its
    own); the rest are sampled from the model. ``measure(model, train, g)`` adds metrics to each record. With
    ``checkpoint_dir``, every finished generation is saved there and a later call with the same folder
    resumes at the first unfinished one (the folder records ``fresh_fraction``, not the source ``fresh``: resume
    with the same source). ``sample_axis`` is the axis along which data points lie (1 for arrays of shape
    ``(chains, M)`` holding many independent chains).
    """
    if not isinstance(family, Family):
        raise TypeError(f"family must be a collapsebook.loop.Family (a model family's fit and sample), "
                        f"got {type(family).__name__}")
    n_generations = check_int("n_generations", n_generations, 0)
    policy = check_choice("policy", policy, POLICIES)
    mix = _Mix(original_fraction, fresh_fraction, fresh)
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError("data must hold points along sample_axis, got a scalar")
    sample_axis = check_int("sample_axis", sample_axis, 0, data.ndim - 1)
    n_original = data.shape[sample_axis]
    schedule = _schedule(n_samples, n_original)
    generation_rng(seed, 0)  # validates the seed before any work
    training = _training_set(family, policy, sample_axis, measure)
    if checkpoint_dir is None:
        return _generations(family, data, n_generations, History(), None, training, schedule, mix,
                            seed, measure, None, sample_axis, progress)
    folder = Path(checkpoint_dir)
    config = {"seed": seed, "policy": policy, "original_fraction": mix.original, "sample_axis": sample_axis,
              "data": store.fingerprint(data), "n_samples": [schedule(g) for g in range(1, 11)]}
    if mix.fresh:  # only when used, so that folders written before fresh data existed still resume
        config["fresh_fraction"] = mix.fresh
    with store.lock(folder):
        history, model = _resume(folder, config, family, training, data)
        return _generations(family, data, n_generations, history, model, training, schedule, mix,
                            seed, measure, folder, sample_axis, progress)


def compare_policies(
    family: Family,
    data: np.ndarray,
    n_generations: int,
    policies: Sequence[str] | Mapping[str, Mapping[str, Any]] = ("replace", "accumulate"),
    *,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **options,
) -> dict[str, History]:
    """:func:`run` of ``family`` on the same ``data`` under several policies: ``{name: History}``.

    ``policies`` names policies of :data:`POLICIES`, or maps a name to keyword arguments of :func:`run` (e.g.
    ``{"fresh-0.1": {"fresh_fraction": 0.1}}``; unset ones come from ``options``, the arguments shared by every
    policy, such as ``seed``, ``sample_axis``, ``measure`` or ``fresh``). Every policy runs with the same seed, so
    they differ by policy alone, as far as the random streams allow. With ``checkpoint_dir``, policy ``name``
    is saved in ``checkpoint_dir/name`` and resumes from there (a name is a folder name: letters, digits,
    ``_``, ``.``, ``-``).
    """
    settings = _policy_settings(policies)
    runs = {}
    for name, own in settings.items():
        folder = None if checkpoint_dir is None else Path(checkpoint_dir) / name
        runs[name] = run(family, data, n_generations, checkpoint_dir=folder, progress=progress,
                         **(dict(options) | dict(own)))
    return runs


def _policy_settings(policies) -> dict[str, Mapping[str, Any]]:
    """``policies`` of :func:`compare_policies` as ``{name: run keyword arguments}``, names checked."""
    if isinstance(policies, str):
        raise ValueError(f"policies must be a list of policy names or a mapping, got the string {policies!r}")
    settings = dict(policies) if isinstance(policies, Mapping) else {
        check_choice("policies", name, POLICIES): {"policy": name} for name in policies}
    if not settings:
        raise ValueError("policies must name at least one policy, got none")
    for name, own in settings.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*", name):
            raise ValueError(f"policies: each name must be a folder name (letters, digits, _ . -), got {name!r}")
        if not isinstance(own, Mapping) or {"checkpoint_dir", "progress"} & set(own):
            raise ValueError(f"policies[{name!r}] must be a mapping of run() arguments other than "
                             f"checkpoint_dir and progress, got {own!r}")
    return settings


class _Mix:
    """What a new block holds besides model samples: shares of original and of fresh real points."""

    def __init__(self, original_fraction, fresh_fraction, fresh):
        self.original = check_fraction("original_fraction", original_fraction)
        self.fresh = check_fraction("fresh_fraction", fresh_fraction)
        if self.original + self.fresh > 1:
            raise ValueError(f"original_fraction + fresh_fraction must be at most 1, got "
                             f"{self.original} + {self.fresh}")
        if self.fresh > 0 and not callable(fresh):
            raise ValueError(f"fresh_fraction = {self.fresh} needs fresh, a source of real points "
                             f"fresh(n, rng); got {fresh!r}")
        self.source = fresh


def _generations(family, data, n_generations, history, model, training, schedule, mix, seed,
                 measure, folder, sample_axis, progress) -> History:
    """Generations ``len(history) .. n_generations`` of :func:`run`, each saved to ``folder`` when given."""
    for g in trange(len(history), n_generations + 1, desc="generations", disable=not progress):
        rng = generation_rng(seed, g)
        if g == 0:
            block = None
            training.add(data)
            model, train = family.fit(data, rng), data
        else:
            block = _new_block(family, model, data, schedule(g), mix, rng, sample_axis)
            training.add(block)
            model, train = training.fit(family, schedule(g), rng, model)
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


def _new_block(family, model, original, n, mix, rng, axis):
    """``n`` new points: ``round(mix.original * n)`` original ones drawn without replacement, then
    ``round(mix.fresh * n)`` fresh real ones from ``mix.source``, the rest sampled from ``model`` (drawn in the
    order sampled, kept, fresh, so that a run without fresh data uses its random stream as before)."""
    n_kept, n_fresh = int(round(mix.original * n)), int(round(mix.fresh * n))
    if n_kept > original.shape[axis]:
        raise ValueError(
            f"original_fraction * n_samples = {n_kept} exceeds the {original.shape[axis]} original points"
        )
    n_fresh = min(n_fresh, n - n_kept)  # both shares rounded up: the sum stays n
    parts = [np.asarray(family.sample(model, n - n_kept - n_fresh, rng))] if n > n_kept + n_fresh else []
    if n_kept:
        parts.insert(0, draw_without_replacement(original, n_kept, rng, axis))
    if n_fresh:
        parts.append(_fresh_points(mix.source, n_fresh, rng, original, axis))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _fresh_points(source, n, rng, original, axis):
    """``source(n, rng)``, checked to hold ``n`` points along ``axis`` shaped like the original data."""
    points = np.asarray(source(n, rng))
    expected = original.shape[:axis] + (n,) + original.shape[axis + 1:]
    if points.shape != expected:
        raise ValueError(f"fresh(n={n}, rng) must return an array of shape {expected} (n points along "
                         f"sample_axis {axis}, shaped like data), got {points.shape}")
    return points


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

    def fit(self, family, n, rng, previous):
        return family.fit(self.block, rng), self.block


class _Running:
    """Accumulate through the family's running statistics: each block is merged once, the pool is never held."""

    def __init__(self, update, axis):
        self.update, self.axis, self.state, self.n_train = update, axis, None, 0

    def add(self, block):
        self.state = self.update(self.state, block)
        self.n_train += block.shape[self.axis]

    def fit(self, family, n, rng, previous):
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

    def fit(self, family, n, rng, previous):
        """The model fitted to the pool (or to ``n`` points of it), and that training set; the whole pool is
        fitted from the ``previous`` generation's model when the family has ``warm_fit``."""
        pool = self._part(self.buffer, 0, self.size)
        pool.flags.writeable = False  # the pool outlives this fit: a family must not change its training set
        if self.subsample:
            pool = draw_without_replacement(pool, min(n, self.size), rng, self.axis)
        elif family.warm_fit is not None:
            return family.warm_fit(previous, pool, rng), pool
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
    # the record repeats the model's arrays: saved once, under model/
    arrays.update({f"record/{k}": np.asarray(v) for k, v in record.items()
                   if model_arrays.get(k) is not v})
    if block is not None:
        arrays["block"] = block
    store.save_npz(folder / f"generation_{g:05d}.npz", **arrays)


def _load_generation(path: Path):
    z = store.load_npz(path)  # a damaged file is reported with its path
    model = {k[6:]: v for k, v in z.items() if k.startswith("model/")}
    rest = {k[7:]: v for k, v in z.items() if k.startswith("record/")}
    head = {k: rest.pop(k) for k in ("generation", "n_train") if k in rest}
    return model, {**head, **model, **rest}, z.get("block")


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
