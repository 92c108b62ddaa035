"""The notebooks readers open, made from the chapters' MyST sources (`make notebooks`).

``notebooks/NN_topic.md`` is the source the book builds. From it this tool writes

- ``notebooks/NN_topic.ipynb``, the reader's notebook (Colab and Binder buttons, nbval): plain Jupyter Markdown,
  exercises numbered per chapter (3.1, 3.2, ...), each solution in its own cell, theorems and boxes as Markdown,
  citations as author-year text with the chapter's reference list, and the page's checks kept as collapsed
  cells titled "Check (optional)";
- ``notebooks/student/NN_topic.ipynb``, the student copy: the same without the solution cells.

Run ``python tools/notebooks.py`` (or ``--check`` to fail when a committed notebook is out of date).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
BIBLIOGRAPHY = ROOT / "book" / "references.bib"
CHECK_TITLE = "#@title Check (optional): the claims of this section hold for your run"
STUDENT_FOLDER = "student"

ROLE = re.compile(r"\{(?P<role>[a-z:]+)\}`(?P<text>[^`]*)`")
DIRECTIVE_START = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z:-]+)\}\s*(?P<argument>.*)$")
OPTION = re.compile(r"^:(?P<key>[a-z-]+):\s*(?P<value>.*)$")


@dataclass
class Chapter:
    """What the conversion of one chapter needs to know: its number, labels and citations."""

    number: int
    bibliography: dict
    source_url: str  # where the repository's files are browsed: https://github.com/OWNER/REPO/blob/BRANCH
    exercises: dict = field(default_factory=dict)  # label -> "3.1"
    cited: list = field(default_factory=list)  # citation keys in order of first use


@dataclass
class Block:
    """A top-level piece of a Markdown cell: plain text, or a directive with its options and body."""

    name: str | None
    text: str
    argument: str = ""
    options: dict = field(default_factory=dict)


# -- citations ----------------------------------------------------------------------------------------------------

def load_bibliography(path: Path = BIBLIOGRAPHY) -> dict:
    return dict(parse_file(str(path)).entries)


def _last_names(entry) -> list[str]:
    return [" ".join(person.last_names).replace("{", "").replace("}", "") for person in entry.persons["author"]]


def author_year(entry, textual: bool) -> str:
    """``Shumailov et al. (2024)`` when ``textual``, else ``Shumailov et al., 2024``."""
    names = _last_names(entry)
    who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
    year = entry.fields["year"]
    return f"{who} ({year})" if textual else f"{who}, {year}"


def _plain(text: str) -> str:
    return text.replace("{", "").replace("}", "").replace("\\_", "_").replace("--", "–")


def reference(entry) -> str:
    """One line of a chapter's reference list: authors, year, title, where it appeared, a link."""
    people = [f"{' '.join(p.last_names)}, {' '.join(n[0] + '.' for n in p.first_names + p.middle_names)}"
              for p in entry.persons["author"] if p.last_names != ["others"]]
    if len(people) < len(entry.persons["author"]):
        people.append("et al.")
    f = entry.fields
    where = f.get("journal") or f.get("booktitle") or f.get("publisher") or f.get("note") or ""
    if "volume" in f:
        where += f" {f['volume']}"
    if "pages" in f:
        where += f", {f['pages']}"
    if "eprint" in f:
        link = f"https://arxiv.org/abs/{f['eprint']}"
    elif "doi" in f:
        link = f"https://doi.org/{f['doi']}"
    else:
        link = f.get("url", "")
    parts = [f"{_plain('; '.join(people))} ({f['year']}).", f"{_plain(f['title'])}."]
    if where:
        parts.append(f"*{_plain(where.strip())}*.")
    if link:
        parts.append(f"<{link}>")
    return " ".join(parts)


# -- roles and directives ------------------------------------------------------------------------------------------

def _target(text: str) -> tuple[str, str]:
    """``title <target>`` -> (title, target); a bare ``target`` -> (target, target)."""
    match = re.fullmatch(r"(?s)(.*?)\s*<([^>]+)>", text)
    return (match[1], match[2]) if match else (text, text)


def convert_roles(text: str, chapter: Chapter) -> str:
    """Citations, cross-references and API roles as plain Markdown."""

    def replace(match):
        role, content = match["role"], match["text"]
        if role.startswith("footcite") or role.startswith("cite"):
            keys = [k.strip() for k in content.split(",")]
            for key in keys:
                if key not in chapter.bibliography:
                    raise ValueError(f"citation {key!r} is not in {BIBLIOGRAPHY.name}")
                if key not in chapter.cited:
                    chapter.cited.append(key)
            textual = role.endswith(":t")
            cited = "; ".join(author_year(chapter.bibliography[k], textual) for k in keys)
            return cited if textual else f"({cited})"
        title, target = _target(content)
        if role == "ref":
            number = chapter.exercises.get(target)
            return f"{title} (exercise {number})" if number else title
        if role == "doc":
            path = (Path("notebooks") / target).resolve().relative_to(ROOT.resolve()) if ".." in target else target
            return f"[{title.split('/')[-1]}]({chapter.source_url}/{path}.md)"
        if role in ("func", "mod", "class", "meth", "attr", "data"):
            return f"`{title}`"
        if role == "term":  # a glossary term: the word itself
            return title
        raise ValueError(f"no plain-Markdown form for the role {{{role}}} (in {match[0]!r})")

    return ROLE.sub(replace, text)


def split_blocks(markdown: str) -> list[Block]:
    """The top-level directives of a Markdown cell and the text between them (nested code fences respected)."""
    blocks, text, lines, i = [], [], markdown.split("\n"), 0
    while i < len(lines):
        start = DIRECTIVE_START.match(lines[i])
        if not start:
            text.append(lines[i])
            i += 1
            continue
        if text:
            blocks.append(Block(None, "\n".join(text)))
            text = []
        body, i, nested = [], i + 1, None
        while i < len(lines):
            line = lines[i]
            if nested is None and line.strip() == start["fence"]:
                break
            if re.match(r"^(`{3,}|~{3,})", line):
                fence = re.match(r"^(`{3,}|~{3,})", line)[1]
                nested = None if nested == fence and line.strip() == fence else nested or fence
            body.append(line)
            i += 1
        else:
            raise ValueError(f"directive {start['name']!r} is never closed")
        options = {}
        while body and OPTION.match(body[0]):
            option = OPTION.match(body.pop(0))
            options[option["key"]] = option["value"]
        blocks.append(Block(start["name"], "\n".join(body).strip("\n"), start["argument"].strip(), options))
        i += 1
    if text:
        blocks.append(Block(None, "\n".join(text)))
    return blocks


def number_exercises(markdown_cells: list[str], chapter: Chapter) -> None:
    """Give every exercise its number, ``chapter.section`` style, before any reference to it is converted."""
    for source in markdown_cells:
        for block in split_blocks(source):
            if block.name == "exercise":
                label = block.options.get("label", f"exercise-{len(chapter.exercises) + 1}")
                chapter.exercises[label] = f"{chapter.number}.{len(chapter.exercises) + 1}"


def references_markdown(chapter: Chapter) -> str:
    return "\n".join(f"- {reference(chapter.bibliography[key])}" for key in chapter.cited)


def markdown_cells(source: str, chapter: Chapter) -> list[tuple[str, list[str]]]:
    """One MyST Markdown cell as plain Markdown cells: ``(source, tags)``; exercises and solutions get their own."""
    cells, text = [], []

    def flush():
        joined = "\n\n".join(t.strip("\n") for t in text if t.strip())
        if joined:
            cells.append((joined, []))
        text.clear()

    for block in split_blocks(source):
        body = convert_roles(block.text, chapter)
        if block.name is None:
            text.append(body)
        elif block.name == "exercise":
            flush()
            number = chapter.exercises[block.options.get("label", "")] if "label" in block.options else None
            cells.append((f"**Exercise {number}.** {body}", ["exercise"]))
        elif block.name == "solution":
            flush()
            number = chapter.exercises[block.argument]
            cells.append((f"#### Solution to exercise {number}\n\n{body}", ["solution"]))
        elif block.name == "prf:theorem":
            text.append(f"**Theorem ({convert_roles(block.argument, chapter)}).** {body}")
        elif block.name == "admonition":
            title = convert_roles(block.argument, chapter)
            text.append(f"---\n\n**{title}**\n\n{body}\n\n---")
        elif block.name == "footbibliography":
            text.append(references_markdown(chapter))
        else:
            raise ValueError(f"no plain-Markdown form for the directive {{{block.name}}}")
    flush()
    return cells


# -- notebooks ----------------------------------------------------------------------------------------------------

def _cell_id(stem: str, index: int) -> str:
    return hashlib.sha1(f"{stem}:{index}".encode()).hexdigest()[:12]


def check_cell(source: str):
    cell = nbformat.v4.new_code_cell(f"{CHECK_TITLE}\n{source}")
    cell.metadata = {"tags": ["check"], "cellView": "form", "jupyter": {"source_hidden": True}}
    return cell


def code_cell(source: str, tags: list[str]):
    if "remove-cell" in tags:
        return check_cell(source)
    cell = nbformat.v4.new_code_cell(source)
    kept = [t for t in tags if t == "parameters"]
    if kept:
        cell.metadata = {"tags": kept}
    return cell


def reader_notebook(path: Path, source_url: str, bibliography: dict | None = None):
    """The reader's notebook for the chapter ``path`` (a MyST ``.md``); links to other pages go to ``source_url``."""
    source = jupytext.read(path)
    chapter = Chapter(int(path.name[:2]), bibliography or load_bibliography(), source_url)
    number_exercises([c.source for c in source.cells if c.cell_type == "markdown"], chapter)
    cells = []
    for cell in source.cells:
        if cell.cell_type == "markdown":
            for text, tags in markdown_cells(cell.source, chapter):
                converted = nbformat.v4.new_markdown_cell(text)
                if tags:
                    converted.metadata = {"tags": tags}
                cells.append(converted)
        else:
            cells.append(code_cell(cell.source, list(cell.metadata.get("tags", []))))
    for index, cell in enumerate(cells):
        cell.id = _cell_id(path.stem, index)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}}
    return notebook


def student_notebook(reader):
    """The reader's notebook without its solution cells."""
    student = nbformat.from_dict(reader)
    student.cells = [c for c in student.cells if "solution" not in c.metadata.get("tags", [])]
    return student


def outputs(chapter_md: Path, source_url: str, bibliography: dict | None = None) -> dict:
    """``{path: notebook}`` for one chapter: the reader's notebook and the student copy."""
    reader = reader_notebook(chapter_md, source_url, bibliography)
    return {chapter_md.with_suffix(".ipynb"): reader,
            chapter_md.parent / STUDENT_FOLDER / f"{chapter_md.stem}.ipynb": student_notebook(reader)}


def render(notebook) -> str:
    return nbformat.writes(notebook, version=4) + "\n"


def chapters(folder: Path = ROOT / "notebooks") -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.md"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed notebook is out of date")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tools"))
    import set_repository

    url, branch = set_repository.repository()
    bibliography, stale = load_bibliography(), []
    for chapter in chapters():
        for path, notebook in outputs(chapter, f"{url}/blob/{branch}", bibliography).items():
            text = render(notebook)
            if path.exists() and path.read_text() == text:
                continue
            if args.check:
                stale.append(path.relative_to(ROOT))
            else:
                path.parent.mkdir(exist_ok=True)
                path.write_text(text)
                print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run `make notebooks`): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
