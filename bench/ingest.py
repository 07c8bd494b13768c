#!/usr/bin/env python3
"""Ingest benchmark: `tracemail search` end to end on 1M and 5M generated lines.

Generates mixed provider logs with `tracemail_tui.gen` (cached under
`$TMPDIR/tracemail-bench/seed<S>-<N>/`), then times whole processes (start-up included)
and their peak RSS, `--repeat` times each, and reports medians next to two yardsticks on
the same files: `cat` (raw read speed) and `lnav -n` (a C++ log viewer indexing every
line: `;SELECT count(*) FROM all_logs`). Results go to the `## Ingest` section of
BENCHMARKS.md (other sections are kept).

    python bench/ingest.py --quick          # 200k lines, a quick look
    python bench/ingest.py                  # 1M and 5M lines (run it once or twice, not in loops)

Exit status 2 (and one line on stderr) if `tracemail search` is not available yet.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmd import write_section

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT  # checkout whose `tracemail` is measured (--checkout)
CACHE = Path(tempfile.gettempdir()) / "tracemail-bench"
VIEWS = ("received", "accesses", "sent")
LNAV_SQL = ";SELECT count(*) AS n FROM all_logs"


def die(msg: str) -> None:
    """One line on stderr, exit 2."""
    print(f"bench/ingest.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


@dataclass
class Dataset:
    """A generated log set on disk."""

    path: Path
    lines: int
    size: int  # bytes
    files: list[Path]
    gen_seconds: float | None  # None when reused from the cache


@dataclass
class Result:
    """Medians of one command on one dataset."""

    tool: str
    seconds: float
    rss_mb: float
    runs: int
    ok: bool
    note: str = ""


def dataset(lines: int, seed: int, any_tag: bool = False) -> Dataset:
    """Generate (or reuse) the log set of `lines` lines for `seed`.

    `any_tag`: reuse the newest cached set of this seed and size even if the generator
    changed since (its directory name, with the tag, is printed in the section).
    """
    sys.path.insert(0, str(ROOT))
    from tracemail_tui.gen import generate

    # The generator's source is part of the key: a changed generator means new data.
    src = b"".join(p.read_bytes() for p in sorted((ROOT / "tracemail_tui" / "gen").glob("*.py")))
    tag = hashlib.sha256(src).hexdigest()[:8]
    path = CACHE / f"seed{seed}-{lines}-{tag}"
    meta = CACHE / f"seed{seed}-{lines}-{tag}.json"  # beside, not inside: the engine reads the dir
    gen_seconds = None
    if any_tag and not meta.exists():
        cached = sorted(CACHE.glob(f"seed{seed}-{lines}-*.json"), key=lambda p: p.stat().st_mtime)
        if cached and cached[-1].with_suffix("").is_dir():
            meta, path = cached[-1], cached[-1].with_suffix("")
    if not (meta.exists() and path.is_dir()):
        shutil.rmtree(path, ignore_errors=True)
        print(f"generating {lines:,} lines into {path} ...", flush=True)
        stats = generate(path, seed=seed, lines=lines, days=max(1.0, lines / 400_000))
        gen_seconds = stats.seconds
        meta.write_text(json.dumps({"lines": stats.lines, "gen_seconds": stats.seconds}))
    info = json.loads(meta.read_text())
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return Dataset(path, info["lines"], sum(p.stat().st_size for p in files), files, gen_seconds)


def run_once(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MB), exit status and stderr tail of one process.

    Peak RSS comes from GNU time (`/usr/bin/time`, Debian package `time`): it forks from a
    tiny process, so the figure is the command's own. Without it, `wait4` rusage is used,
    which can include the pages of this (forking) Python before exec.
    """
    gnu_time = shutil.which("time", path="/usr/bin")
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as tf:
        full = [gnu_time, "-f", "%M", "-o", tf.name, *cmd] if gnu_time else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            full,
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=ENGINE,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
        kib = usage.ru_maxrss
        if gnu_time:
            nums = re.findall(r"^\d+$", tf.read(), flags=re.M)
            kib = int(nums[-1]) if nums else kib
    return wall, kib / 1024, proc.returncode, tail[0]


def measure(tool: str, cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> Result:
    """Run `cmd` `repeat` times; medians of wall time and peak RSS."""
    walls, rsss = [], []
    for i in range(repeat):
        wall, rss, rc, tail = run_once(cmd, env)
        print(f"  {tool:<28} run {i + 1}/{repeat}: {wall:7.2f} s {rss:8.1f} MB rc={rc}", flush=True)
        if rc != 0:
            return Result(tool, wall, rss, i + 1, False, f"exit {rc}: {tail[:120]}")
        walls.append(wall)
        rsss.append(rss)
    return Result(tool, statistics.median(walls), statistics.median(rsss), repeat, True)


def tracemail() -> list[str]:
    """The CLI as a fresh process, from this checkout."""
    return [sys.executable, "-m", "tracemail_tui"]  # run with cwd/PYTHONPATH = ENGINE


def env_with_root() -> dict[str, str]:
    """Environment that makes this checkout importable without installing it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ENGINE) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def require_search() -> None:
    """Stop with a clear message unless `tracemail search` exists."""
    proc = subprocess.run(
        [*tracemail(), "search", "--help"],
        capture_output=True,
        text=True,
        cwd=ENGINE,
        env=env_with_root(),
    )
    if proc.returncode != 0 or "No such command" in proc.stdout + proc.stderr:
        die("`tracemail search` is not available in this checkout (engine not merged yet?)")


def bench_dataset(ds: Dataset, repeat: int, yardsticks: bool, engine: bool = True) -> list[Result]:
    """All commands on one dataset."""
    out: list[Result] = []
    env = env_with_root()
    if yardsticks:
        out.append(measure("cat", ["cat", *map(str, ds.files)], repeat))
        if shutil.which("lnav"):
            with tempfile.TemporaryDirectory() as home:  # no saved lnav state between runs
                lenv = dict(os.environ, HOME=home)
                out.append(
                    measure(
                        "lnav -n (count all_logs)",
                        ["lnav", "-n", "-c", LNAV_SQL, "-r", str(ds.path)],
                        repeat,
                        lenv,
                    )
                )
        else:
            print("  lnav not installed (apt-get install lnav): skipped", flush=True)
    for view in VIEWS if engine else ():
        cmd = [*tracemail(), "search", view, str(ds.path), "--format", "jsonl", "-o", "/dev/null"]
        out.append(measure(f"tracemail search {view}", cmd, repeat, env))
    return out


def machine() -> str:
    """CPU, cores, Python: enough to compare runs."""
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores (shared), Python {platform.python_version()}"


def engine_version() -> str:
    """Commit of the measured checkout (and whether it had local changes)."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(ENGINE), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"checkout `{ENGINE.name}`"
    return f"commit `{rev}`"


def section(
    results: list[tuple[Dataset, list[Result]]], repeat: int, repeat_large: int,
    load: tuple[float, float] | None = None,
) -> str:
    """The `## Ingest` section in Markdown (`load`: 1-min load average at start, at end)."""
    lines = [
        "## Ingest",
        "",
        f"`python bench/ingest.py` on {time.strftime('%Y-%m-%d')}, {engine_version()};",
        f"{machine()}.",
        f"Whole processes (interpreter start-up included), median of {repeat} runs "
        f"({repeat_large} above 1M lines); peak RSS by",
        "GNU `time`. Data: mixed logs of five hosts from `tracemail_tui.gen` (Postfix, Dovecot,",
        "Rspamd, ClamAV, Roundcube). `cat` and `lnav -n` read the same files as yardsticks.",
        "Data sets (seed-lines-generator tag): "
        + ", ".join(f"`{ds.path.name}`" for ds, _ in results) + ".",
        *([f"Machine load (1-min average): {load[0]:.1f} at start, {load[1]:.1f} at end."]
          if load else []),
        "",
        "| lines | MB | tool | median s | lines/s | MB/s | peak RSS MB |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for ds, res in results:
        mb = ds.size / 1e6
        for r in res:
            if r.ok:
                lines.append(
                    f"| {ds.lines:,} | {mb:,.0f} | {r.tool} | {r.seconds:.2f} | "
                    f"{ds.lines / r.seconds:,.0f} | {mb / r.seconds:,.1f} | {r.rss_mb:,.0f} |"
                )
            else:
                lines.append(f"| {ds.lines:,} | {mb:,.0f} | {r.tool} | failed | | | | ")
    gens = [(ds.lines, ds.gen_seconds) for ds, _ in results if ds.gen_seconds]
    if gens:
        lines.append("")
        lines.append(
            "Generating the data: "
            + ", ".join(f"{n:,} lines in {s:.1f} s ({n / s:,.0f} lines/s)" for n, s in gens)
            + "."
        )
    notes = [f"{r.tool} on {ds.lines:,}: {r.note}" for ds, res in results for r in res if not r.ok]
    if notes:
        lines += ["", "Failures: " + "; ".join(notes)]
    return "\n".join(lines) + "\n"




def main() -> None:
    """Parse options, run, report."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200k lines only")
    ap.add_argument("--sizes", default="1000000,5000000", help="comma-separated line counts")
    ap.add_argument("--repeat", type=int, default=3, help="runs per command (median reported)")
    ap.add_argument(
        "--repeat-large",
        type=int,
        default=1,
        help="runs per command for sizes above 1M (the 5M set is heavy)",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--any-tag", action="store_true",
                    help="reuse a cached data set made by an older generator (no regeneration)")
    ap.add_argument("--no-yardsticks", action="store_true", help="skip cat and lnav")
    ap.add_argument(
        "--yardsticks-only",
        action="store_true",
        help="only cat and lnav (works before the engine exists)",
    )
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    ap.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument(
        "--checkout",
        type=Path,
        default=ROOT,
        help="source tree whose tracemail is measured (default: this one)",
    )
    a = ap.parse_args()
    global ENGINE
    ENGINE = a.checkout.resolve()
    sizes = [200_000] if a.quick else [int(x) for x in a.sizes.split(",") if x.strip()]
    if a.repeat < 1 or not sizes:
        die("--repeat must be >= 1 and --sizes non-empty")
    if not a.yardsticks_only:
        require_search()
    CACHE.mkdir(parents=True, exist_ok=True)
    results = []
    load0 = os.getloadavg()[0]
    for n in sizes:
        ds = dataset(n, a.seed, a.any_tag)
        print(f"{ds.lines:,} lines, {ds.size / 1e6:,.0f} MB in {len(ds.files)} files", flush=True)
        repeat = a.repeat if n <= 1_000_000 else a.repeat_large
        results.append((ds, bench_dataset(ds, repeat, not a.no_yardsticks, not a.yardsticks_only)))
    text = section(results, a.repeat, a.repeat_large, (load0, os.getloadavg()[0]))
    print()
    print(text)
    if not a.no_write:
        write_section(a.output, "## Ingest", text)
        print(f"updated {a.output}")
    if any(not r.ok for _, res in results for r in res):
        sys.exit(1)


if __name__ == "__main__":
    main()
