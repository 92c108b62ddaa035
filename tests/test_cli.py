"""The command line's results folders (claimed for their settings before anything is written, one writer) and
the experiments' grids (--only, --ray, one writer per cell)."""

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from collapsebook import cli, grid, loop, store


def folder_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("experiment", cli.experiment_names())
@pytest.mark.parametrize("change", [["--scale", "book"], ["--seed", "1"]], ids=["scale", "seed"])
def test_resuming_a_folder_with_other_settings_is_refused_in_one_line_and_changes_nothing(
        experiment, change, tmp_path, monkeypatch, capsys):
    module = importlib.import_module(f"collapsebook.experiments.{experiment}")
    monkeypatch.setattr(module, "main", lambda args: (args.out / "result.txt").write_text(args.scale))
    out = tmp_path / "out"
    assert cli.main(["run", experiment, "--scale", "ci", "--out", str(out), "--no-progress"]) == 0
    before = folder_bytes(out)
    if change[0] == "--seed" and experiment == "lm":
        change = ["--scale", "paper"]  # the lm experiment takes --seeds (how many), not one seed
    assert cli.main(["run", experiment, "--scale", "ci", *change, "--out", str(out), "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a run with other settings" in err
    assert folder_bytes(out) == before


def test_discrete_resumed_at_another_scale_keeps_its_results(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out), "--no-progress"]) == 0
    before = folder_bytes(out)
    assert cli.main(["run", "discrete", "--scale", "book", "--out", str(out), "--resume", "--no-progress"]) == 1
    assert "scale 'ci' (this run: 'book')" in capsys.readouterr().err
    assert folder_bytes(out) == before  # absorption.npz included


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    with store.lock(out):  # the first run, still writing
        (out / "partial-result").write_text("first")
        assert cli.main(["run", "gmm", "--scale", "ci", "--out", str(out), "--resume", "--no-progress"]) == 1
        assert "is being written by process" in capsys.readouterr().err
        assert cli.main(["run", "gmm", "--scale", "ci", "--out", str(out), "--no-progress"]) == 2
    assert (out / "partial-result").read_text() == "first"


# ---- the grid: --only, --ray, one lock per cell ----

CELLS = [{"N": 500, "run": 0}, {"N": 500, "run": 1}, {"N": 1000, "run": 0}, {"part": "x", "p": 2.0}]


@pytest.mark.parametrize("only, picked", [
    (None, [0, 1, 2, 3]), (["N=500"], [0, 1]), (["N=500", "N=1000", "run=0"], [0, 2]), (["N=1e3"], [2]),
    (["p=2"], [3]), (["part=x"], [3]), (["run=1", "N=500"], [1]),
])
def test_only_picks_the_cells_matching_every_key_given(only, picked):
    assert grid.select(CELLS, only) == [CELLS[i] for i in picked]


@pytest.mark.parametrize("only, message", [
    (["M=1"], "no cell has the key 'M'; the keys are N, p, part, run"),
    (["N=7"], "N=7: no cell has it; N is one of 500, 1000"),
    (["part=y"], "part is one of x"),
    (["N"], "KEY=VALUE pairs, got 'N'"), (["N="], "KEY=VALUE"), (["=500"], "KEY=VALUE"),
    (["part=x", "N=500"], "no cell has these values together"),
])
def test_only_refuses_what_no_cell_has(only, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        grid.select(CELLS, only)


@pytest.mark.parametrize("only", [["part=nothing"], ["seed=0"], ["part"]])
def test_bad_only_is_refused_in_one_line_before_anything_is_written(only, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out), "--only", *only]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--only" in err and not out.exists()


def test_only_runs_the_picked_cells_and_a_resume_adds_the_others(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out), "--no-progress",
                     "--only", "part=absorption"]) == 0
    assert (out / "absorption.npz").exists() and not (out / "replace").exists()
    assert capsys.readouterr().out.count("finished part=") == 1
    absorption = (out / "absorption.npz").read_bytes()
    assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out), "--no-progress", "--resume"]) == 0
    assert len(loop.History.load(out / "replace")) == 61 and (out / "absorption.npz").read_bytes() == absorption


def test_a_cell_another_process_runs_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    with store.lock(out / grid.LOCKS / "part=policies"):  # another worker, still on this cell
        assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out), "--no-progress", "--resume"]) == 1
    assert "part=policies is being written by process" in capsys.readouterr().err
    assert not (out / "replace").exists()


def test_ray_missing_is_one_line_with_the_install_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    out = tmp_path / "out"
    assert cli.main(["run", "gmm", "--scale", "ci", "--out", str(out), "--ray"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'collapsebook[cluster]'" in err and not out.exists()


def test_ray_address_parsing():
    base = ["run", "discrete", "--out", "x"]
    assert cli.parse(base).ray is None
    assert cli.parse([*base, "--ray"]).ray == "local"
    assert cli.parse([*base, "--ray", "auto"]).ray == "auto"
    assert cli.parse([*base, "--ray", "ray://head:10001", "--only", "part=policies"]).ray == "ray://head:10001"


@pytest.mark.parametrize("experiment", cli.experiment_names())
def test_every_experiment_exposes_its_grid_and_runs_it_through_grid_run(experiment, monkeypatch, tmp_path):
    module = importlib.import_module(f"collapsebook.experiments.{experiment}")
    for scale in ("ci", "book", "paper"):
        cells = module.cells(module.PRESETS[scale])
        names = [grid.cell_name(c) for c in cells]  # JSON-able values, no '/'
        assert cells and len(set(names)) == len(names) and json.loads(json.dumps(cells)) == cells
    assert callable(module.run_cell)
    called = []
    monkeypatch.setattr(grid, "run", lambda mod, args: called.append(mod))
    module.main(cli.parse(["run", experiment, "--out", str(tmp_path)]))
    assert called == [module]


def test_the_running_page_counts_the_cells_of_the_paper_grids():
    page = (Path(__file__).resolve().parents[1] / "book" / "running.md").read_text()
    section = page.split("## Many GPUs: Ray", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \|", section, flags=re.M)
    assert rows, "the Ray section lists no grid"
    for name, count in rows:
        module = importlib.import_module(f"collapsebook.experiments.{name}")
        assert len(module.cells(module.PRESETS["paper"])) == int(count), name
