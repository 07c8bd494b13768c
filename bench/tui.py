"""TUI benchmark: 1M rows per view in memory, driven headless with Pilot at 80x24.

Measures time to first screen (app start → newest rows on screen), filter keystroke →
table updated (p50/p99 over ~30 keystrokes, typing debounce excluded: add 250 ms for
what a typist sees), and memory. Writes the `## TUI` section of BENCHMARKS.md.

    python bench/tui.py [--rows 1000000] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.widgets import Input

from tests.tui.data import big_store, frozen_now
from tracemail_tui.app import TracemailApp
from tracemail_tui.widgets import view_pane
from tracemail_tui.widgets.results_table import ResultsTable
from tracemail_tui.widgets.view_pane import ViewPane

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Current resident memory (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def until_updated(pane: ViewPane, pilot) -> None:  # type: ignore[no-untyped-def]
    """Wait until the pane shows a table for its current filters."""
    while True:
        await pilot.pause(0.02)  # the latency is timed inside the pane, not here
        r = pane.result
        tables = pane.query(ResultsTable)
        if r is not None and r.filters == pane.filters and not pane.busy and tables:
            if tables.first().backend.data is r.table or tables.first().row_count == r.shown:
                return


async def run(rows: int) -> dict[str, float]:
    t0 = time.perf_counter()
    src = big_store(rows)
    build_s = time.perf_counter() - t0
    mem_data = rss_mb()
    view_pane.DEBOUNCE_S = 0.001  # measure the query + table swap, not the typing pause
    app = TracemailApp(src, view="received", now=frozen_now)
    out: dict[str, float] = {"rows": rows, "build_s": build_s, "mem_data_mb": mem_data}
    t_start = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = None
        while pane is None or pane.result is None or not pane.query(ResultsTable):
            await pilot.pause(0.005)
            panes = app.screen.query("#pane-received")
            pane = panes.first() if panes else None
        await until_updated(pane, pilot)
        out["first_screen_s"] = time.perf_counter() - t_start
        out["shown"] = pane.result.shown  # type: ignore[union-attr]
        out["total"] = pane.result.total  # type: ignore[union-attr]
        for field, word in (("#f-text", "mario"), ("#f-domain", "example.com")):
            samples = []
            worker = []
            box = pane.query_one(field, Input)
            box.focus()
            keys = list(word) + ["backspace"] * len(word)
            keys = (keys * 3)[:30]
            for key in keys:
                await pilot.press(key)
                await until_updated(pane, pilot)
                samples.append(pane.last_update_s)
                worker.append(pane.result.elapsed)  # type: ignore[union-attr]
            samples.sort()
            name = field.removeprefix("#f-")
            out[f"{name}_p50_ms"] = statistics.median(samples) * 1000
            out[f"{name}_p99_ms"] = samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000
            out[f"{name}_n"] = len(samples)
            out[f"{name}_worker_p50_ms"] = statistics.median(worker) * 1000
            box.value = ""
            await until_updated(pane, pilot)
        out["mem_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def section(r: dict[str, float]) -> str:
    n = f"{int(r['rows']):,}"
    rows = [
        (f"build of the 3 × {n} synthetic rows (not the app)", f"{r['build_s']:.2f} s", "–"),
        (
            "time to first screen (app start → newest rows shown, counts, bars)",
            f"{r['first_screen_s']:.2f} s",
            "≤ 2 s",
        ),
        (
            "rows in the table / matching",
            f"{int(r['shown']):,} / {int(r['total']):,} (cap 200k, \"showing N of M\")",
            "–",
        ),
        (
            f"free-text keystroke → table updated, p50 / p99 ({int(r['text_n'])} keys)",
            f"{r['text_p50_ms']:.0f} ms / {r['text_p99_ms']:.0f} ms "
            f"(query in the worker: p50 {r['text_worker_p50_ms']:.0f} ms)",
            "p50 ≤ 150 ms",
        ),
        (
            f"domain keystroke → table updated, p50 / p99 ({int(r['domain_n'])} keys)",
            f"{r['domain_p50_ms']:.0f} ms / {r['domain_p99_ms']:.0f} ms "
            f"(query in the worker: p50 {r['domain_worker_p50_ms']:.0f} ms)",
            "p50 ≤ 150 ms",
        ),
        (
            "memory: data loaded / peak with the app",
            f"{r['mem_data_mb']:.0f} MB / {r['mem_peak_mb']:.0f} MB",
            "–",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return f"""## TUI

`python bench/tui.py` — {n} rows per view in memory (`MemoryStore`, synthetic, one day),
app driven headless by Pilot at 80x24, Received view. Machine: {platform.machine()}, 2 cores
shared with other jobs (figures are noisy), Python {platform.python_version()}. Keystroke
figures are filter change → new table mounted, typing debounce (250 ms) excluded: it is added
on purpose so a typist does not trigger a query per letter.

| measure | result | target |
|---|---|---|
{table}

Why it is fast: one filter pass per keystroke over only the shown columns (counts, hourly
bars and the table all come from it), no sort when rows arrive in time order, column widths
computed in the worker, and a fresh textual-fastdatatable (Arrow backend)
mounted per result whose cells are formatted only when drawn (the UI thread never formats
or measures 200k rows). The free-text filter is the slow case: the first keystroke builds a
per-view "haystack" (the six text columns lower-cased and joined by NUL, rebuilt when the
data changes), after which each keystroke is one literal substring search over one column
instead of `query.filter_expr`'s lower-casing of six columns per row (~8x faster at 1M
rows, same rows: a test checks it). Load average when measured: {r['load']:.1f} on 2 cores;
under a load of ~9 the text keystroke p50 was ~210-330 ms (the domain one stays < 80 ms).
"""


DEMO_CHILD = """
import asyncio, sys, time
sys.path.insert(0, {root!r})
from tracemail_tui import launch
from tracemail_tui.app import TracemailApp
from tracemail_tui.widgets.results_table import ResultsTable

async def main():
    session = launch.open_demo()
    app = TracemailApp(session.source, status=session.status)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            while True:
                await pilot.pause(0.01)
                panes = app.screen.query("#pane-received")
                p = panes.first() if panes else None
                r = p.result if p is not None else None
                if r is not None and r.total and p.query(ResultsTable):
                    print(time.time(), r.total, flush=True)
                    return
    finally:
        session.close()

asyncio.run(main())
"""


def demo_start() -> tuple[float, int]:
    """`tracemail demo` in a fresh interpreter: process start → first rows in the table.

    Includes imports, the copy of the demo logs, the backfill in the ingest thread and
    the app's first query; a fresh process so nothing is imported or cached already.
    """
    import subprocess

    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", DEMO_CHILD.format(root=str(ROOT))],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout.split()
    return float(out[0]) - t0, int(out[1])


def write_demo_row(seconds: float, rows: int) -> str:
    """Put the "demo start" row into the `## TUI` table (the rest of the section stays)."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text()
    row = (
        f"| demo start (`tracemail demo` in a fresh process → first rows shown, Parquet store fed "
        f"by the ingest thread; `bench/tui.py --demo`, load {os.getloadavg()[0]:.1f}) "
        f"| {seconds:.2f} s ({rows:,} received rows) | < 2 s |"
    )
    lines = text.splitlines()
    start = lines.index("## TUI")
    lines = [ln for ln in lines if not ln.startswith("| demo start")]
    for i in range(start, len(lines)):
        if lines[i].startswith("| time to first screen"):
            lines.insert(i + 1, row)
            break
    path.write_text("\n".join(lines) + "\n")
    return row


def write(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    # The demo row is measured separately (`--demo`): keep it across full runs.
    demo = [ln for ln in old.splitlines() if ln.startswith("| demo start")]
    if demo:
        first = next(ln for ln in text.splitlines() if ln.startswith("| time to first screen"))
        text = text.replace(first, first + "\n" + demo[0], 1)
    pattern = re.compile(r"^## TUI\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(text + "\n", old) if pattern.search(old) else old.rstrip() + "\n\n" + text
    path.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--demo", action="store_true", help="only time the demo start (best of 3)")
    args = ap.parse_args()
    if args.demo:
        best = min(demo_start() for _ in range(3))
        print(f"demo start: {best[0]:.2f} s ({best[1]} received rows)")
        if not args.no_write:
            print(write_demo_row(*best))
        return
    r = asyncio.run(run(args.rows))
    r["load"] = os.getloadavg()[0]
    text = section(r)
    print(text)
    if not args.no_write:
        write(text)


if __name__ == "__main__":
    main()
