"""Counters of an engine run: lines per program, parsed/ignored/unparsed, span, hosts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

SAMPLES = 3
"""Unparsed lines kept per program as samples."""



def sample_of(lines: pl.Expr) -> pl.Expr:
    """The first `SAMPLES` distinct lines of `lines` (an aggregation): only the first 50
    are looked at, so a flood of one unknown form costs no hash of all of it."""
    return lines.drop_nulls().head(50).unique(maintain_order=True).head(SAMPLES)


UNREADABLE = "(unreadable header)"
"""Program name under which lines whose prefix could not be read are counted."""


@dataclass
class LinesSummary:
    """A chunk's line count per program (None: unreadable header), span and hosts."""

    lines: int
    programs: dict[str | None, int]
    first_time: dt.datetime | None
    last_time: dt.datetime | None
    hosts: list[str]


def summarize(lines: pl.DataFrame) -> LinesSummary:
    """What `Stats` counts of a chunk, computed without touching any `Stats`."""
    times = lines.get_column("time")
    lo, hi = times.min(), times.max()
    return LinesSummary(
        lines=lines.height,
        programs=dict(lines.group_by("program").len("n").iter_rows()),
        first_time=lo if isinstance(lo, dt.datetime) else None,
        last_time=hi if isinstance(hi, dt.datetime) else None,
        hosts=[h for h in lines.get_column("host").unique().to_list() if h],
    )


@dataclass
class Stats:
    """What was read. `unparsed` counts lines no parser understood, per program;
    `ignored` counts understood lines that carry nothing the views need."""

    lines: int = 0
    programs: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    unparsed: Counter[str] = field(default_factory=Counter)
    first_time: dt.datetime | None = None
    last_time: dt.datetime | None = None
    hosts: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)
    skipped: int = 0
    """Lines a view-limited run read but did not split or parse (no asked view uses
    them; see `Needs.raw_skip`): part of `lines`, not of `programs`."""
    samples: dict[str, list[str]] = field(default_factory=dict)
    """A few unparsed lines per program (the first `SAMPLES` distinct ones): what `stats
    --samples` shows, so a new line form can be reported without grepping for it."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Stats pickled (in a live ingest's engine state) before `samples` existed.
        self.__dict__.update({"samples": {}, **state})

    def add_samples(self, frame: pl.DataFrame | dict[str, str | None]) -> None:
        """Keep up to `SAMPLES` distinct unparsed lines per program (`program`, `sample`:
        a line or a list of lines)."""
        items = frame.items() if isinstance(frame, dict) else frame.iter_rows()
        for prog, lines in items:
            kept = self.samples.setdefault(str(prog), [])
            for line in lines if isinstance(lines, list) else [lines]:
                if line is not None and len(kept) < SAMPLES and line not in kept:
                    kept.append(str(line))

    def add_skipped(self, n: int) -> None:
        self.lines += n
        self.skipped += n

    def add_summary(self, summary: LinesSummary) -> None:
        """Count a chunk's lines per program, its time span and hosts (`summarize` runs
        in the parse phase, maybe on another thread)."""
        self.lines += summary.lines
        for prog, n in summary.programs.items():
            self.programs[prog if prog is not None else UNREADABLE] += n
            if prog is None:
                self.unparsed[UNREADABLE] += n
        lo, hi = summary.first_time, summary.last_time
        if lo is not None:
            self.first_time = lo if self.first_time is None else min(self.first_time, lo)
        if hi is not None:
            self.last_time = hi if self.last_time is None else max(self.last_time, hi)
        self.hosts.update(summary.hosts)

    def add_counts(self, target: Counter[str], frame: pl.DataFrame | dict[str, int]) -> None:
        items = frame.items() if isinstance(frame, dict) else frame.iter_rows()
        for prog, n in items:
            if n:
                target[str(prog)] += int(n)

    def to_dict(self, samples: bool = False) -> dict[str, Any]:
        """Plain data for JSON output and the TUI status line (`samples`: with the
        unparsed sample lines, which are log content: only when asked)."""
        out: dict[str, Any] = {
            "lines": self.lines,
            "first_time": self.first_time.isoformat() if self.first_time else None,
            "last_time": self.last_time.isoformat() if self.last_time else None,
            "hosts": sorted(self.hosts),
            "files": list(self.files),
            "programs": dict(sorted(self.programs.items())),
            "ignored": dict(sorted(self.ignored.items())),
            "unparsed": dict(sorted(self.unparsed.items())),
        }
        if self.skipped:  # view-limited runs only (`stats` reads everything)
            out["skipped"] = self.skipped
        if samples:
            out["unparsed_samples"] = {p: list(v) for p, v in sorted(self.samples.items())
                                       if v and self.unparsed.get(p)}
        return out

    def unparsed_of(self, family: str) -> int:
        """Unparsed lines of programs starting with `family` (e.g. "postfix", "dovecot")."""
        return sum(n for p, n in self.unparsed.items() if p.startswith(family))
