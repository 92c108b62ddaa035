"""collapsebook: helpers for the executable tutorials on model collapse.

Every chapter runs the same experiment with a different model family: fit a model to data, sample new data
from it, build the next training set, repeat. :mod:`collapsebook.loop` holds that loop once; one module per
model family (:mod:`~collapsebook.discrete`, :mod:`~collapsebook.gaussian`, ...) provides ``fit`` and ``sample``.
"""

__version__ = "0.1.0"
