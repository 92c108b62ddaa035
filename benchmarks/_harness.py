"""What every benchmark shares: threads pinned and reported, the median and the spread of >= 5 repeats with the
package and its reference interleaved (so both see the same load), and a record of the results that
``tools/bench_table.py`` turns into the table of ``book/running.md`` (``make bench`` does both).

Environment: ``COLLAPSEBOOK_BENCH_THREADS`` (default 1: on a shared 2-core machine more threads swing by
several times from one run to the next), ``COLLAPSEBOOK_BENCH_RECORD`` (a folder: each benchmark writes
``<name>.json`` there; unset, nothing is written).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPEATS = 5
THREADS = int(os.environ.get("COLLAPSEBOOK_BENCH_THREADS", "1"))


def pin_threads(threads: int = THREADS) -> int:
    """Limit BLAS/OpenMP (and torch, when imported) to ``threads`` threads for the rest of the process."""
    threadpool_limits(limits=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return threads


@dataclass(frozen=True)
class Spread:
    """Median, minimum and maximum of repeated measurements of one quantity."""

    median: float
    low: float
    high: float
    repeats: int

    @classmethod
    def of(cls, values) -> "Spread":
        values = np.asarray(values, dtype=float)
        return cls(float(np.median(values)), float(values.min()), float(values.max()), len(values))

    @property
    def relative(self) -> float:
        """``(max - min) / median``: 0.2 means the repeats span 20 % of the median."""
        return (self.high - self.low) / self.median if self.median else float("nan")

    def scaled(self, factor: float) -> "Spread":
        """The same measurements multiplied by ``factor`` (per chain, per token, ...)."""
        return Spread(self.median * factor, self.low * factor, self.high * factor, self.repeats)

    def format(self, scale: float = 1.0, digits: int = 3) -> str:
        m, lo, hi = (scale * v for v in (self.median, self.low, self.high))
        return f"{m:.{digits}g} [{lo:.{digits}g}-{hi:.{digits}g}]"


def timed(fn, repeats: int = REPEATS, warmup: bool = True):
    """Wall times of ``repeats`` calls of ``fn()`` (after one untimed call) as a :class:`Spread`, and the last
    result."""
    result = fn() if warmup else None
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return Spread.of(times), result


def compare(package, reference, repeats: int = REPEATS, warmup: bool = True):
    """Time ``package()`` and ``reference()`` alternately, ``repeats`` times each (after one untimed call of
    each). Returns the two time spreads and the spread of the per-repeat ratio ``reference / package`` (> 1:
    the package is faster): a ratio taken within one repeat sees one machine load."""
    if warmup:
        package(), reference()
    ours, theirs = [], []
    for _ in range(repeats):
        for fn, times in ((package, ours), (reference, theirs)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return Spread.of(ours), Spread.of(theirs), Spread.of(np.divide(theirs, ours))


class Record:
    """The results one benchmark reports for the table: a row per measure, with the threads and machine load."""

    def __init__(self, benchmark: str, threads: int):
        self.benchmark, self.threads, self.rows = benchmark, threads, []
        self.load_before = os.getloadavg()[0]

    def add(self, measure: str, spread: Spread, unit: str) -> Spread:
        """Keep ``spread`` of ``measure`` (in ``unit``) for the table, print it, and return it."""
        self.rows.append({"measure": measure, "unit": unit, **asdict(spread)})
        print(f"  [{measure}] median {spread.format()} {unit} over {spread.repeats} repeats "
              f"(spread {spread.relative:.0%})")
        return spread

    def save(self, folder=None) -> Path | None:
        """Write ``<folder>/<benchmark>.json`` (folder: ``COLLAPSEBOOK_BENCH_RECORD``; unset: nothing)."""
        folder = folder or os.environ.get("COLLAPSEBOOK_BENCH_RECORD")
        load_after = os.getloadavg()[0]
        print(f"{self.benchmark}: {self.threads} thread(s); load average (1 min) {self.load_before:.2f} before, "
              f"{load_after:.2f} after, on {os.cpu_count()} cores")
        if not folder:
            return None
        path = Path(folder) / f"{self.benchmark}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "benchmark": self.benchmark, "threads": self.threads, "cores": os.cpu_count(),
            "machine": platform.machine(), "load_before": self.load_before, "load_after": load_after,
            "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": self.rows}, indent=1))
        return path
