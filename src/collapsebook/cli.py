"""``python -m collapsebook run EXPERIMENT --scale S --out DIR [--resume]``: long runs whose results the
chapters load. Each module in :mod:`collapsebook.experiments` is one experiment: its docstring is the help,
``add_arguments(parser)`` adds its options and ``main(args)`` runs its grid of independent cells
(:mod:`collapsebook.grid`) into ``args.out``: all of them or those ``--only KEY=VALUE ...`` picks, in sequence
or as Ray tasks (``--ray [ADDRESS]``).

Only the chosen experiment is imported (``run discrete --help`` loads neither torch nor transformers), and an
error prints one line naming the problem (``--debug`` prints the traceback too).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import sys
from pathlib import Path

from . import __version__, experiments, grid, scale, store


def experiment_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(experiments.__path__) if not m.name.startswith("_"))


def summary(name: str) -> str:
    """The first line of an experiment's docstring, read from its source without importing it."""
    source = Path(experiments.__path__[0], f"{name}.py").read_text()
    return (ast.get_docstring(ast.parse(source)) or name).strip().split("\n")[0]


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The command line; only the experiment ``chosen`` (if any) is imported, for its own options."""
    parser = argparse.ArgumentParser(prog="python -m collapsebook", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run an experiment and save its history")
    runs = run.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name in experiment_names():
        sub = runs.add_parser(name, help=summary(name), description=summary(name))
        if name == chosen:
            _add_run_options(sub, importlib.import_module(f"{experiments.__name__}.{name}"))
    return parser


def _add_run_options(sub: argparse.ArgumentParser, module) -> None:
    default_scale = scale.current()
    sub.add_argument("--scale", choices=scale.SCALES, default=default_scale,
                     help=f"preset sizes (default: ${scale.ENV_VAR}, else {scale.DEFAULT}; now %(default)s)")
    sub.add_argument("--out", type=Path, required=True,
                     help="folder for the results; with --ray on a cluster, on storage every worker sees")
    sub.add_argument("--resume", action="store_true", help="continue a run saved in --out")
    sub.add_argument("--only", nargs="+", action="extend", metavar="KEY=VALUE",
                     help="run only the cells of the grid with these values (several values of one key: any "
                          f"of them; several keys: all). The cells at --scale {default_scale}: "
                          + grid.describe(module.cells(module.PRESETS[default_scale])).replace("%", "%%"))
    sub.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                     help="run the cells as Ray tasks, each retried and resumed from its folder if its worker "
                          f"dies ({grid.INSTALL}): without ADDRESS on a Ray instance started on this machine; "
                          "'auto' or 'ray://HOST:PORT' joins a cluster, and --out must then be on storage "
                          "every worker sees (a shared file system)")
    sub.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    sub.add_argument("--debug", action="store_true", help="on an error, print its full traceback")
    module.add_arguments(sub)
    sub.set_defaults(main=module.main, module=module, presets=getattr(module, "PRESETS", None))


def chosen_experiment(argv: list[str]) -> str | None:
    """The experiment named right after ``run`` in ``argv``, if it is one."""
    words = [a for a in argv if not a.startswith("-")]
    if len(words) >= 2 and words[0] == "run" and words[1] in experiment_names():
        return words[1]
    return None


def parse(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed with the options of the experiment it names."""
    return build_parser(chosen_experiment(argv)).parse_args(argv)


def run_settings(args) -> dict:
    """What defines the results in ``--out``: the experiment, its scale and that scale's preset, its seed, and
    the package version. Options that pick which parts of a grid to run are not among them."""
    return {"experiment": args.experiment, "scale": args.scale, "seed": getattr(args, "seed", None),
            "preset": None if args.presets is None else args.presets[args.scale], "version": __version__}


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else list(argv))
    if args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out} is a file, not a folder", file=sys.stderr)
        return 2
    if args.out.exists() and any(args.out.iterdir()) and not args.resume:
        print(f"error: --out {args.out} already holds results; pass --resume to continue them", file=sys.stderr)
        return 2
    try:  # bad --only values and a missing Ray are refused before anything is written
        grid.plan(args.module, args)
        if args.ray is not None:
            grid.require_ray()
    except (ValueError, TypeError, RuntimeError) as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with store.lock(args.out):
            store.claim(args.out, run_settings(args), name="run.json")
            args.main(args)
    except (ValueError, TypeError, OSError, RuntimeError) as error:
        if args.debug:
            raise
        print(f"error: {error} (--debug shows where)", file=sys.stderr)
        return 1
    print(f"results in {args.out}")
    return 0
