"""Export benchmarks: CSV of 1M received rows (time, peak memory), PDF reports.

Writes the "Exports" section of BENCHMARKS.md (between its markers). Run from the repo root:
    python bench/bench_export.py [ROWS]
"""

from __future__ import annotations

import datetime as dt
import io
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from benchmd import write_marked

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from export_data import r12, r12_evidence, r12_locate, received_frame  # noqa: E402

from tracemail_tui.export.csv_export import write_csv  # noqa: E402
from tracemail_tui.export.pdf_list import write_list_pdf  # noqa: E402
from tracemail_tui.export.pdf_report import write_result_pdf  # noqa: E402
from tracemail_tui.export.redact import Redactor  # noqa: E402

START, END = "<!-- bench:export -->", "<!-- /bench:export -->"


def big_frame(rows: int) -> pl.DataFrame:
    """`rows` received rows cycling through the hand-made scenario rows, distinct ids/times."""
    base = received_frame()
    reps = -(-rows // base.height)
    df = pl.concat([base] * reps).head(rows)
    start = dt.datetime(2026, 11, 27)
    return df.with_columns(
        pl.format("r-mx01-{}", pl.int_range(pl.len())).alias("id"),
        (pl.lit(start) + pl.duration(milliseconds=pl.int_range(pl.len()) * 37)).alias("time"),
        pl.format("user{}@example.com", pl.int_range(pl.len()) % 5000).alias("recipient"),
    )


def _status_mb(field: str) -> float:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def reset_peak() -> float:
    """Reset the peak-RSS mark (Linux clear_refs) and return the current RSS in MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def peak_mb() -> float:
    return _status_mb("VmHWM")


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def csv_run(rows: int, mode: str) -> tuple[float, float, float, float]:
    """One CSV export in this process: (seconds, file MB, frame MB, peak MB above frame)."""
    df = big_frame(rows)
    kwargs = {"redact": Redactor(b"bench"), "excel": True} if mode == "redacted" else {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.csv"
        before = reset_peak()
        secs = timed(lambda: write_csv(df, out, view="received", **kwargs))
        return secs, out.stat().st_size / 2**20, df.estimated_size() / 2**20, peak_mb() - before


def csv_fresh(rows: int, mode: str) -> tuple[float, ...]:
    """`csv_run` in a fresh interpreter, so the peak-memory mark is not blurred by earlier runs."""
    proc = subprocess.run(
        [sys.executable, __file__, "--csv", mode, str(rows)], check=True, capture_output=True,
        text=True,
    )
    return tuple(float(x) for x in proc.stdout.split())


def main() -> None:
    if sys.argv[1:2] == ["--csv"]:
        print(*csv_run(int(sys.argv[3]), sys.argv[2]))
        return
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    lines = []
    secs, size_mb, frame_mb, grown = csv_fresh(rows, "plain")
    lines.append(f"| CSV, {rows:,} received rows | {secs:.1f} s | {size_mb:.0f} MB file; "
                 f"frame {frame_mb:.0f} MB, peak RSS {grown:.0f} MB above it |")
    secs, size_mb, frame_mb, grown = csv_fresh(rows, "redacted")
    lines.append(f"| CSV, {rows:,} rows, redacted + Excel | {secs:.1f} s | "
                 f"peak RSS {grown:.0f} MB above the frame |")
    df = big_frame(rows)
    secs = timed(lambda: write_result_pdf(r12(), io.BytesIO(), view="received",
                                          lines=r12_evidence(), locate=r12_locate()))
    lines.append(f"| PDF report of one result (R12, 12 lines) | {secs:.2f} s | with font loading |")
    sink = io.BytesIO()
    secs = timed(lambda: write_list_pdf(df, sink, view="received"))
    lines.append(f"| PDF summary, 2,000 of {rows:,} rows | {secs:.1f} s | "
                 f"{len(sink.getvalue()) / 2**20:.1f} MB |")

    section = "\n".join([
        START, "## Exports (`bench/bench_export.py`)", "",
        f"{platform.python_implementation()} {platform.python_version()}, polars {pl.__version__}, "
        f"{dt.date.today()}; machine shared with other jobs, so times are indicative.", "",
        "| what | time | notes |", "|---|---|---|", *lines, END,
    ])
    write_marked(ROOT / "BENCHMARKS.md", START, END, section)
    print(section)


if __name__ == "__main__":
    main()
