"""One figure style for the whole book, sized to the page's column; panels two to a row; quantile bands; animations
that play on the static site."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from ._checks import check_int, check_unit_interval

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

# On a desktop screen the page's text column is 688 CSS pixels wide and its body text is 16 px. Figures are drawn
# at DPI pixels per inch, so a figure no wider than MAX_WIDTH inches is shown at its own size, where text of
# FONT_SIZE points is FONT_SIZE * DPI / 72 = 16.7 px. A wider figure is shrunk to the column, its text with it.
COLUMN_PX, BODY_PX = 688, 16
DPI = 100
MAX_WIDTH = COLUMN_PX / DPI  # inches
FONT_SIZE = 12  # points


def use_style() -> None:
    """Apply the book's figure style (colour-blind-safe cycle, readable sizes, light grid)."""
    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "figure.figsize": (MAX_WIDTH, 4.0),
        "figure.dpi": DPI,
        "figure.constrained_layout.use": True,
        "savefig.dpi": "figure",  # animations' frames too
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": FONT_SIZE,
        "axes.titlesize": "medium",  # every text at FONT_SIZE: titles too, to leave the panels room
        "legend.frameon": False,
        "image.cmap": "cividis",
        "animation.embed_limit": 50.0,  # MB of frames embedded in a page
    })


def panels(n: int, height: float = 3.0, **subplots):
    """A figure of ``n`` panels, two to a row, as wide as the column; returns it and the ``n`` axes in order.

    ``height`` is each row's, in inches; ``subplots`` go to ``plt.subplots`` (``sharey=True``, ...).
    """
    rows = -(-check_int("n", n, 1) // 2)
    fig, axes = plt.subplots(rows, min(n, 2), figsize=(MAX_WIDTH, height * rows), squeeze=False, **subplots)
    for ax in axes.flat[n:]:
        ax.remove()
    return fig, axes.flat[:n]


def generation_colors(n: int, cmap: str = "cividis") -> list:
    """``n`` colours ordered from the first generation (dark) to the last (light), colour-blind safe."""
    return [plt.get_cmap(cmap)(x) for x in np.linspace(0.0, 0.9, check_int("n", n, 0))]


def quantile_band(ax, x, values, *, quantiles=(0.1, 0.9), label=None, color=None, axis=-1):
    """Plot the median of ``values`` along ``axis`` (the runs) as a line and a quantile band around it
    (``quantiles``: its lower and upper edges, ``0 <= low < high <= 1``)."""
    low_q, high_q = _check_band(quantiles)
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        raise ValueError(f"values must hold at least one run to plot, got shape {values.shape}")
    low, median, high = np.quantile(values, [low_q, 0.5, high_q], axis=axis)
    (line,) = ax.plot(x, median, label=label, color=color)
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.25, linewidth=0)
    return line


def _check_band(quantiles) -> tuple[float, float]:
    """``(low, high)`` quantiles of a band with ``0 <= low < high <= 1``, or a ValueError naming them."""
    q = check_unit_interval("quantiles", quantiles)
    if q.shape != (2,) or not q[0] < q[1]:
        raise ValueError(f"quantiles must be (low, high) with 0 <= low < high <= 1, got {quantiles!r}")
    return float(q[0]), float(q[1])


def animate(fig, draw_frame: Callable[[int], None], n_frames: int, interval_ms: int = 250):
    """An HTML animation (matplotlib's ``to_jshtml``) of ``draw_frame(i)`` for ``i < n_frames``.

    It plays in the static website with no kernel and no CDN. The figure is closed so that it is not
    shown a second time below the animation.
    """
    n_frames, interval_ms = check_int("n_frames", n_frames, 1), check_int("interval_ms", interval_ms, 1)
    anim = animation.FuncAnimation(fig, draw_frame, frames=n_frames, interval=interval_ms, repeat=False)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    from IPython.display import HTML

    return HTML(html)


def live_frontend() -> bool:
    """True in a live notebook session that can show widgets: Colab, or a Jupyter server (Lab, Notebook 7,
    Binder), which names its kernels' sessions in ``JPY_SESSION_NAME``; False while the book builds or nbval
    runs (a kernel with no frontend), where only the static animation is shown."""
    if "google.colab" in sys.modules or "JPY_SESSION_NAME" in os.environ:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return False
        return True
    return False
