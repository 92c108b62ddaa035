import matplotlib.pyplot as plt
import numpy as np
import pytest

from collapsebook import cli, loop, plotting


def test_style_uses_the_colour_blind_safe_palette():
    plotting.use_style()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    assert colors == plotting.PALETTE


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
