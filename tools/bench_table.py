"""Write the benchmark table of ``book/running.md`` from the records ``make bench`` leaves in a folder.

    python tools/bench_table.py RECORD_FOLDER book/running.md

Each ``<benchmark>.json`` (written by ``benchmarks/_harness.py``) gives rows of a median and a min-max spread,
with the threads and the machine's load average; the table replaces what lies between the two marker lines of
the page, and nothing else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

START = "<!-- bench-table: start (written by make bench, tools/bench_table.py) -->"
END = "<!-- bench-table: end -->"


def _number(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def table(records: list[dict]) -> str:
    """A Markdown table: one row per measure of every record, in the order of ``records``."""
    lines = ["| benchmark | measure | median | min–max (spread) | repeats | threads | load before → after |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for rec in records:
        load = f"{rec['load_before']:.2f} → {rec['load_after']:.2f} ({rec['cores']} cores)"
        for row in rec["rows"]:
            spread = (row["high"] - row["low"]) / row["median"] if row["median"] else float("nan")
            lines.append(f"| {rec['benchmark']} | {row['measure']} | {_number(row['median'])} {row['unit']} | "
                         f"{_number(row['low'])}–{_number(row['high'])} ({spread:.0%}) | {row['repeats']} | "
                         f"{rec['threads']} | {load} |")
    finished = sorted(rec["finished"] for rec in records)
    when = f"Measured {finished[0]} to {finished[-1]}." if finished else "No benchmark recorded."
    return "\n".join(lines + ["", when])


def read_records(folder) -> list[dict]:
    """Every ``*.json`` record in ``folder``, sorted by benchmark name."""
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between :data:`START` and :data:`END` replaced by ``block``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"the page must hold the line {START!r} once, followed by {END!r} once")
    before, rest = text.split(START)
    _, after = rest.split(END)
    return f"{before}{START}\n{block}\n{END}{after}"


def main(folder, page) -> None:
    page = Path(page)
    page.write_text(replace_block(page.read_text(), table(read_records(folder))))
    print(f"benchmark table written to {page}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
