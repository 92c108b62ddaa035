"""``python -m collapsebook run EXPERIMENT --scale S --out DIR [--resume]``: long runs whose results the
chapters load. Each module in :mod:`collapsebook.experiments` is one experiment: its docstring is the help,
``add_arguments(parser)`` adds its options and ``main(args)`` runs it, writing into ``args.out``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from . import experiments
from .scale import SCALES


def experiment_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(experiments.__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m collapsebook", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run an experiment and save its history")
    runs = run.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name in experiment_names():
        module = importlib.import_module(f"{experiments.__name__}.{name}")
        sub = runs.add_parser(name, help=(module.__doc__ or name).strip().split("\n")[0])
        sub.add_argument("--scale", choices=SCALES, default="paper", help="preset sizes (default: paper)")
        sub.add_argument("--out", type=Path, required=True, help="folder for the results")
        sub.add_argument("--resume", action="store_true", help="continue a run saved in --out")
        sub.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
        module.add_arguments(sub)
        sub.set_defaults(main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()) and not args.resume:
        print(f"error: --out {args.out} already holds results; pass --resume to continue them", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    args.main(args)
    print(f"results in {args.out}")
    return 0
