"""Dovecot / access side alone: header split, Dovecot parse, access correlation, locate.

Generates a mixed log set with `tracemail_tui.gen`, takes imap1's Dovecot lines (its own
`log_path` form), and times each stage in-process (CPU time of the process, all threads,
and wall time; median of --repeat runs). Results go to the `## Dovecot parser` section of
BENCHMARKS.md (other sections are kept).

    python bench/dovecot.py [--lines 1000000] [--repeat 3] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from benchmd import write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracemail_tui.gen.batch import generate  # noqa: E402
from tracemail_tui.gen.options import GenOptions  # noqa: E402
from tracemail_tui.store.correlate.access import AccessCorrelator, latest  # noqa: E402
from tracemail_tui.store.correlate.locate import locate  # noqa: E402
from tracemail_tui.store.parse import dovecot  # noqa: E402
from tracemail_tui.store.parse.header import split_lines  # noqa: E402

SECTION = "## Dovecot parser"


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median wall s, median cpu s, result) of `repeat` runs (the machine is shared:
    a median is steadier than a best)."""
    walls, cpus, res = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        res = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), res


def run(total_lines: int, repeat: int) -> tuple[int, list[tuple[str, float, float]]]:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), GenOptions(lines=total_lines, seed=3))
        raw = (Path(tmp) / "imap1" / "dovecot.log").read_text(encoding="utf-8",
                                                              errors="replace").splitlines()
    series = pl.Series(raw)
    n = len(raw)
    rows: list[tuple[str, float, float]] = []
    w, c, lines = best(lambda: split_lines(series, host="imap1", year=2026), repeat)
    rows.append(("header split", w, c))
    w, c, ev = best(lambda: dovecot.parse(lines), repeat)
    rows.append(("dovecot.parse", w, c))
    w, c, acc = best(lambda: AccessCorrelator().feed(ev), repeat)
    rows.append(("accesses (one chunk)", w, c))

    def chunked() -> pl.DataFrame:
        corr = AccessCorrelator()
        size = 50_000
        return latest([corr.feed(dovecot.parse(lines.slice(i, size)))
                       for i in range(0, lines.height, size)])

    w, c, _ = best(chunked, repeat)
    rows.append(("parse + accesses, 50k-line chunks", w, c))
    mb = ev.mailbox
    some = mb.filter(pl.col("message_id").is_not_null()).head(200).select(
        "message_id", "user").rows()
    w, c, _ = best(lambda: [locate(mb, m, u) for m, u in some], repeat)
    rows.append((f"locate x{len(some)} (in memory)", w, c))
    assert acc.height > 0
    return n, rows


def section(n: int, rows: list[tuple[str, float, float]], repeat: int, load: str) -> str:
    out = [
        SECTION,
        "",
        f"`python bench/dovecot.py` on {time.strftime('%Y-%m-%d')}; {platform.processor() or 'cpu'}"
        f", Python {platform.python_version()}, Polars {pl.__version__}. In-process, median of "
        f"{repeat}; load average {load} at the start; {n:,} Dovecot lines (imap1's "
        "`dovecot.log` of a generated set). CPU is "
        "the process time of all threads; the machine is shared, so wall times vary.",
        "",
        "| stage | wall s | CPU s | lines/s (wall) | lines per CPU-s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, w, c in rows:
        loc = name.startswith("locate")
        rate = f"{n / w:,.0f}" if not loc else "—"
        cpu_rate = f"{n / c:,.0f}" if not loc and c else "—"
        out.append(f"| {name} | {w:.2f} | {c:.2f} | {rate} | {cpu_rate} |")
    return "\n".join(out) + "\n"




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines of the whole log set")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = ap.parse_args()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    n, rows = run(args.lines, args.repeat)
    text = section(n, rows, args.repeat, load)
    print(text)
    if not args.no_write:
        write_section(args.output, SECTION, text)


if __name__ == "__main__":
    main()
