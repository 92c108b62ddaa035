"""Print the package's declared lower bounds as exact pins (``name==version``), dependencies and every extra, for
the lowest-versions test environment (``make test-lowest``); with names as arguments, only those packages' pins
(``python tools/lowest_versions.py torch``). ``make test-lowest`` installs torch's CPU build of that version
(``+cpu``, from PyTorch's CPU index) first: the pin ``torch==X`` then finds it installed and keeps it."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lower_bounds(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    bounds = {}
    for requirement in declared:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", requirement.strip())
        if not match:
            raise SystemExit(f"{requirement!r}: every dependency must be declared as name>=version")
        name, version = match[1].lower(), match[2]
        if bounds.get(name, version) != version:
            raise SystemExit(f"{name} has two different lower bounds in pyproject.toml")
        bounds[name] = version
    return bounds


def pins(names=()) -> list[str]:
    """``name==version`` for every declared package, or for ``names`` only (each must be declared)."""
    bounds = lower_bounds()
    unknown = sorted(set(names) - set(bounds))
    if unknown:
        raise SystemExit(f"{', '.join(unknown)}: not declared in pyproject.toml (declared: {', '.join(sorted(bounds))})")
    return [f"{name}=={version}" for name, version in sorted(bounds.items()) if not names or name in names]


if __name__ == "__main__":
    sys.stdout.write(" ".join(pins(sys.argv[1:])) + "\n")
