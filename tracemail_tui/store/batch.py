"""One-shot runs over log files: interleave streams by time, feed an `Engine`, fold.

`run(paths)` is what `tracemail search/stats/report` use; the live store feeds an
`Engine` itself. `engine.py` re-exports everything here, so callers import one module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui.store import schema, sources
from tracemail_tui.store.engine import VIEWS_OUT, Delta, Engine
from tracemail_tui.store.stats import Stats

_MIN_BUFFER_ROWS = 5000
"""A stream buffer below this is topped up before the next batch (no tiny batches)."""

@dataclass
class Result:
    """Views of a one-shot run (last version of every id) and the run's stats.

    Views are reachable as ``result["received"]``, ``result.received`` or
    ``result.get("received")``. `paths`/`host`/`year`/`hosts` remember how the logs were
    read, so `evidence(result, view, row)` can fetch a row's raw lines again.
    """

    views: dict[str, pl.DataFrame]
    stats: Stats
    paths: list[Path] = field(default_factory=list)
    host: str | None = None
    year: int | None = None
    hosts: Mapping[str, str] | None = None

    def __getitem__(self, view: str) -> pl.DataFrame:
        return self.views[view]

    def get(self, view: str, default: pl.DataFrame | None = None) -> pl.DataFrame | None:
        return self.views.get(view, default)

    @property
    def accesses(self) -> pl.DataFrame:
        return self.views["accesses"]

    @property
    def received(self) -> pl.DataFrame:
        return self.views["received"]

    @property
    def sent(self) -> pl.DataFrame:
        return self.views["sent"]

    @property
    def mailbox(self) -> pl.DataFrame:
        return self.views["mailbox"]


def merged_chunks(
    srcs: list[sources.Source], chunk_bytes: int = sources.CHUNK_BYTES
) -> Iterator[pl.DataFrame]:
    """Lines frames of all sources, interleaved by time up to a common horizon.

    Each *stream* (a file and its rotated predecessors, oldest first) is read chunk by
    chunk; a batch holds every buffered line no later than the earliest "latest time"
    among the streams still being read, so both sides of a join (mail.log and
    dovecot.log, say) reach the engine close together.
    """
    streams: dict[tuple[str, str], list[sources.Source]] = {}
    for s in srcs:
        base = sources.rotation_base(s.path)
        streams.setdefault((str(s.path.parent), base), []).append(s)
    iters = [_stream(group, chunk_bytes) for group in streams.values()]
    bufs: list[pl.DataFrame | None] = [None] * len(iters)
    live = [True] * len(iters)
    while any(live) or any(b is not None and b.height for b in bufs):
        for i, it in enumerate(iters):
            # Top up nearly empty buffers too: a stream left with a few lines past the
            # horizon would otherwise cap the next batch at those few lines.
            b = bufs[i]
            if live[i] and (b is None or b.height < _MIN_BUFFER_ROWS):
                nxt = next(it, None)
                if nxt is None:
                    live[i] = False
                else:
                    bufs[i] = nxt if b is None or b.height == 0 else pl.concat([b, nxt])
        horizon: dt.datetime | None = None
        for i, b in enumerate(bufs):
            if live[i] and b is not None and b.height:
                t = b.get_column("time").max()
                if isinstance(t, dt.datetime) and (horizon is None or t < horizon):
                    horizon = t
        out = []
        for i, b in enumerate(bufs):
            if b is None or b.height == 0:
                continue
            if horizon is None or (not live[i] and not any(live)):
                out.append(b)
                bufs[i] = None
                continue
            take = pl.col("time").is_null() | (pl.col("time") <= horizon)
            out.append(b.filter(take))
            bufs[i] = b.filter(~take)
        batch = [o for o in out if o.height]
        if batch:
            yield pl.concat(batch) if len(batch) > 1 else batch[0]


def _stream(group: list[sources.Source], chunk_bytes: int) -> Iterator[pl.DataFrame]:
    for src in group:
        yield from sources.read_chunks(src, chunk_bytes)


def collect(deltas: Iterable[Delta]) -> dict[str, pl.DataFrame]:
    """Fold deltas into views: last version of every id, retracted ids removed.

    The fold keeps only current rows (an upsert per delta), so a long run holds one
    version of each row, not every version it ever emitted.
    """
    acc: dict[str, list[pl.DataFrame]] = {v: [] for v in VIEWS_OUT}
    for delta in deltas:
        for view in VIEWS_OUT:
            df = delta.rows.get(view)
            gone = delta.retracted.get(view) or []
            has_rows = df is not None and df.height > 0
            if view == "mailbox":
                if has_rows:
                    acc[view].append(df)  # type: ignore[arg-type]
                continue
            if not has_rows and not gone:
                continue
            drop = pl.Series(gone, dtype=pl.String)
            if has_rows:
                df = df.unique("id", keep="last", maintain_order=True)  # type: ignore[union-attr]
                drop = pl.concat([drop, df.get_column("id")])
            old = acc[view]
            kept = [o.filter(~pl.col("id").is_in(drop.implode())) for o in old]
            acc[view] = [k for k in kept if k.height] + ([df] if has_rows else [])  # type: ignore[list-item]
            if len(acc[view]) > 8:  # keep the list short: fewer frames to filter next time
                acc[view] = [pl.concat(acc[view], how="vertical_relaxed")]
    views: dict[str, pl.DataFrame] = {}
    for view in VIEWS_OUT:
        if not acc[view]:
            views[view] = schema.empty(view)
            continue
        df = pl.concat(acc[view], how="vertical_relaxed")
        views[view] = df if view == "mailbox" else df.sort("time", "id", nulls_last=True)
    return views


def run(
    paths: Iterable[str | Path],
    *,
    host: str | None = None,
    hosts: Mapping[str, str] | None = None,
    year: int | None = None,
    chunk_bytes: int = sources.CHUNK_BYTES,
    engine: Engine | None = None,
) -> Result:
    """Read `paths` (files/dirs), correlate everything, keep the last version per id."""
    paths_list = list(paths)
    srcs = sources.sources(paths_list, host=host, hosts=hosts, year=year)
    eng = engine or Engine()
    eng.stats.files = [str(s.path) for s in srcs]
    views = collect(eng.feed(chunk) for chunk in merged_chunks(srcs, chunk_bytes))
    return Result(views=views, stats=eng.stats, paths=[Path(p) for p in paths_list],
                  host=host, year=year, hosts=hosts)


def run_lines(frames: Iterable[pl.DataFrame], engine: Engine | None = None) -> Result:
    """Like `run` for lines frames already split (tests, the live store's replays)."""
    eng = engine or Engine()
    views = collect(eng.feed(f) for f in frames)
    return Result(views=views, stats=eng.stats)


def evidence(
    source: Result | pl.DataFrame | Iterable[str | Path],
    view: str,
    row: Mapping[str, Any],
) -> pl.DataFrame:
    """Raw lines (``time, server, program, raw``) behind one row of `view`.

    `source` is a `Result` of `run` (its files are read again), a lines frame, or paths.
    """
    from tracemail_tui.store import evidence as ev

    if isinstance(source, Result):
        return ev.evidence(source.paths, view, row, host=source.host, year=source.year,
                           hosts=source.hosts)
    return ev.evidence(source, view, row)


def as_dicts(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts (ISO times) for JSON output."""
    return df.with_columns(pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.f")).to_dicts()
