"""The notebooks readers open (tools/notebooks.py): plain Jupyter Markdown made from the MyST chapters, current."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import notebooks as tool  # noqa: E402

CHAPTERS = tool.chapters()
SOURCE_URL = "https://github.com/OWNER/REPO/blob/main"
MYST = re.compile(r"\{[a-z:-]+\}`|^(```|:::)\{|^:[a-z-]+:|^\+\+\+|^\(\w[\w-]*\)=$", re.MULTILINE)

MYST_CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# 7. A chapter

As {footcite:t}`shumailov2024collapse` showed ({term}`model collapse <Model collapse>`), see also {footcite:p}`dempster1977em,shumailov2024collapse`
and {func}`collapsebook.loop.run`; the exercise {ref}`on sizes <ex-sizes>` has more.

```{code-cell} ipython3
:tags: [parameters]

SEED = 0
```

```{code-cell} ipython3
:tags: [remove-cell]

assert SEED == 0
```

:::{admonition} What the paper did
:class: note

| a | b |
| --- | --- |
:::

## Exercises

```{exercise}
:label: ex-first

First?
```

```{solution} ex-first
:class: dropdown

Because.

~~~python
print("a fenced block inside a solution")
~~~
```

```{exercise}
:label: ex-sizes

Sizes?
```

```{solution} ex-sizes
:class: dropdown

Larger.
```

## References

```{footbibliography}
```
"""


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    path = tmp_path_factory.mktemp("chapter") / "07_example.md"
    path.write_text(MYST_CHAPTER)
    return tool.outputs(path, SOURCE_URL)


def reader_and_student(outputs):
    reader, student = outputs.values()
    return reader, student


def markdown(notebook):
    return "\n\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_citations_become_author_year_text_with_a_reference_list(converted):
    text = markdown(reader_and_student(converted)[0])
    assert "As Shumailov et al. (2024) showed (model collapse)" in text
    assert "(Dempster et al., 1977; Shumailov et al., 2024)" in text
    references = text.split("## References")[1]
    assert references.index("Shumailov, I.") < references.index("Dempster, A. P.")  # order of first citation
    assert "https://doi.org/10.1038/s41586-024-07566-y" in references


def test_exercises_are_numbered_per_chapter_and_solutions_are_cells_of_their_own(converted):
    reader, _ = reader_and_student(converted)
    tagged = [(c.metadata.get("tags", []), c.source) for c in reader.cells if c.cell_type == "markdown"]
    exercises = [s for tags, s in tagged if tags == ["exercise"]]
    solutions = [s for tags, s in tagged if tags == ["solution"]]
    assert [e.split("**")[1] for e in exercises] == ["Exercise 7.1.", "Exercise 7.2."]
    assert solutions[0].startswith("#### Solution to exercise 7.1") and "~~~python" in solutions[0]
    assert solutions[1].startswith("#### Solution to exercise 7.2")
    assert "the exercise on sizes (exercise 7.2)" in markdown(reader)


def test_boxes_api_names_and_checks_read_as_plain_jupyter(converted):
    reader, _ = reader_and_student(converted)
    text = markdown(reader)
    assert "**What the paper did**" in text and "`collapsebook.loop.run`" in text
    assert not MYST.search(text), MYST.search(text)
    check = [c for c in reader.cells if c.cell_type == "code" and "check" in c.metadata.get("tags", [])]
    assert len(check) == 1 and check[0].source.startswith(tool.CHECK_TITLE)
    assert check[0].metadata["jupyter"]["source_hidden"] and check[0].metadata["cellView"] == "form"
    parameters = [c for c in reader.cells if c.metadata.get("tags") == ["parameters"]]
    assert len(parameters) == 1 and "SEED = 0" in parameters[0].source


def test_student_copy_is_the_reader_notebook_without_solutions(converted):
    reader, student = reader_and_student(converted)
    assert not any("solution" in c.metadata.get("tags", []) for c in student.cells)
    kept = [c for c in reader.cells if "solution" not in c.metadata.get("tags", [])]
    assert [c.source for c in student.cells] == [c.source for c in kept]


def test_unknown_myst_is_refused_not_copied(tmp_path):
    path = tmp_path / "08_x.md"
    path.write_text(MYST_CHAPTER.replace("{func}`collapsebook.loop.run`", "{abbr}`MLE (maximum likelihood)`"))
    with pytest.raises(ValueError, match="role"):
        tool.outputs(path, SOURCE_URL)
    path.write_text(MYST_CHAPTER.replace("```{exercise}\n:label: ex-first", "```{figure} a.png\n:label: ex-first"))
    with pytest.raises(ValueError, match="directive"):
        tool.outputs(path, SOURCE_URL)


def test_conversion_is_deterministic(converted, tmp_path):
    path = tmp_path / "07_example.md"
    path.write_text(MYST_CHAPTER)
    again = tool.outputs(path, SOURCE_URL)
    assert [tool.render(n) for n in again.values()] == [tool.render(n) for n in converted.values()]


def test_committed_notebooks_are_current():
    assert tool.main(["--check"]) == 0, "run `make notebooks`"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_reader_notebook_has_no_myst_and_one_cell_per_solution(chapter):
    reader = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    assert not MYST.search(markdown(reader)), MYST.search(markdown(reader))
    exercises = [c for c in reader.cells if "exercise" in c.metadata.get("tags", [])]
    solutions = [c for c in reader.cells if "solution" in c.metadata.get("tags", [])]
    assert exercises and len(solutions) == len(exercises)
    number = int(chapter.name[:2])
    assert [e.source.split("**")[1] for e in exercises] == [f"Exercise {number}.{k}." for k in
                                                             range(1, len(exercises) + 1)]
    student = nbformat.read(chapter.parent / "student" / chapter.with_suffix(".ipynb").name, as_version=4)
    assert len(student.cells) == len(reader.cells) - len(solutions)


LIVE = [c for c in CHAPTERS if "live_frontend()" in c.read_text()]
STALL_S = 300  # no cell takes a minute at ci scale: a cell silent for this long is a stall, not work


def execute_with_one_retry_on_a_stall(chapter):
    """The chapter's reader notebook executed by nbclient. With widgets on, nbclient has stalled 3 times in about
    10 runs with the kernel idle (a lost kernel message; no cell running): a stalled run is retried once. An
    error in a cell is never retried."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    for attempt in (1, 2):
        notebook = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
        try:
            NotebookClient(notebook, timeout=STALL_S, kernel_name="python3",
                           resources={"metadata": {"path": str(chapter.parent)}}).execute()
            return notebook
        except CellTimeoutError:
            if attempt == 2:
                raise


@pytest.mark.notebook
@pytest.mark.parametrize("chapter", LIVE, ids=lambda p: p.stem)
def test_the_live_frontend_branch_runs_and_builds_its_widgets(chapter, monkeypatch):
    """What Colab and Jupyter run (nbval and the book run the static branch): widgets built, no error."""
    monkeypatch.setenv("JPY_SESSION_NAME", str(chapter.with_suffix(".ipynb")))  # as a Jupyter server names it
    monkeypatch.setenv("COLLAPSEBOOK_SCALE", "ci")
    notebook = execute_with_one_retry_on_a_stall(chapter)
    widgets = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets or "widgets.interact" not in chapter.read_text()


# A reader's edit of each chapter's parameters (the course guide invites them): other sizes than any preset.
READER_EDITS = {
    "01_discrete": 'P = {**P, "n_chains": 500, "absorption_sizes": [10, 30, 60], "loop_generations": 30}',
    "02_gaussian": 'P = {**P, "sizes": [50, 500], "n_chains": 200}',
    "03_gmm": 'P = {**P, "n_runs": 4, "n_generations": 90, "sizes": [300, 1000], "drift_runs": 32}',
    "04_vae": 'P = {**P, "n_generations": 2, "policy_generations": 1}',
    "05_language_models": 'P = {**P, "n_generations": 1, "seeds": 1}',
    "06_prevention": 'P = {**P, "share": 0.2, "shares": [0.1, 0.5], "strong_chains": 200}',
    "07_tails": 'P = {**P, "n_generations": 6, "tradeoff_top_p": [1.0, 0.8], "tradeoff_temperature": [0.8]}',
}


def run_with_edit(path: Path, edit: str):
    """Execute a reader's notebook at ci scale with ``edit`` run right after its parameters cell."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    where = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(where + 1, nbformat.v4.new_code_cell(edit))
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


@pytest.mark.notebook
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_a_reader_can_change_the_parameters(chapter, monkeypatch):
    monkeypatch.setenv("COLLAPSEBOOK_SCALE", "ci")
    notebook = run_with_edit(chapter.with_suffix(".ipynb"), READER_EDITS[chapter.stem])
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert printed.count("the page's checks, sized for those, are skipped") == 1


# The experiment each chapter's RESULTS parameter reads: the --out folder of `python -m collapsebook run NAME`.
CLI_EXPERIMENTS = {
    "01_discrete": "discrete",
    "02_gaussian": "gaussian",
    "03_gmm": "gmm",
    "04_vae": "vae",
    "05_language_models": "lm",
    "06_prevention": "prevention",
    "07_tails": "tails",
}


def files_and_times(folder: Path) -> dict:
    """Every file under ``folder`` (lock files aside) with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock")}


READ_MARK = "read from RESULTS: "


def results_edit(out: Path) -> str:
    """A parameters edit setting ``RESULTS = out`` that prints :data:`READ_MARK` the first time the chapter
    opens a file there (a Python audit hook on ``open``)."""
    return (f"RESULTS = {str(out)!r}\n"
            "import sys\n"
            "def _first_read(event, args, seen=[]):\n"
            "    if event == 'open' and not seen and str(args[0]).startswith(RESULTS):\n"
            "        seen.append(args[0])\n"
            f"        print({READ_MARK!r} + str(args[0]))\n"
            "sys.addaudithook(_first_read)\n")


@pytest.mark.notebook
@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c.stem in CLI_EXPERIMENTS], ids=lambda p: p.stem)
def test_a_chapter_plots_the_folder_the_command_line_wrote(chapter, tmp_path, monkeypatch):
    """With ``RESULTS`` set to what the command line wrote at ci scale, the chapter reads its runs from there
    (it opens files in it, and writes or rewrites none: nothing is trained again) and its checks pass on them."""
    monkeypatch.setenv("COLLAPSEBOOK_SCALE", "ci")
    out = tmp_path / "runs"
    subprocess.run([sys.executable, "-m", "collapsebook", "run", CLI_EXPERIMENTS[chapter.stem], "--scale", "ci",
                    "--out", str(out)], check=True, capture_output=True)
    written = files_and_times(out)
    assert written, f"the command line wrote nothing into {out}"
    notebook = run_with_edit(chapter.with_suffix(".ipynb"), results_edit(out))
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert READ_MARK in printed, "the chapter never opened a file in RESULTS"
    assert files_and_times(out) == written
