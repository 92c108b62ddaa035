"""The book as a whole: chapter anatomy, the site built at ci scale, and the site in a browser."""

import base64
import functools
import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import jupytext
import nbformat
import pytest
from PIL import Image

from collapsebook import plotting

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import fetch_mathjax  # noqa: E402
import set_repository  # noqa: E402

CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.md"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def code_cells_tagged(path, tag):
    return [c for c in jupytext.read(path).cells if c.cell_type == "code" and tag in c.metadata.get("tags", [])]


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks/NN_*.md found"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_reader_notebook_carries_no_outputs(chapter):
    notebook = nbformat.read(chapter.with_suffix(".ipynb"), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_anatomy(chapter):
    install = code_cells_tagged(chapter, "hide-cell")
    assert install and install[0].source == set_repository.install_cell(*set_repository.repository())
    assert len(code_cells_tagged(chapter, "parameters")) == 1
    checks = code_cells_tagged(chapter, "remove-cell")
    assert sum("assert" in c.source for c in checks) >= 3, "hidden check cells assert the claims"
    text = chapter.read_text()
    for marker in ("{exercise}", "{solution}", "What the paper did", "{footbibliography}"):
        assert marker in text, f"{chapter.name} lacks {marker}"
    url, branch = set_repository.repository()
    assert f"{url}/blob/{branch}/notebooks/student/{chapter.stem}.ipynb" in text, "link the student copy"
    assert "<../book/synthesis>" in text and "<../book/glossary>" in text, "link the synthesis and the glossary"


def test_the_repository_url_is_set_in_one_place():
    url, _ = set_repository.repository()
    for page in set_repository.pages_naming_the_repository() + CHAPTERS:
        for named in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", page.read_text()):
            assert named in (url, "https://github.com/OWNER/REPO"), f"{page.name} names {named}; run `make set-repository URL={url}`"


def test_set_repository_rewrites_every_place(tmp_path, monkeypatch):
    for name in ["_config.yml", "README.md", "book", "notebooks"]:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(set_repository, "ROOT", tmp_path)
    monkeypatch.setattr(set_repository, "CONFIG", tmp_path / "_config.yml")
    old_url, branch = set_repository.repository()
    set_repository.main("https://github.com/someone/fork")
    assert set_repository.repository() == ("https://github.com/someone/fork", branch)
    for page in [tmp_path / "README.md", *tmp_path.glob("book/*.md"), *tmp_path.glob("notebooks/*.md")]:
        assert old_url not in page.read_text()
    for chapter in tmp_path.glob("notebooks/*.md"):
        assert set_repository.install_cell("https://github.com/someone/fork", branch) in chapter.read_text()


def test_every_chapter_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for chapter in CHAPTERS:
        assert f"notebooks/{chapter.stem}" in toc


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """The whole book built at ci scale with warnings as errors (every notebook executed)."""
    out = tmp_path_factory.mktemp("site")
    assert fetch_mathjax.main() == 0, "the site serves its own MathJax"
    env = dict(os.environ, COLLAPSEBOOK_SCALE="ci")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--keep-going"],
        env=env, capture_output=True, text=True, timeout=3000,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-4000:]
    return out / "_build" / "html"


def test_book_builds_with_every_page(built_site):
    for chapter in CHAPTERS:
        assert (built_site / "notebooks" / f"{chapter.stem}.html").exists()
    assert (built_site / "book" / "intro.html").exists()


def figures_of(page):
    """Each figure on a built page as (where it is, its PNG): the images under _images, and the first frame of each
    animation, embedded in the page."""
    html = page.read_text()
    for src in re.findall(r'<img [^>]*src="([^"]*_images/[^"]+\.png)"', html):
        yield src, (page.parent / src).read_bytes()
    for frame in re.findall(r'frames\[0\] = "data:image/png;base64,([^"]+)"', html):
        yield "an animation", base64.b64decode(re.sub(r"[\\\s]", "", frame))


def shown_text_px(png):
    """CSS pixels of the book's FONT_SIZE text in a figure shown on a desktop screen, shrunk to the column if wider."""
    image = Image.open(io.BytesIO(png))
    return plotting.FONT_SIZE / 72 * image.info["dpi"][0] * min(1, plotting.COLUMN_PX / image.width)


@pytest.mark.parametrize("chapter", CHAPTERS + [ROOT / "book" / "synthesis.md"], ids=lambda p: p.stem)
def test_figures_read_at_the_column_width(built_site, chapter):
    """Every figure's text is at least as large as the body text, which a figure wider than the column is not."""
    assert "fontsize" not in chapter.read_text(), "figures take their text size from plotting.use_style"
    figures = list(figures_of(built_site / chapter.relative_to(ROOT).with_suffix(".html")))
    small = [f"{where}: {px:.1f} px" for where, png in figures if (px := shown_text_px(png)) < plotting.BODY_PX]
    assert figures and not small, small


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served_site(built_site):
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.mark.browser
def test_every_page_loads_in_a_real_browser(built_site, served_site):
    if CHROMIUM is None:
        message = "headless Chromium is not installed (Debian package `chromium`)"
        if os.environ.get("COLLAPSEBOOK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    pages = sorted(p.relative_to(built_site).as_posix() for p in built_site.rglob("*.html")
                   if "_static" not in p.parts and p.name not in ("genindex.html", "search.html"))
    problems = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for page_path in pages:
            problems += _problems_of_page(browser.new_page(), f"{served_site}/{page_path}", served_site)
            if page_path.startswith("notebooks/"):
                problems += _figures_shrunk_on_a_phone(browser.new_page(viewport=PHONE), f"{served_site}/{page_path}")
        browser.close()
    assert len(pages) >= len(CHAPTERS) + 4
    assert not problems, "\n".join(problems)


PHONE = {"width": 390, "height": 844}  # CSS pixels of a common phone's screen


def _figures_shrunk_on_a_phone(page, url):
    """Figures that a phone's screen shows smaller than the desktop column does (their text below the body's):
    _theme/collapsebook.css keeps them at their drawn size, in a cell that scrolls sideways."""
    page.goto(url, wait_until="load")
    sizes = page.evaluate("Array.from(document.querySelectorAll('.cell_output img'))"
                          ".map(i => [i.getBoundingClientRect().width, i.naturalWidth, i.src.slice(-40)])")
    page.close()
    return [f"{url} at {PHONE['width']} px: figure {src} shown {shown:.0f} px wide, drawn {natural} px"
            for shown, natural, src in sizes if shown < min(natural, plotting.COLUMN_PX) - 1]


def _problems_of_page(page, url, origin):
    failed_local = []
    page.on("requestfailed", lambda r: r.url.startswith(origin) and failed_local.append(r.url))
    page.on("response", lambda r: r.url.startswith(origin) and r.status >= 400 and failed_local.append(r.url))
    response = page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")  # index.html redirects to the introduction
    problems = [] if response and response.ok else [f"{url}: HTTP {response.status if response else 'none'}"]
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                           ".map(i => i.src.slice(0, 80))")
    problems += [f"{url}: image did not load: {src}" for src in broken]
    problems += [f"{url}: local resource failed: {u}" for u in failed_local]
    if "/notebooks/" in url:  # the chapters' figures are sized for this body text and column (desktop)
        body, column = page.evaluate("() => { const p = document.querySelector('article p');"
                                     " return [parseFloat(getComputedStyle(p).fontSize), p.clientWidth]; }")
        if body > plotting.BODY_PX or column < plotting.COLUMN_PX:
            problems.append(f"{url}: body text {body} px in a {column} px column, not plotting's")
    if page.query_selector(".math") and not page.query_selector("mjx-container"):
        problems.append(f"{url}: its equations did not render (MathJax)")
    text = page.inner_text("body")
    if "Traceback (most recent call last)" in text or page.query_selector(".output.traceback, .output.error"):
        problems.append(f"{url}: shows a Python traceback")
    page.close()
    return problems


# ---- each fact once: the runtimes that book/running.md quotes are the chapters' own ------------------------

DURATION = re.compile(r"(\d+(?:\.\d+)?(?:\s*[–-]\s*\d+(?:\.\d+)?)?)\s*(s|min|h)\b")


def durations(text):
    """The durations a table cell states, in order, e.g. ``["55–110 s", "40–50 s"]``."""
    return [re.sub(r"\s*[–-]\s*", "–", number) + f" {unit}" for number, unit in DURATION.findall(text)]


def tables(text):
    """Every Markdown table in ``text`` as a list of rows, each a list of stripped cells (no separator rows)."""
    found, rows = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not re.fullmatch(r"[|\s:-]+", line):
                rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            found, rows = found + [rows], []
    return found


def chapter_runtimes(chapter):
    """``{scale: runtime cell}`` from the chapter's runtime table: its header starts with "scale" and has a
    runtime column."""
    for header, *rows in tables(chapter.read_text()):
        column = next((i for i, cell in enumerate(header) if "runtime" in cell), None)
        if header[0] == "scale" and column is not None:
            return {scale.group(1): cells[column] for cells in rows if (scale := re.fullmatch(r"`(\w+)`.*", cells[0]))}
    return {}


def running_page_runtimes():
    """``{chapter number: {scale: cell}}`` from book/running.md's table of runtimes: columns chapter, ci, book."""
    for header, *rows in tables((ROOT / "book" / "running.md").read_text()):
        if header[0] == "chapter" and set(header[1:]) <= {"ci", "book", "paper"}:
            return {int(number.group(1)): dict(zip(header[1:], cells[1:]))
                    for cells in rows if (number := re.match(r"(\d+)\.", cells[0]))}
    return {}


def test_running_page_lists_every_chapter():
    assert sorted(running_page_runtimes()) == [int(c.stem[:2]) for c in CHAPTERS]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_running_page_quotes_the_chapters_own_runtimes(chapter):
    """Each runtime in book/running.md is one the chapter's own table states, and both lead with the same one."""
    quoted = running_page_runtimes().get(int(chapter.stem[:2]), {})
    own = chapter_runtimes(chapter)
    assert {"ci", "book"} <= own.keys(), f"{chapter.name} has no runtime table with ci and book rows"
    for scale, cell in quoted.items():
        theirs, ours = durations(cell), durations(own.get(scale, ""))
        assert theirs and ours, f"{chapter.name} {scale}: no runtime in {cell!r} or {own.get(scale)!r}"
        assert theirs[0] == ours[0] and set(theirs) <= set(ours), (
            f"{chapter.name} at {scale}: running.md says {cell!r}, the chapter {own.get(scale)!r}")


def test_durations_are_read_as_written():
    assert durations("55–110 s (40–50 s of CPU)") == ["55–110 s", "40–50 s"]
    assert durations("about 1.5 - 2.5 min, then 2 h; 60 % of a core") == ["1.5–2.5 min", "2 h"]
    assert durations("hours (CLI)") == []


CODE_BOX = 79  # characters a code cell shows in the page's column without scrolling


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_code_box(chapter):
    """Every code line, the shared install cell's too, fits the code box: no horizontal scrolling."""
    long = [line for cell in jupytext.read(chapter).cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > CODE_BOX]
    assert not long, f"{len(long)} code lines longer than {CODE_BOX} characters, e.g. {long[0]!r}"


def test_install_cell_fits_the_code_box():
    """The install cell every chapter carries (checked here too while a chapter's other cells are unwrapped)."""
    long = [line for line in set_repository.install_cell(*set_repository.repository()).splitlines()
            if len(line) > CODE_BOX]
    assert not long, f"install cell lines longer than {CODE_BOX} characters: {long}"


@pytest.mark.parametrize("on_colab", [True, False], ids=["colab", "elsewhere"])
def test_install_cell_installs_from_the_repository_on_colab_only(on_colab, monkeypatch):
    """The cell as IPython runs it, %pip recorded: on Colab one install of the repository's branch, else none."""
    from IPython import get_ipython
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    config = Config()
    config.HistoryManager.enabled = False
    # a shell of its own, not IPython's global instance, so that later tests still see no IPython
    shell, pip_lines = InteractiveShell(config=config), []
    shell.register_magic_function(pip_lines.append, "line", "pip")
    url, branch = set_repository.repository()
    result = shell.run_cell(set_repository.install_cell(url, branch))
    assert result.success, result.error_in_exec or result.error_before_exec
    assert pip_lines == ([f'install --quiet "collapsebook @ git+{url}@{branch}"'] if on_colab else [])
    assert get_ipython() is None
