"""The benchmarks' shared conventions (benchmarks/_harness.py) and the table make bench writes into running.md."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _harness  # noqa: E402
import bench_table  # noqa: E402


def test_spread_is_median_min_and_max():
    spread = _harness.Spread.of([3.0, 1.0, 2.0, 10.0, 2.5])
    assert (spread.median, spread.low, spread.high, spread.repeats) == (2.5, 1.0, 10.0, 5)
    assert spread.relative == pytest.approx(9.0 / 2.5)


def test_compare_interleaves_the_calls_and_divides_reference_by_package():
    calls = []
    ours, theirs, ratio = _harness.compare(lambda: calls.append("p"), lambda: calls.append("r"), repeats=5)
    assert calls == ["p", "r"] * 6  # one warm-up pair, then alternating
    assert ours.repeats == theirs.repeats == ratio.repeats == 5


def test_record_saves_rows_with_threads_and_load(tmp_path):
    record = _harness.Record("bench_x", threads=1)
    record.add("speed-up", _harness.Spread.of([2.0, 2.2, 1.8, 2.1, 1.9]), "x")
    saved = json.loads(record.save(tmp_path).read_text())
    assert saved["benchmark"] == "bench_x" and saved["threads"] == 1
    assert saved["rows"] == [{"measure": "speed-up", "unit": "x", "median": 2.0, "low": 1.8, "high": 2.2,
                              "repeats": 5}]
    assert {"load_before", "load_after", "cores", "finished"} <= saved.keys()


def test_record_without_a_folder_writes_nothing(monkeypatch):
    monkeypatch.delenv("COLLAPSEBOOK_BENCH_RECORD", raising=False)
    assert _harness.Record("bench_x", 1).save() is None


def page(body="old table"):
    return f"# Running\n\nintro\n{bench_table.START}\n{body}\n{bench_table.END}\n\nafter\n"


def test_table_replaces_only_the_marked_block_and_is_stable(tmp_path):
    for name, median in [("bench_b", 3.5), ("bench_a", 1234.6)]:
        record = _harness.Record(name, threads=1)
        record.add("rate", _harness.Spread.of([median * 0.9, median, median * 1.1]), "tok/s")
        record.save(tmp_path / "records")
    (tmp_path / "running.md").write_text(page())
    bench_table.main(tmp_path / "records", tmp_path / "running.md")
    once = (tmp_path / "running.md").read_text()
    assert once.startswith("# Running\n\nintro\n") and once.endswith(f"{bench_table.END}\n\nafter\n")
    assert "old table" not in once
    rows = [line for line in once.splitlines() if line.startswith("| bench_")]
    assert [r.split(" | ")[0] for r in rows] == ["| bench_a", "| bench_b"]
    assert "1,235 tok/s" in rows[0] and "3.15–3.85 (20%)" in rows[1] and "| 1 |" in rows[1]
    bench_table.main(tmp_path / "records", tmp_path / "running.md")
    assert (tmp_path / "running.md").read_text() == once


@pytest.mark.parametrize("text", ["no markers", page().replace(bench_table.END, ""),
                                  page() + bench_table.START, f"{bench_table.END}\n{bench_table.START}\n"])
def test_a_page_without_exactly_one_pair_of_markers_is_refused(text):
    with pytest.raises(ValueError, match="must hold the line"):
        bench_table.replace_block(text, "table")


def test_running_page_has_the_markers():
    bench_table.replace_block((ROOT / "book" / "running.md").read_text(), "table")
