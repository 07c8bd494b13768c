"""Long fuzz run: ≥ 1M hostile lines through the whole pipeline (engine + CSV + JSON).

Generated logs (`tracemail_tui.gen`) are mixed with mutated copies of their own lines
(truncated, spiked with hostile text or invalid bytes, restamped in other timestamp
forms, moved to another host so queue ids repeat, duplicated out of order) and pure
hostile lines (random bytes, Rich markup, ANSI/OSC escapes, bidi overrides, CSV formulas,
NUL bytes, long and very long lines). Reports lines, exceptions (must be 0), unparsed
and ignored counts and time, and writes the "Fuzz" section of BENCHMARKS.md.

    python bench/fuzz.py [--lines 1000000] [--seed 1] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import platform
import random
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
from benchmd import write_marked

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracemail_tui.cli import output  # noqa: E402
from tracemail_tui.export.csv_export import write_csv  # noqa: E402
from tracemail_tui.export.privacy import Privacy  # noqa: E402
from tracemail_tui.export.redact import Redactor  # noqa: E402
from tracemail_tui.gen import generate  # noqa: E402
from tracemail_tui.store import engine, schema  # noqa: E402

START, END = "<!-- bench:fuzz -->", "<!-- /bench:fuzz -->"
HOSTILE = [
    "[bold red]x[/]", "[link=http://evil]y[/link]", "\x1b[31m", "\x1b]0;pwned\x07", "\x1b[2J",
    "\x9b31m", "\u202e", "\u2066", "\u200b", "\ufeff", "=cmd|' /C calc'!A0", "+1+1", "-2+3",
    "@SUM(A1)", "\t=1", "\x00", "\x07", "<script>", "=?utf-8?b?x?=", "=?a?q?x", "=?", "'",
    '"', ",", ";", "\\", "%s%n", "{0}", "ü", "中文", "🍕", "<" * 50, "[" * 50, " " * 50,
]
BAD_BYTES = [b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x80", b"\x00", b"\r", b"\x1b"]
_STAMP = re.compile(rb"^([A-Z][a-z]{2}) (\d\d) (\d\d:\d\d:\d\d) ")


def hostile(rng: random.Random) -> bytes:
    return "".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, 4))).encode()


def mutate(line: bytes, rng: random.Random) -> bytes:
    """One hostile variant of a generated line."""
    op = rng.randrange(9)
    if op == 0:
        return line[: rng.randint(0, len(line))]
    if op == 1:
        at = rng.randint(0, len(line))
        return line[:at] + hostile(rng) + line[at:]
    if op == 2:
        at = rng.randint(0, len(line))
        return line[:at] + rng.choice(BAD_BYTES) + line[at:]
    if op == 3:  # other host: the same queue ids and sessions appear twice
        return re.sub(rb"^(\S+ +\S+ \S+) (\S+) ", rb"\1 fuzz-\2 ", line, count=1)
    if op == 4:  # classic syslog day padding / RFC 3339 stamps
        m = _STAMP.match(line)
        if m:
            if rng.random() < 0.5:
                return line[:4] + b" " + line[5:6] + line[6:]
            return b"2026-11-%sT%s.5+01:00 " % (m[2], m[3]) + line[m.end():]
        return line
    if op == 5:
        words = line.split(b" ")
        words[rng.randrange(len(words))] = hostile(rng)
        return b" ".join(words)
    if op == 6:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))).replace(b"\n", b"")
    if op == 7:
        return line + hostile(rng) * rng.randint(1, 300)
    return line


def build(workdir: Path, total: int, seed: int) -> tuple[int, int]:
    """Generated logs with hostile lines spliced in; returns (lines written, hostile lines)."""
    rng = random.Random(seed)
    gen_lines = total // 2
    generate(workdir, seed=seed, lines=gen_lines, days=1.0)
    written = spiked = 0
    files = sorted(p for p in workdir.rglob("*") if p.is_file())
    generated = sum(p.read_bytes().count(b"\n") for p in files)
    mean = max(total * 1.01 - generated, 0) / max(generated, 1)  # hostile per generated line
    more = mean / (1 + mean)  # geometric number of hostile lines after each one: `mean`
    for path in files:
        lines = path.read_bytes().split(b"\n")
        out: list[bytes] = []
        for line in lines:
            if not line:
                continue
            out.append(line)
            while rng.random() < more:
                out.append(mutate(rng.choice(lines) or line, rng))
                spiked += 1
        # A few lines out of order, and a few huge ones.
        for _ in range(len(out) // 1000):
            i, j = rng.randrange(len(out)), rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
        for _ in range(2):
            out.insert(rng.randrange(len(out) + 1), out[0][:40] + hostile(rng) * 20_000)
            spiked += 1
        data = b"\n".join(line.replace(b"\n", b"") for line in out) + b"\n"
        path.write_bytes(data)
        written += sum(1 for s in data.split(b"\n") if (s[:-1] if s.endswith(b"\r") else s))
    return written, spiked


def guarded(name: str, fn: Callable[[], Any], errors: list[str]) -> Any:
    try:
        return fn()
    except Exception:  # the point of the run: count, show, continue
        errors.append(f"{name}: {traceback.format_exc(limit=3)}")
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args()
    errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "logs"
        t0 = time.perf_counter()
        written, spiked = build(work, args.lines, args.seed)
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = guarded("engine", lambda: engine.run([work]), errors)
        t_engine = time.perf_counter() - t0
        rows: dict[str, int] = {}
        t0 = time.perf_counter()
        if result is not None:
            privacy = Privacy(scope=("example.org",), redactor=Redactor(b"fuzz"))
            for view in schema.VIEWS:
                df = result.views[view]
                rows[view] = df.height
                csv_path, json_path = Path(tmp) / f"{view}.csv", Path(tmp) / f"{view}.json"
                guarded(f"csv {view}", lambda df=df, p=csv_path, v=view: write_csv(df, p, view=v),
                        errors)
                guarded(f"csv redacted {view}", lambda df=df, v=view: write_csv(
                    privacy.frame(df, v), io.BytesIO(), view=v), errors)
                with open(json_path, "w", encoding="utf-8") as fh:
                    guarded(f"json {view}", lambda df=df, fh=fh: output.write_json(df, fh), errors)
                guarded(f"json back {view}",
                        lambda p=json_path, n=df.height: _check_len(json.loads(p.read_text()), n),
                        errors)
                guarded(f"table {view}", lambda df=df, v=view: output.write_table(
                    df.head(20_000), io.StringIO(), v), errors)
        t_export = time.perf_counter() - t0
    stats = result.stats if result is not None else None
    read = stats.lines if stats else 0
    if stats and read != written:
        errors.append(f"lines: wrote {written}, engine read {read}")
    unparsed = sum(stats.unparsed.values()) if stats else 0
    ignored = sum(stats.ignored.values()) if stats else 0
    for e in errors:
        print(e, file=sys.stderr)
    section = "\n".join([
        START,
        "## Fuzz (`bench/fuzz.py`)",
        "",
        f"{platform.python_implementation()} {platform.python_version()}, polars "
        f"{pl.__version__}, {dt.date.today()}, seed {args.seed}; machine shared with other "
        "jobs, so times are indicative.",
        "",
        "| what | value |",
        "|---|---|",
        f"| lines through the pipeline | {written:,} ({spiked:,} hostile, rest generated) |",
        f"| lines counted by the engine | {read:,} |",
        f"| exceptions | **{len(errors)}** |",
        f"| unparsed / ignored lines | {unparsed:,} / {ignored:,} |",
        "| rows | " + ", ".join(f"{v} {n:,}" for v, n in rows.items()) + " |",
        f"| time: build / engine / exports (CSV, redacted CSV, JSON, table) | "
        f"{t_build:.0f} s / {t_engine:.0f} s / {t_export:.0f} s |",
        END,
    ])
    print(section)
    if not args.no_write:
        write_marked(ROOT / "BENCHMARKS.md", START, END, section)
    sys.exit(1 if errors else 0)


def _check_len(rows: list[Any], n: int) -> None:
    if len(rows) != n:
        raise AssertionError(f"JSON has {len(rows)} rows, frame {n}")


if __name__ == "__main__":
    main()
