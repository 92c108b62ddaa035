"""Input validation shared by every module: each error names the parameter and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral, Real
from pathlib import Path

import numpy as np


def check_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``name`` and the allowed range."""
    allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer {allowed}, got {value}")
    return int(value)


def check_fraction(name: str, value) -> float:
    """Return ``value`` as a float in [0, 1], or raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_positive(name: str, value) -> float:
    """Return ``value`` as a finite float > 0, or raise ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_choice(name: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ValueError listing them."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def check_probabilities(name: str, p, atol: float = 1e-8) -> np.ndarray:
    """Return ``p`` as a float array whose last axis is a probability vector, or raise ValueError."""
    p = np.asarray(p, dtype=float)
    if p.ndim == 0 or p.shape[-1] < 1:
        raise ValueError(f"{name} must be a non-empty probability vector, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must have finite entries >= 0")
    total = p.sum(axis=-1)
    if not np.allclose(total, 1.0, rtol=0.0, atol=atol):
        raise ValueError(f"{name} must sum to 1 along its last axis (within {atol:g}), got sums {np.unique(total)[:3]}")
    return p


def check_real(name: str, value) -> float:
    """Return ``value`` as a finite float, or raise ValueError naming ``name`` (NaN and inf are refused)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_unit_interval(name: str, values) -> np.ndarray:
    """Return ``values`` as a float array whose every entry lies in [0, 1], or raise ValueError naming ``name``."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers in [0, 1], got {values!r}") from None
    if not np.all((array >= 0.0) & (array <= 1.0)):  # NaN fails both comparisons
        bad = array[~((array >= 0.0) & (array <= 1.0))]
        raise ValueError(f"{name} must be numbers in [0, 1], got {float(bad.ravel()[0])!r}")
    return array


def check_rng(name: str, rng) -> np.random.Generator:
    """Return ``rng`` if it is a numpy Generator, or raise TypeError saying how to make one."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def check_range(name: str, value, low: float, high: float, *, closed: bool = True) -> float:
    """Return ``value`` as a finite float in ``[low, high]`` (``(low, high)`` when not ``closed``), or raise
    ValueError naming ``name`` and the interval (NaN, inf and non-numbers are refused)."""
    interval = f"[{low:g}, {high:g}]" if closed else f"({low:g}, {high:g})"
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or not (
            low <= value <= high if closed else low < value < high):
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)


def check_finite_array(name: str, values, minimum: float | None = None, *, non_empty: bool = False) -> np.ndarray:
    """Return ``values`` as a float array of finite numbers (each ``>= minimum`` when given; at least one when
    ``non_empty``), or raise ValueError naming ``name``."""
    allowed = "finite numbers" + ("" if minimum is None else f" >= {minimum:g}")
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {allowed}, got {values!r}") from None
    if non_empty and array.size == 0:
        raise ValueError(f"{name} must hold at least one number, got an empty array")
    if not np.all(np.isfinite(array)) or (minimum is not None and np.any(array < minimum)):
        raise ValueError(f"{name} must be {allowed} (no NaN or inf)")
    return array


def check_folder(name: str, path) -> Path:
    """Return ``path`` as a Path that is a folder or does not exist yet, or raise ValueError naming ``name``
    (a file where a folder should be)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name} must be a folder (or a path that does not exist yet), but {path} is a file")
    return path
