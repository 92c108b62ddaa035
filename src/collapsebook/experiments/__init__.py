"""The experiments of ``python -m collapsebook run``, one module each (see :mod:`collapsebook.cli`)."""
