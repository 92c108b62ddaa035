import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest

from collapsebook import cli, loop, plotting


def test_style_uses_the_colour_blind_safe_palette():
    plotting.use_style()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    assert colors == plotting.PALETTE


def test_style_text_is_as_large_as_the_body_text_at_the_column_width():
    plotting.use_style()
    assert plt.rcParams["font.size"] == plotting.FONT_SIZE
    assert plotting.FONT_SIZE / 72 * plt.rcParams["figure.dpi"] >= plotting.BODY_PX
    assert plotting.MAX_WIDTH * plt.rcParams["figure.dpi"] <= plotting.COLUMN_PX


@pytest.mark.parametrize("n, rows", [(1, 1), (2, 1), (3, 2), (7, 4)])
def test_panels_are_two_to_a_row_within_the_column(n, rows):
    fig, axes = plotting.panels(n, height=2.0)
    assert len(axes) == len(fig.axes) == n
    assert fig.get_figwidth() <= plotting.MAX_WIDTH and fig.get_figheight() == 2.0 * rows
    assert {ax.get_subplotspec().rowspan.start for ax in axes} == set(range(rows))
    plt.close(fig)


def test_generation_colors():
    colors = plotting.generation_colors(4)
    assert len(colors) == 4 and colors[0] != colors[-1]


def test_quantile_band_draws_the_median():
    fig, ax = plt.subplots()
    values = np.arange(12.0).reshape(4, 3)  # 4 x-points, 3 runs
    line = plotting.quantile_band(ax, np.arange(4), values)
    np.testing.assert_allclose(line.get_ydata(), [1, 4, 7, 10])
    assert len(ax.collections) == 1  # the band
    plt.close(fig)


def test_animate_returns_a_self_contained_html_player():
    fig, ax = plt.subplots()
    html = plotting.animate(fig, lambda i: ax.plot([0, i]), 3).data
    assert "<script" in html and "data:image/png;base64" in html
    assert not plt.fignum_exists(fig.number)


def test_live_frontend(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert not plotting.live_frontend()
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/user/02_gaussian.ipynb")
    assert plotting.live_frontend()


def test_cli_lists_every_experiment_and_runs_discrete(tmp_path, capsys):
    assert "discrete" in cli.experiment_names()
    out = tmp_path / "run"
    assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out), "--no-progress"]) == 0
    with np.load(out / "absorption.npz") as saved:
        assert set(saved["state_10"]) <= set(range(5))
    replace = loop.History.load(out / "replace")
    assert replace["p"].shape[0] == 61

    assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli.main(["run", "discrete", "--scale", "ci", "--out", str(out), "--resume", "--no-progress"]) == 0
    np.testing.assert_array_equal(loop.History.load(out / "replace")["p"], replace["p"])


def test_cli_rejects_an_unknown_experiment():
    with pytest.raises(SystemExit):
        cli.main(["run", "nonsense", "--out", "x"])


@pytest.mark.parametrize("experiment", ["discrete", "gaussian", "gmm"])
def test_cli_help_of_a_numpy_experiment_loads_no_torch(experiment):
    probe = (f"import sys\nfrom collapsebook import cli\ntry:\n    cli.main(['run', '{experiment}', '--help'])\n"
             "except SystemExit:\n    pass\nprint('torch' in sys.modules, 'transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--scale" in result.stdout and result.stdout.strip().endswith("False False")


def test_cli_lists_every_experiment_with_its_docstring(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    listing = " ".join(capsys.readouterr().out.split())
    for name in cli.experiment_names():
        assert f"{name} {cli.summary(name)[:30]}" in listing


def test_cli_default_scale_follows_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("COLLAPSEBOOK_SCALE", "ci")
    with pytest.raises(SystemExit):
        cli.main(["run", "discrete", "--help"])
    assert "now ci" in capsys.readouterr().out


def test_cli_prints_an_error_in_one_line_and_a_traceback_only_with_debug(tmp_path, monkeypatch, capsys):
    from collapsebook.experiments import discrete as experiment

    def failing(args):
        raise ValueError("n_chains must be at least 1, got 0")

    monkeypatch.setattr(experiment, "main", failing)
    args = ["run", "discrete", "--scale", "ci", "--out", str(tmp_path / "a"), "--no-progress"]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_chains must be at least 1" in err and "Traceback" not in err
    with pytest.raises(ValueError, match="n_chains"):
        cli.main(args + ["--resume", "--debug"])


def test_cli_refuses_an_out_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("not a folder")
    assert cli.main(["run", "gmm", "--scale", "ci", "--out", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err
