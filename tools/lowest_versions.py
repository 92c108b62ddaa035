"""Print the package's declared lower bounds as exact pins (``name==version``), dependencies and every extra, for
the lowest-versions test environment (``make test-lowest``). torch is left out: the environment keeps the CPU
build this machine has, the only one small enough to install for a test."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNPINNED = {"torch"}


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


if __name__ == "__main__":
    pins = [f"{name}=={version}" for name, version in sorted(lower_bounds().items()) if name not in UNPINNED]
    sys.stdout.write(" ".join(pins) + "\n")
