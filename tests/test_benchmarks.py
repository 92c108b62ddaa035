"""The benchmarks' shared conventions (benchmarks/_harness.py) and the table make bench writes into running.md."""

import json
import os
import subprocess
import sys
import time
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
    ours, theirs, ratio = _harness.compare(lambda: time.sleep(0.002), lambda: time.sleep(0.02), repeats=5)
    assert ratio.median > 3 and theirs.median > ours.median  # > 1: the package is faster


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


def test_gpu_lm_runs_tiny_on_a_cpu_and_labels_its_numbers_meaningless():
    """The GPU script goes through the package's own lm functions; with --tiny it says its projection and
    utilisations mean nothing, and it reports the prefill and decoding's bytes per second."""
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_lm.py"), "--tiny"], capture_output=True,
                         text=True, timeout=600, env=os.environ | {"OMP_NUM_THREADS": "1"}, check=True).stdout
    assert "lm.fine_tune:" in out and "lm.continue_blocks" in out and "prefill" in out
    for line in [line for line in out.splitlines() if "MFU" in line or "TB/s" in line or "projected" in line]:
        assert line.endswith("[MEANINGLESS: --tiny model, a check of the script only]"), line
    assert sum("MFU" in line for line in out.splitlines()) == 3  # fine-tuning, prefill, decoding


def test_decoding_must_move_every_weight_and_each_sequence_cache_once_per_step():
    import gpu_lm
    import transformers

    config = transformers.OPTConfig(num_hidden_layers=2, hidden_size=8)
    assert gpu_lm.decode_bytes_per_step(0, 1000, config, context=10) == 1000
    # 3 sequences x (keys and values) x 2 layers x 8 wide x 10 positions x 2 bytes (bf16)
    assert gpu_lm.decode_bytes_per_step(3, 1000, config, context=10) == 1000 + 3 * 2 * 2 * 8 * 10 * 2
