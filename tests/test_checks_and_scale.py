import numpy as np
import pytest

from collapsebook import _checks, scale


@pytest.mark.parametrize("value", [0, -1, 2.5, "3", True, None])
def test_check_int_rejects_with_the_name(value):
    with pytest.raises(ValueError, match="n_samples"):
        _checks.check_int("n_samples", value, 1)


def test_check_int_range_message_states_the_range():
    with pytest.raises(ValueError, match=r"in \[1, 5\]"):
        _checks.check_int("k", 6, 1, 5)
    assert _checks.check_int("k", np.int64(5), 1, 5) == 5


@pytest.mark.parametrize("value", [-0.01, 1.01, float("nan"), "0.5", True])
def test_check_fraction(value):
    with pytest.raises(ValueError, match=r"original_fraction must be a number in \[0, 1\]"):
        _checks.check_fraction("original_fraction", value)


@pytest.mark.parametrize("value", [0, -1.0, float("inf"), float("nan")])
def test_check_positive(value):
    with pytest.raises(ValueError, match="sigma"):
        _checks.check_positive("sigma", value)


def test_check_probabilities():
    np.testing.assert_array_equal(_checks.check_probabilities("q", [0.25, 0.75]), [0.25, 0.75])
    for bad, message in [([0.5, 0.6], "sum to 1"), ([1.5, -0.5], ">= 0"), ([], "non-empty"), (0.3, "non-empty")]:
        with pytest.raises(ValueError, match=message):
            _checks.check_probabilities("q", bad)


def test_scale_reads_the_environment(monkeypatch):
    monkeypatch.setenv("COLLAPSEBOOK_SCALE", "paper")
    assert scale.current() == "paper"
    monkeypatch.delenv("COLLAPSEBOOK_SCALE")
    assert scale.current() == "book"
    monkeypatch.setenv("COLLAPSEBOOK_SCALE", "huge")
    with pytest.raises(ValueError, match="COLLAPSEBOOK_SCALE must be one of 'ci', 'book', 'paper'"):
        scale.current()


def test_pick_needs_every_scale():
    presets = {"ci": 1, "book": 2, "paper": 3}
    assert scale.pick(presets, "book") == 2
    with pytest.raises(ValueError, match="missing"):
        scale.pick({"ci": 1}, "ci")
    with pytest.raises(ValueError, match="scale"):
        scale.pick(presets, "gpu")


def test_is_preset_says_in_one_line_when_the_checks_are_skipped(capsys):
    presets = {"ci": {"n": 1}, "book": {"n": 2}, "paper": {"n": 3}}
    assert scale.is_preset({"n": 2}, presets) and capsys.readouterr().out == ""
    assert not scale.is_preset({"n": 4}, presets)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "skipped" in out
