"""An experiment's grid of independent runs (*cells*), run in sequence or as Ray tasks.

Every module in :mod:`collapsebook.experiments` has the same entry points:

- ``PRESETS``: the settings of each scale;
- ``cells(preset) -> list[dict]``: the independent runs, as small JSON-able dicts such as
  ``{"part": "policies"}`` or ``{"setting": "b", "penalty": 1.0, "seed": 0}``;
- ``run_cell(cell, preset, folder, seed, progress)``: one cell, written under the results ``folder`` (the
  command line's ``--out``) into files or subfolders of its own and resumed from what they hold;
- ``main(args)``: ``grid.run(module, args)``, every cell (or those ``--only`` picks), here or on Ray.

Optional: ``cli_preset(args)`` (the preset with the command line's own options applied), ``cli_cells(args,
preset)`` (the cells those options ask for; default ``cells(preset)``), ``cell_folder(cell)`` (a subfolder of
the results folder that ``run_cell`` gets instead of the results folder itself), ``prepare(preset, folder,
seed, progress)`` (run once before the cells, for what they all read) and ``GPU_SCALES`` (the scales whose
cells ask Ray for one GPU each).

Two processes never run the same cell at once: each holds :func:`collapsebook.store.lock` on
``folder/.cells/NAME`` while it runs the cell (``NAME`` is :func:`cell_name`). A cell's own files are the same
whether it ran here or on a Ray worker, so a cluster run's folder reads like a sequential one.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from tqdm.auto import tqdm

from . import store

LOCKS = ".cells"  # folder/.cells/NAME/.lock while cell NAME runs
MAX_RETRIES = 3  # Ray runs a cell again this often when its worker dies (or the storage errs)
INSTALL = "pip install 'collapsebook[cluster]'"


def cell_name(cell: dict) -> str:
    """``key=value,key=value``: a cell's stable name (its lock folder, its line in the progress report)."""
    if not isinstance(cell, dict) or not cell:
        raise TypeError(f"a cell must be a non-empty dict, got {cell!r}")
    for key, value in cell.items():
        if not isinstance(value, (str, int, float, bool)) or "/" in f"{key}{value}":
            raise TypeError(f"cell {cell!r}: {key!r} must be a str, int, float or bool without '/'")
    return ",".join(f"{key}={value}" for key, value in cell.items())


def parse_only(pairs) -> dict[str, list[str]]:
    """``["N=500", "N=1000", "run=0"]`` as ``{"N": ["500", "1000"], "run": ["0"]}``."""
    wanted: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = str(pair).partition("=")
        if not (sep and key and value):
            raise ValueError(f"--only takes KEY=VALUE pairs, got {pair!r}")
        wanted.setdefault(key, []).append(value)
    return wanted


def _equal(text: str, value) -> bool:
    """Whether the command line's ``text`` names the cell's ``value`` (``2`` names ``2.0``)."""
    if isinstance(value, bool):
        return text.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return float(text) == value
        except ValueError:
            return False
    return text == str(value)


def select(cells: list[dict], only=None) -> list[dict]:
    """The ``cells`` that ``--only`` pairs pick: every key given must match one of the values given for it.

    A key no cell has, a value no cell has, or pairs that no cell matches together raise ValueError naming
    what exists."""
    if not only:
        return list(cells)
    wanted = parse_only(only)
    for key, values in wanted.items():
        have = list(dict.fromkeys(c[key] for c in cells if key in c))
        if not have:
            keys = sorted({k for c in cells for k in c})
            raise ValueError(f"--only {key}=...: no cell has the key {key!r}; the keys are {', '.join(keys)}")
        for value in values:
            if not any(_equal(value, h) for h in have):
                raise ValueError(f"--only {key}={value}: no cell has it; {key} is one of "
                                 f"{', '.join(map(str, have))}")
    chosen = [c for c in cells
              if all(k in c and any(_equal(v, c[k]) for v in vs) for k, vs in wanted.items())]
    if not chosen:
        raise ValueError(f"--only {' '.join(only)}: no cell has these values together")
    return chosen


def describe(cells: list[dict]) -> str:
    """Each key of ``cells`` with its values: ``part: two, blob; N: 500, 1000``."""
    keys = dict.fromkeys(k for c in cells for k in c)
    return "; ".join(f"{k}: {', '.join(map(str, dict.fromkeys(c[k] for c in cells if k in c)))}" for k in keys)


def plan(module, args) -> tuple[dict, list[dict]]:
    """The preset and the cells that the command line ``args`` ask ``module`` to run."""
    preset = module.cli_preset(args) if hasattr(module, "cli_preset") else module.PRESETS[args.scale]
    cells = module.cli_cells(args, preset) if hasattr(module, "cli_cells") else module.cells(preset)
    names = [cell_name(c) for c in cells]
    if len(set(names)) != len(names):
        raise ValueError(f"{module.__name__}: two cells share a name in {names}")
    return preset, select(cells, getattr(args, "only", None))


def run_locked(module, cell: dict, preset: dict, folder, seed: int, progress: bool) -> float:
    """``module.run_cell`` holding the cell's lock; returns the seconds it took."""
    start = time.perf_counter()
    with store.lock(Path(folder) / LOCKS / cell_name(cell)):
        own = Path(folder) / module.cell_folder(cell) if hasattr(module, "cell_folder") else Path(folder)
        module.run_cell(cell, preset, own, seed, progress)
    return time.perf_counter() - start


def resources(module, scale: str) -> dict:
    """What a Ray task of one of ``module``'s cells asks for: a GPU at ``GPU_SCALES``, else a CPU."""
    return {"num_gpus": 1} if scale in getattr(module, "GPU_SCALES", ()) else {"num_cpus": 1}


def run(module, args) -> None:
    """Run the cells of ``module`` that ``args`` pick into ``args.out``: in sequence, or as Ray tasks when
    ``args.ray`` is set (``"local"``: a Ray instance started here; ``"auto"``, ``"ray://HOST:PORT"``: a
    cluster). One line per finished cell, and a bar over all of them."""
    preset, cells = plan(module, args)
    seed, progress = getattr(args, "seed", 0), getattr(args, "progress", True)
    if getattr(args, "ray", None) is None:
        _sequential(module, preset, cells, args.out, seed, progress)
    else:
        _on_ray(module, preset, cells, args.out, seed, progress, args.ray, resources(module, args.scale))


def _sequential(module, preset, cells, folder, seed, progress) -> None:
    if hasattr(module, "prepare"):
        module.prepare(preset, Path(folder), seed, progress)
    with tqdm(total=len(cells), desc="cells", unit="cell", disable=not progress) as bar:
        for cell in cells:
            seconds = run_locked(module, cell, preset, folder, seed, progress)
            _report(bar, f"finished {cell_name(cell)} in {seconds:.1f} s")


def _report(bar, line: str) -> None:
    bar.write(line)
    bar.update(1)


def require_ray():
    """The ``ray`` module; a one-line error with the install command when it is missing."""
    try:
        import ray
    except ImportError:
        raise RuntimeError(f"--ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def _cell_task(module_name: str, cell: dict, preset: dict, folder: str, seed: int) -> float:
    """A Ray task: one cell on a worker, without progress bars; returns its seconds."""
    return run_locked(importlib.import_module(module_name), cell, preset, folder, seed, False)


def _prepare_task(module_name: str, preset: dict, folder: str, seed: int) -> None:
    """A Ray task: the module's ``prepare``, before its cells."""
    importlib.import_module(module_name).prepare(preset, Path(folder), seed, False)


def _on_ray(module, preset, cells, folder, seed, progress, address, needs) -> None:
    ray = require_ray()
    started = not ray.is_initialized()
    if started:  # "local" starts a Ray instance here; "auto" and "ray://..." join a cluster
        ray.init(address=address, **({"include_dashboard": False} if address == "local" else {}))
    try:
        options = {"max_retries": MAX_RETRIES, "retry_exceptions": [OSError], **needs}
        args = (preset, str(Path(folder).resolve()), seed)
        if hasattr(module, "prepare"):
            try:
                ray.get(ray.remote(_prepare_task).options(**options).remote(module.__name__, *args))
            except ray.exceptions.RayError as error:
                raise RuntimeError(f"prepare, which every cell needs, failed: {_cause(error)}") from None
        task = ray.remote(_cell_task).options(**options)
        pending = {task.remote(module.__name__, cell, *args): cell for cell in cells}
        failed = _gather(ray, pending, progress)
    finally:
        if started:
            ray.shutdown()
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(cells)} cells failed (the others finished; --resume runs "
                           f"the failed ones again): {'; '.join(failed)}")


def _gather(ray, pending: dict, progress: bool) -> list[str]:
    """Wait for every task in ``pending`` (``{ref: cell}``), one line each; returns ``name: error`` of the
    cells that failed after their retries."""
    failed = []
    with tqdm(total=len(pending), desc="cells", unit="cell", disable=not progress) as bar:
        while pending:
            [done], _ = ray.wait(list(pending), num_returns=1)
            name = cell_name(pending.pop(done))
            try:
                _report(bar, f"finished {name} in {ray.get(done):.1f} s")
            except ray.exceptions.RayError as error:
                failed.append(f"{name}: {_cause(error)}")
                _report(bar, f"failed {failed[-1]}")
    return failed


def _cause(error) -> str:
    """``Type: first line`` of what made a Ray task fail (the task's own exception when it raised one)."""
    cause = getattr(error, "cause", None) or error
    return f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0]}"
