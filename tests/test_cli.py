"""The command line's results folders: claimed for their settings before anything is written, one writer."""

import importlib

import pytest

from collapsebook import cli, store


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
