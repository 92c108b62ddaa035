"""The statistical checks of the chapters' hidden cells and of the tests, written once.

A Monte-Carlo mean over ``K`` independent chains lies within ``z`` standard errors (sample s.d. / sqrt(K)) of
its expectation except with probability ``2 (1 - Phi(z))``: 6e-5 at ``z = 4``. A documented approximation error
(a first-order formula, a finite-sample bias) is added as ``margin``, never folded into ``z``.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_positive


def mean_and_se(values, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """The mean of ``values`` along ``axis`` (independent draws) and its standard error."""
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    if n < 2:
        raise ValueError(f"values needs at least 2 draws along axis {axis} for a standard error, got {n}")
    return values.mean(axis=axis), values.std(axis=axis, ddof=1) / np.sqrt(n)


def assert_within(mean, expected, se, z: float = 4.0, margin: float = 0.0, what: str = "") -> None:
    """``|mean - expected| <= z se + margin`` everywhere (arrays broadcast), else an AssertionError saying so."""
    z, gap = check_positive("z", z), np.abs(np.asarray(mean, dtype=float) - expected)
    bound = z * np.asarray(se, dtype=float) + margin
    if not np.all(gap <= bound):
        raise AssertionError(f"{what or 'mean'}: {_show(mean)} is {_show(gap / np.maximum(se, 1e-300))} "
                             f"standard errors from {_show(expected)} (allowed: z = {z:g}, margin {_show(margin)})")


def assert_mean_within(values, expected, z: float = 4.0, axis: int = -1, margin: float = 0.0,
                       what: str = "") -> None:
    """The mean of ``values`` over independent draws along ``axis`` is within ``z`` standard errors (plus
    ``margin``) of ``expected``."""
    mean, se = mean_and_se(values, axis)
    assert_within(mean, expected, se, z, margin, what)


def assert_above(value, bound, se, z: float = 3.0, what: str = "") -> None:
    """``value`` exceeds ``bound`` by more than ``z`` standard errors: a difference the run resolves."""
    z = check_positive("z", z)
    if not np.all(np.asarray(value, dtype=float) - z * np.asarray(se, dtype=float) > bound):
        raise AssertionError(f"{what or 'value'}: {_show(value)} is not above {_show(bound)} by "
                             f"{z:g} standard errors ({_show(se)})")


def _show(x) -> str:
    return np.array2string(np.asarray(x, dtype=float), precision=4, threshold=6)
