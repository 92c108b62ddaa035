"""Set the book's repository URL, kept in one place (_config.yml), and rewrite what derives from it: every
chapter's Colab install cell and the links in the README and the book's pages. Usage: ``python tools/set_repository.py https://github.com/OWNER/REPO``
(``make set-repository URL=...`` also remakes the readers' notebooks)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
URL_LINE = re.compile(r"^(  url: )(\S+)$", re.MULTILINE)
BRANCH_LINE = re.compile(r"^  branch: (\S+)$", re.MULTILINE)
# The install cell, whichever URL it names (and the one-line form it had before the URL moved to a variable).
INSTALL = re.compile(r"# On Colab, install the book's helper package[^\n]*\nimport sys\n"
                     r'if "google\.colab" in sys\.modules:\n(?:    REPOSITORY = "[^"\n]*"\n)?'
                     r'    %pip install --quiet "collapsebook @ [^"\n]*"')


def repository() -> tuple[str, str]:
    """The repository URL and branch that _config.yml names."""
    text = CONFIG.read_text()
    return URL_LINE.search(text).group(2), BRANCH_LINE.search(text).group(1)


def install_cell(url: str, branch: str) -> str:
    """Every chapter's first code cell: installs the package from the repository on Colab, does nothing
    elsewhere. IPython expands ``{REPOSITORY}`` in the magic, so no line is longer than the URL needs."""
    return ("# On Colab, install the book's helper package; elsewhere it is installed.\n"
            "import sys\n"
            'if "google.colab" in sys.modules:\n'
            f'    REPOSITORY = "git+{url}@{branch}"\n'
            '    %pip install --quiet "collapsebook @ {REPOSITORY}"')


def pages_naming_the_repository() -> list[Path]:
    """Prose files that may link to the repository: the README and the book's pages."""
    return [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md"))]


def main(url: str) -> None:
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise SystemExit(f"URL must look like https://github.com/OWNER/REPO, got {url!r}")
    old_url, _ = repository()
    CONFIG.write_text(URL_LINE.sub(lambda m: m.group(1) + url, CONFIG.read_text()))
    cell = install_cell(*repository())
    for chapter in sorted((ROOT / "notebooks").glob("*.md")):
        text, found = INSTALL.subn(lambda _: cell, chapter.read_text())
        if found != 1:
            raise SystemExit(f"{chapter.name}: expected one install cell (see CONTRIBUTING.md), found {found}")
        chapter.write_text(text.replace(old_url, url))
    for page in pages_naming_the_repository():
        page.write_text(page.read_text().replace(old_url, url))
    print(f"repository set to {url}; run `make notebooks` to remake the readers' notebooks")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
