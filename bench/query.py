"""Query latency on a 30-day store of 1M lines/day, and store size per million lines.

Building 30 days by parsing 30M lines would take the shared machine most of an hour, so:

* one day of realistic traffic, ~1M lines, is generated (`tracemail_tui.gen`, seed 42)
  and ingested through `Ingestor` (tail -> header split -> engine -> store): this gives
  the raw-`lines` table of a real day and the backfill rate;
* the engine's view rows of that day are replicated over 29 more days (times shifted by
  whole days, ids made unique): the three views hold 30 days of 1M-lines-per-day traffic,
  committed one day at a time like a live store.

Queries go through the public API (`query.query(store, view, Filters(...)).collect()`
and `query.counts`), as the CLI and the TUI do.

    python bench/query.py                # 1M lines/day, 30 days
    python bench/query.py --lines 200000 --no-write

Writes the `## Store queries` section of BENCHMARKS.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from benchmd import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from tracemail_tui.gen import generate  # noqa: E402
from tracemail_tui.store import query, schema  # noqa: E402
from tracemail_tui.store.ingest import Ingestor, default_engine  # noqa: E402
from tracemail_tui.store.partitions import ParquetStore  # noqa: E402
from tracemail_tui.store.query import Filters  # noqa: E402

TITLE = "## Store queries"
DAYS = 30
LAST_DAY = dt.date(2026, 11, 27)


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines per day")
    ap.add_argument("--queries", type=int, default=40, help="queries per kind")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    a = ap.parse_args()
    rnd = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="tracemail-query-") as tmp:
        tmpd = Path(tmp)
        day0 = dt.datetime.combine(LAST_DAY, dt.time())
        t = time.perf_counter()
        gen = generate(tmpd / "logs", lines=a.lines, days=1, start=day0, seed=42)
        print(f"generated {gen.lines:,} lines in {time.perf_counter() - t:.1f} s", flush=True)

        store = ParquetStore(
            tmpd / "store", today=lambda: LAST_DAY, flush_interval=1e9, flush_rows=10**9
        )
        ing = Ingestor(store, [tmpd / "logs"], include=("*",), batch_bytes=32 << 20)
        t = time.perf_counter()
        ing.backfill()
        t_ingest = time.perf_counter() - t
        lines_bytes = sum(p.bytes for ps in store.manifest.parts["lines"].values() for p in ps)
        print(f"ingested {ing.stats.lines:,} lines in {t_ingest:.1f} s", flush=True)

        views = {v: store.scan(v).collect() for v in schema.VIEWS}
        per_day = {v: df.height for v, df in views.items()}
        t = time.perf_counter()
        for d in range(1, DAYS):
            shift = dt.timedelta(days=d)
            store.add(
                {
                    v: df.with_columns(
                        pl.col("time") - shift,
                        id=pl.format("{}-d{}", pl.col("id"), pl.lit(d)),
                    )
                    for v, df in views.items()
                }
            )
            store.commit()
        t_build = time.perf_counter() - t
        views_bytes = sum(
            p.bytes for v in schema.VIEWS for ps in store.manifest.parts[v].values() for p in ps
        )
        print(f"30 days of views committed in {t_build:.1f} s", flush=True)

        reader = ParquetStore(tmpd / "store", readonly=True)
        rec = views["received"].drop_nulls("domain")
        acc = views["accesses"].drop_nulls("user")
        kinds: dict[str, list[float]] = {}
        hits: dict[str, list[int]] = {}
        for _ in range(a.queries):
            day = LAST_DAY - dt.timedelta(days=rnd.randrange(DAYS))
            dom = rec["domain"][rnd.randrange(rec.height)]
            user = acc["user"][rnd.randrange(acc.height)]
            rcpt = rec["recipient"][rnd.randrange(rec.height)]
            cases = {
                "received, domain + date": ("received", Filters(domain=dom, date=day)),
                "accesses, account + date": ("accesses", Filters(account=user, date=day)),
                "received, account + date": ("received", Filters(account=rcpt, date=day)),
                "received, domain, 30 days": ("received", Filters(domain=dom)),
            }
            for name, (view, f) in cases.items():
                box: list[int] = []
                kinds.setdefault(name, []).append(
                    timed(
                        lambda v=view, f=f, box=box: box.append(
                            query.query(reader, v, f).collect().height
                        )
                    )
                )
                hits.setdefault(name, []).append(box[0])
                if name.endswith("domain + date"):
                    kinds.setdefault("counts per status, domain + date", []).append(
                        timed(lambda v=view, f=f: query.counts(reader, v, f))
                    )
        load = os.getloadavg()[0]
        lines_per_m = lines_bytes / ing.stats.lines * 1e6
        views_per_m = views_bytes / DAYS / ing.stats.lines * 1e6
        rows = "\n".join(
            f"| {name} | {pct(v, 50) * 1000:.0f} ms | {pct(v, 99) * 1000:.0f} ms "
            f"| {sorted(hits[name])[len(hits[name]) // 2] if name in hits else '-'} |"
            for name, v in kinds.items()
        )
        text = f"""{TITLE}

`python bench/query.py` — one generated day of {ing.stats.lines:,} lines (seed 42) ingested
through `Ingestor` (engine `{type(default_engine()).__name__}`): raw lines and that day's views;
the engine's view rows of that day ({per_day["received"]:,} received, {per_day["sent"]:,} sent,
{per_day["accesses"]:,} accesses) **replicated** over {DAYS} days (times shifted by whole days,
ids made unique) rather than parsing {DAYS}M lines, committed day by day.
{a.queries} random queries per kind through `query.query(...).collect()` on a read-only
store, as the CLI/TUI do. Machine: {platform.machine()}, {os.cpu_count()} cores shared with
other jobs (load average {load:.1f} at the end), Python {platform.python_version()},
Polars {pl.__version__}.

| query | p50 | p99 | median rows |
|---|---:|---:|---:|
{rows}

Target: p50 ≤ 100 ms (domain/account + date).

| store size per million lines | |
|---|---:|
| raw `lines` table (zstd Parquet) | {lines_per_m / 1e6:.1f} MB |
| the three views | {views_per_m / 1e6:.1f} MB |
| total | {(lines_per_m + views_per_m) / 1e6:.1f} MB |

Backfill through the ingest pipeline: {ing.stats.lines / t_ingest:,.0f} lines/s
({ing.stats.lines:,} lines in {t_ingest:.1f} s, header split + engine + store).
30 days of views committed in {t_build:.1f} s.
"""
        print(text)
        if not a.no_write:
            write_section(a.output, TITLE, text)




if __name__ == "__main__":
    main()
