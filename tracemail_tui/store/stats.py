"""Counters of an engine run: lines per program, parsed/ignored/unparsed, span, hosts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import polars as pl

UNREADABLE = "(unreadable header)"
"""Program name under which lines whose prefix could not be read are counted."""


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

    def add_lines(self, lines: pl.DataFrame) -> None:
        """Count a chunk's lines per program, its time span and hosts."""
        self.lines += lines.height
        per = lines.group_by("program").len("n")
        for prog, n in per.iter_rows():
            self.programs[prog if prog is not None else UNREADABLE] += n
            if prog is None:
                self.unparsed[UNREADABLE] += n
        times = lines.get_column("time")
        lo, hi = times.min(), times.max()
        if isinstance(lo, dt.datetime):
            self.first_time = lo if self.first_time is None else min(self.first_time, lo)
        if isinstance(hi, dt.datetime):
            self.last_time = hi if self.last_time is None else max(self.last_time, hi)
        self.hosts.update(h for h in lines.get_column("host").unique().to_list() if h)

    def add_counts(self, target: Counter[str], frame: pl.DataFrame | dict[str, int]) -> None:
        items = frame.items() if isinstance(frame, dict) else frame.iter_rows()
        for prog, n in items:
            if n:
                target[str(prog)] += int(n)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and the TUI status line."""
        return {
            "lines": self.lines,
            "first_time": self.first_time.isoformat() if self.first_time else None,
            "last_time": self.last_time.isoformat() if self.last_time else None,
            "hosts": sorted(self.hosts),
            "files": list(self.files),
            "programs": dict(sorted(self.programs.items())),
            "ignored": dict(sorted(self.ignored.items())),
            "unparsed": dict(sorted(self.unparsed.items())),
        }

    def unparsed_of(self, family: str) -> int:
        """Unparsed lines of programs starting with `family` (e.g. "postfix", "dovecot")."""
        return sum(n for p, n in self.unparsed.items() if p.startswith(family))
