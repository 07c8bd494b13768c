#!/usr/bin/env python3
"""Where the engine's time goes: CPU seconds per stage on a generated log set.

Wraps the stage functions (read/decode, header split, each parser, correlation, pruning)
with CPU-time counters (process time: all threads, so a shared machine's load matters
less than for wall-clock figures) and runs `engine.run` once. Writes the
`<!-- bench:engine -->` section of BENCHMARKS.md.

    python bench/engine_profile.py /tmp/tracemail-bench/seed42-1000000-4956dfcb
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmd import write_marked

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracemail_tui.store import concurrent, engine, sources  # noqa: E402
from tracemail_tui.store.correlate import access, mail  # noqa: E402
from tracemail_tui.store.parse import clamav, dovecot, postfix, rspamd  # noqa: E402

CPU: collections.Counter[str] = collections.Counter()


def wrap(owner: Any, name: str, label: str) -> None:
    """Count the CPU time of `owner.name` under `label`."""
    fn: Callable[..., Any] = getattr(owner, name)

    def timed(*a: Any, **k: Any) -> Any:
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            CPU[label] += time.process_time() - t

    setattr(owner, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path, help="log directory (e.g. from bench/ingest.py)")
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--views", nargs="+", choices=("accesses", "received", "sent", "mailbox"),
                    help="profile a view-aware run (as `tracemail search VIEW` does)")
    args = ap.parse_args()
    if not args.path.exists():
        print(f"engine_profile.py: error: no such path: {args.path}", file=sys.stderr)
        sys.exit(2)
    # A plain run first, threads on, as `tracemail search` runs: its wall time is the figure.
    load0 = os.getloadavg()[0]
    t0, w0 = time.process_time(), time.perf_counter()
    engine.run([args.path], views=args.views)
    cpu_threaded, wall_threaded = time.process_time() - t0, time.perf_counter() - w0
    # Then stage by stage with threads off, so that each CPU second has one owner.
    os.environ["TRACEMAIL_THREADS"] = "1"
    assert concurrent.serial()
    wrap(sources, "_decode", "read + decode (pl.read_lines)")
    wrap(sources, "split_lines", "header split")
    wrap(postfix, "parse", "postfix parser")
    wrap(rspamd, "parse", "rspamd parser")
    wrap(clamav, "parse", "clamav parser")
    wrap(dovecot, "parse", "dovecot parser (sessions asked for)")
    wrap(dovecot, "split", "dovecot head split (inside the dovecot parser too)")
    wrap(access.AccessCorrelator, "feed", "access correlator")
    wrap(mail, "correlate", "mail correlation")
    wrap(engine.SmtpAuthCorrelator, "feed", "smtp auth correlator")
    wrap(engine.Engine, "_prune", "state pruning")
    wrap(engine.Engine, "parse", "Engine.parse: every parser (phase 1)")
    wrap(engine.Engine, "absorb", "Engine.absorb: correlation + pruning (phase 2)")
    t0, w0 = time.process_time(), time.perf_counter()
    res = engine.run([args.path], views=args.views)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    n = res.stats.lines
    rows = [f"| {k} | {v:.2f} | {100 * v / cpu:.0f}% |" for k, v in CPU.most_common()]
    body = "\n".join([
        "<!-- bench:engine -->",
        "## Engine stages (`bench/engine_profile.py`)",
        "",
        f"{n:,} generated lines (`{args.path.name}`), CPython {platform.python_version()}, "
        f"in-process `engine.run` on a shared 2-core machine (1-min load average "
        f"{load0:.1f} at start, {os.getloadavg()[0]:.1f} at end)"
        + (f", `views={set(args.views)}`" if args.views else "")
        + ". Views: "
        + ", ".join(f"{v} {res[v].height:,}" for v in ("received", "sent", "accesses"))
        + ".",
        "",
        f"As `tracemail search` runs (threads on): {wall_threaded:.1f} s wall, "
        f"{cpu_threaded:.1f} s CPU ({n / wall_threaded:,.0f} lines/s). Stage by stage with "
        f"`TRACEMAIL_THREADS=1` (every CPU second has one owner): {wall:.1f} s wall, "
        f"{cpu:.1f} s CPU ({n / cpu:,.0f} lines per CPU-second). Nested stages are counted "
        "in their phase too.",
        "",
        "| stage (threads off) | CPU s | share |",
        "|---|---:|---:|",
        *rows,
        "<!-- /bench:engine -->",
    ])
    print(body)
    if not args.no_write:
        write_marked(args.output, "<!-- bench:engine -->", "<!-- /bench:engine -->", body)


if __name__ == "__main__":
    main()
