"""Torch plumbing shared by the torch chapters (4 and 5): the device, CPU threads, seeded torch generators.

Imported only by the torch families (:mod:`collapsebook.vae`, :mod:`collapsebook.lm`), so the light chapters
never import torch.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ._checks import check_int, check_rng


def best_device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(n: int | None = None) -> int:
    """Use ``n`` CPU threads in torch; by default half the cores this process may use, at least one.

    The book's models are small: on a shared 2-core machine (a CI runner executing two notebooks at once)
    one thread per process trains several times faster than two threads fighting over the cores.
    """
    if n is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        n = max(1, cores // 2)
    torch.set_num_threads(check_int("n", n, 1))
    return n


def torch_generator(rng: np.random.Generator, where: torch.device | None = None) -> torch.Generator:
    """A ``torch.Generator`` on ``where`` (default: :func:`best_device`) seeded from the numpy generator ``rng``."""
    where = best_device() if where is None else where
    rng = check_rng("rng", rng)
    return torch.Generator(device=where).manual_seed(int(rng.integers(2**63)))
