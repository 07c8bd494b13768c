"""Live latency: from a line written to a log file to the line being queryable in the store.

The generator (`tracemail_tui.gen.live.run_live`) appends realistic provider traffic at a
fixed rate in a subprocess and records, for every write, the file, its end offset and the
wall-clock time. In this process `Ingestor.follow` tails the directory (watchfiles,
100 ms debounce), splits headers, runs the engine and adds the rows to the store's hot
layer; each handled batch records (file, end offset, time). A write's delay is the time
until the first handled batch of its file reaching its end offset: it is then returned
by `store.scan(...)`. Commits to Parquet happen every 5 s in the background of the run.

    python bench/live.py                       # 1k, 10k, 50k lines/s, 15 s each
    python bench/live.py --rates 10000 --seconds 10 --no-write

Writes the `## Live tailing` section of BENCHMARKS.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmd import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracemail_tui.store import ingest as ingest_mod  # noqa: E402
from tracemail_tui.store.ingest import Ingestor  # noqa: E402
from tracemail_tui.store.partitions import ParquetStore  # noqa: E402

TITLE = "## Live tailing"

WRITER = r"""
import json, sys, time
from tracemail_tui.gen import live
from tracemail_tui.gen.sink import Sink

outdir, rate, secs, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rec = []
orig = Sink._write

def _write(self, fid):
    had = bool(self.buffers[fid])
    orig(self, fid)
    if had:
        rec.append((str(self.paths[fid].resolve()), self.handles[fid].tell(), time.time()))

Sink._write = _write
n = live.run_live(outdir, rate=rate, duration=secs, seed=7)
with open(out, "w") as f:
    json.dump({"lines": n, "writes": rec}, f)
"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else float("nan")


def run_rate(rate: int, seconds: float, workdir: Path) -> dict[str, float]:
    logs, store_dir = workdir / f"logs-{rate}", workdir / f"store-{rate}"
    logs.mkdir()
    store = ParquetStore(store_dir, flush_interval=5.0)
    ing = Ingestor(store, [logs], include=("*",))
    seen: dict[str, list[tuple[int, float]]] = {}

    def on_batch(b: ingest_mod.Batch) -> None:
        seen.setdefault(b.path, []).append((b.end, time.time()))

    stop = threading.Event()
    th = threading.Thread(target=ing.follow, args=(stop,), kwargs={"on_batch": on_batch})
    th.start()
    time.sleep(0.5)  # the watch is armed
    out = workdir / f"writes-{rate}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", WRITER, str(logs), str(rate), str(seconds), str(out)],
        check=True,
        env=env,
    )
    w = json.loads(out.read_text())
    last: dict[str, int] = {}
    for path, end, _t in w["writes"]:
        last[path] = max(last.get(path, 0), end)
    deadline = time.monotonic() + 60  # let the backlog through (a slow run shows as delay)
    while time.monotonic() < deadline and any(
        not seen.get(p) or seen[p][-1][0] < end for p, end in last.items()
    ):
        time.sleep(0.1)
    stop.set()
    th.join()
    store.close()
    delays, missing = [], 0
    for path, end, t_w in w["writes"]:
        got = seen.get(path, [])
        i = bisect.bisect_left(got, (end, 0.0))
        if i == len(got):
            missing += 1
            continue
        delays.append(got[i][1] - t_w)
    return {
        "rate": rate,
        "lines": w["lines"],
        "achieved": w["lines"] / seconds,
        "writes": len(w["writes"]),
        "missing": missing,
        "p50": pct(delays, 50),
        "p99": pct(delays, 99),
        "max": max(delays) if delays else float("nan"),
        "stored": ing.stats.lines,
        "commits": ing.stats.commits,
    }


def section(results: list[dict[str, float]], seconds: float) -> str:
    engine = ingest_mod.default_engine()
    load = os.getloadavg()[0]
    rows = "\n".join(
        f"| {r['rate']:,} | {r['achieved']:,.0f} | {r['lines']:,} | {r['p50'] * 1000:.0f} ms "
        f"| {r['p99'] * 1000:.0f} ms | {r['max'] * 1000:.0f} ms | {r['missing']} | {r['commits']} |"
        for r in results
    )
    return f"""{TITLE}

`python bench/live.py` — generator appending live traffic (`gen.live.run_live`, whole lines
flushed every 100 ms) in a subprocess for {seconds:.0f} s per rate; `Ingestor.follow` tails the
directory (watchfiles, debounce 100 ms), header split, engine `{type(engine).__name__}`, rows
and raw lines into the store's hot layer (queryable), Parquet commits every 5 s.
Delay = wall clock from the write to the handled batch covering it. Machine: {platform.machine()},
{os.cpu_count()} cores shared with other jobs (load average {load:.1f} at the end),
Python {platform.python_version()}.

| target lines/s | achieved | lines | p50 delay | p99 delay | max | unseen after 60 s | commits |
|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Target: p99 ≤ 1 s at 10k lines/s.
"""




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="1000,10000,50000")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    a = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="tracemail-live-") as tmp:
        for rate in (int(x) for x in a.rates.split(",")):
            r = run_rate(rate, a.seconds, Path(tmp))
            print(json.dumps(r), flush=True)
            results.append(r)
    text = section(results, a.seconds)
    print(text)
    if not a.no_write:
        write_section(a.output, TITLE, text)


if __name__ == "__main__":
    main()
