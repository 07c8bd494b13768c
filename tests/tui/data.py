"""Test data for the TUI: synthetic view frames (schema-conformant) and evidence lines."""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.tui import synthetic
from tracemail_tui.store import schema
from tracemail_tui.store.query import MemoryStore

DAY = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 27, 23, 59, 59)


def frozen_now() -> dt.datetime:
    """The clock of every TUI test: no real time reaches a render."""
    return NOW


def lines_for(received: pl.DataFrame, n: int = 20) -> pl.DataFrame:
    """Raw log lines (evidence) for the newest `n` received rows: one smtpd + one qmgr each,
    in syslog form (the store keeps raw lines and splits them again for the evidence)."""
    tail = received.tail(n).with_columns(_stamp=pl.col("time").dt.strftime("%b %e %H:%M:%S"))
    smtpd = tail.select(
        "time",
        "server",
        program=pl.lit("postfix/smtpd"),
        raw=pl.format("{} mx1 postfix/smtpd[1]: {}: client={}", "_stamp", "queue_id", "client_ip"),
    )
    qmgr = tail.select(
        "time",
        "server",
        program=pl.lit("postfix/qmgr"),
        raw=pl.format(
            "{} mx1 postfix/qmgr[2]: {}: from=<{}>, size={}", "_stamp", "queue_id", "sender", "size"
        ),
    )
    return schema.conform("lines", pl.concat([smtpd, qmgr]).sort("time"))


def store(n: int = 300, days: int = 2, hostile: bool = True) -> MemoryStore:
    """A store with `n` rows per view over `days` days ending on `DAY`, plus evidence."""
    frames = synthetic.frames(n, day=DAY, days=days, hostile=hostile)
    frames["lines"] = lines_for(frames["received"])
    return MemoryStore(frames)


def big_store(n: int = 1_000_000) -> MemoryStore:
    """A million rows per view (benchmarks; slow to build)."""
    return MemoryStore(synthetic.frames(n, day=DAY, days=1, hostile=True))


def append_rows(source: MemoryStore, view: str, rows: pl.DataFrame) -> None:
    """Add rows to a view and bump the generation (what the live store does)."""
    old = source.scan(view).collect()
    source.replace({view: pl.concat([old, schema.conform(view, rows)])})


def new_received(subject: str, minute: int = 59, second: int = 59) -> pl.DataFrame:
    """One new accepted received row, newest of the day."""
    row = synthetic.received(1, DAY).with_columns(
        id=pl.lit(f"r-new-{subject}"),
        subject=pl.lit(subject),
        time=pl.lit(dt.datetime(2026, 11, 27, 23, minute, second, 999_000)),
        domain=pl.lit("example.com"),
        status=pl.lit("accepted"),
    )
    return row
