"""The three scales every chapter runs at, chosen with the ``COLLAPSEBOOK_SCALE`` environment variable.

- ``ci``: the test suite; each chapter well under a minute on 2 CPU cores, offline.
- ``book``: the website build; a chapter in minutes on 2 CPU cores.
- ``paper``: the paper's settings; run through ``python -m collapsebook run ...`` (GPU for VAE and LM).
"""

from __future__ import annotations

import os

from ._checks import check_choice

SCALES = ("ci", "book", "paper")
ENV_VAR = "COLLAPSEBOOK_SCALE"
DEFAULT = "book"


def current(default: str = DEFAULT) -> str:
    """The scale named by ``COLLAPSEBOOK_SCALE`` (``default`` when unset)."""
    return check_choice(ENV_VAR, os.environ.get(ENV_VAR, default) or default, SCALES)


def pick(presets: dict, scale: str | None = None):
    """Return ``presets[scale]`` for the given (or current) scale; ``presets`` must have every scale."""
    scale = current() if scale is None else check_choice("scale", scale, SCALES)
    missing = [s for s in SCALES if s not in presets]
    if missing:
        raise ValueError(f"presets must define every scale {SCALES}; missing {missing}")
    return presets[scale]


def is_preset(params: dict, presets: dict) -> bool:
    """True when ``params`` equal one scale's preset. The chapters' checks are sized for the presets (their
    powers and tolerances were worked out there), so a chapter runs them only then; otherwise this says so in
    one line and returns False."""
    if any(params == presets[s] for s in SCALES if s in presets):
        return True
    print("Your parameters differ from every preset (ci, book, paper): the page's checks, sized for those, "
          "are skipped.")
    return False
