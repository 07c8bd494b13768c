"""One-shot runs over log files: interleave streams by time, feed an `Engine`, fold.

`run(paths)` is what `tracemail search/stats/report` use; the live store feeds an
`Engine` itself. `engine.py` re-exports everything here, so callers import one module.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui.store import schema, sources
from tracemail_tui.store.concurrent import prefetch, run_all
from tracemail_tui.store.engine import VIEWS_OUT, Delta, Engine
from tracemail_tui.store.logfiles import gzip_isize
from tracemail_tui.store.stats import Stats

_MIN_BUFFER_ROWS = 5000
"""A stream buffer below this is topped up before the next batch (no tiny batches)."""

ROUND_BYTES = 48 * 1024 * 1024
"""Bytes read per round over all streams, shared in proportion to their sizes."""

_MIN_STREAM_BYTES = 256 * 1024
"""The smallest read of a stream (a tiny clamav.log still moves on in steps)."""

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
    srcs: list[sources.Source],
    chunk_bytes: int = ROUND_BYTES,
    *,
    raw: bool = True,
    progress: Callable[[int, int], None] | None = None,
    skip: pl.Expr | None = None,
    on_skipped: Callable[[int], object] | None = None,
) -> Iterator[pl.DataFrame]:
    """Lines frames of all sources, interleaved by time up to a common horizon.

    Each *stream* (a file and its rotated predecessors, oldest first) is read chunk by
    chunk; a batch holds every buffered line no later than the earliest "latest time"
    among the streams still being read, so both sides of a join (mail.log and
    dovecot.log, say) reach the engine close together.

    A round reads about `chunk_bytes` in all, each stream a share in proportion to its
    size: streams then advance by about the same stretch of time, so few lines wait in
    buffers (memory) while batches stay large (fewer, cheaper passes of the engine).
    `raw=False` drops the ``raw`` column as soon as a chunk is split: the engine reads
    ``msg``, and the raw text is a third of a buffered batch's memory. `progress` hears
    (bytes read, bytes in all) as reading goes on (from reader threads). `skip` drops
    raw lines before the split, `on_skipped` hears how many (see `sources.read_chunks`).
    """
    streams: dict[tuple[str, str], list[sources.Source]] = {}
    for s in srcs:
        base = sources.rotation_base(s.path)
        streams.setdefault((str(s.path.parent), base), []).append(s)
    sizes = [sum(_size(s) for s in group) for group in streams.values()]
    total = max(sum(sizes), 1)
    floor = min(chunk_bytes, _MIN_STREAM_BYTES)
    on_bytes = _Progress(total, progress) if progress is not None else None
    iters = [_stream(group, max(chunk_bytes * n // total, floor), raw, on_bytes, skip,
                     on_skipped)
             for group, n in zip(streams.values(), sizes, strict=True)]
    bufs: list[pl.DataFrame | None] = [None] * len(iters)
    live = [True] * len(iters)
    while any(live) or any(b is not None and b.height for b in bufs):
        ends = [_last_time(b) for b in bufs]
        leader = max((e for i, e in enumerate(ends) if live[i] and e is not None), default=None)
        # Top up nearly empty buffers, and those that lag behind the stream read
        # furthest: either would cap the next batch at a sliver of time (streams
        # leap-frogging each other by a few minutes: many small, slow batches).
        # The streams to read are read and split side by side (see concurrent.py).
        due = [
            i for i, b in enumerate(bufs)
            if live[i] and (b is None or b.height < _MIN_BUFFER_ROWS
                            or (leader is not None and (e := ends[i]) is not None and e < leader))
        ]
        got = run_all(*(partial(next, iters[i], None) for i in due))
        for i, nxt in zip(due, got, strict=True):
            b = bufs[i]
            if nxt is None:
                live[i] = False
            else:
                bufs[i] = nxt if b is None or b.height == 0 else pl.concat([b, nxt])
        ends = [_last_time(b) for b in bufs]
        horizon = min((e for i, e in enumerate(ends) if live[i] and e is not None), default=None)
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


def _last_time(buf: pl.DataFrame | None) -> dt.datetime | None:
    if buf is None or buf.height == 0:
        return None
    t = buf.get_column("time").max()
    return t if isinstance(t, dt.datetime) else None


def _size(src: sources.Source) -> int:
    """Bytes of text the source holds: a .gz file's from its trailer (ISIZE, the size
    mod 2**32: a guide for sharing reads, not a promise), so archives keep pace."""
    try:
        size = src.path.stat().st_size
    except OSError:  # gone since listed: reading it reports the error
        return 0
    if src.compressed and size >= 18:  # header + trailer: the smallest gzip file
        size = max(size, gzip_isize(src.path) or 0)
    return size


class _Tally:
    """A count that reader threads add to (streams are read on several threads)."""

    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def __call__(self, n: int) -> int:
        with self._lock:
            self.n += n
            return self.n


class _Progress(_Tally):
    """Bytes read so far over all streams, reported as (done, total)."""

    def __init__(self, total: int, report: Callable[[int, int], None]) -> None:
        super().__init__()
        self.total, self._report = total, report

    def __call__(self, n: int) -> int:
        done = super().__call__(n)
        self._report(min(done, self.total), self.total)
        return done


def _stream(group: list[sources.Source], chunk_bytes: int, raw: bool,
            on_bytes: Callable[[int], object] | None, skip: pl.Expr | None,
            on_skipped: Callable[[int], object] | None) -> Iterator[pl.DataFrame]:
    for src in group:
        for chunk in sources.read_chunks(src, chunk_bytes, on_bytes, skip, on_skipped):
            yield chunk if raw else _without_raw(chunk)


def _without_raw(chunk: pl.DataFrame) -> pl.DataFrame:
    """`chunk` without ``raw``; a line whose header could not be read keeps its text as
    ``msg`` (no parser reads such lines, `stats --samples` shows them)."""
    prog = chunk.get_column("program")
    if prog.null_count():  # rare: most chunks pay nothing
        chunk = chunk.with_columns(msg=pl.when(pl.col("program").is_null())
                                   .then(pl.col("raw")).otherwise(pl.col("msg")))
    return chunk.drop("raw")


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
    chunk_bytes: int = ROUND_BYTES,
    engine: Engine | None = None,
    views: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Read `paths` (files/dirs), correlate everything, keep the last version per id.

    `views` (default: all) runs only the work those views need (see `Engine`); the
    other views come back empty. Ignored when an `engine` is given (it has its own).
    `progress(done, total)` hears how many bytes of text were read (from a reader
    thread; the batch being correlated is up to one round behind).
    """
    paths_list = list(paths)
    srcs = sources.sources(paths_list, host=host, hosts=hosts, year=year)
    eng = engine or Engine(views=views)
    eng.stats.files = [str(s.path) for s in srcs]
    # Two stages: the next batch is read, split and parsed on other threads while the
    # engine correlates this one (parsing touches no engine state; see Engine.parse).
    skipped = _Tally()
    chunks = merged_chunks(srcs, chunk_bytes, raw=False, progress=progress,
                           skip=eng.needs.raw_skip(), on_skipped=skipped)
    parsed = prefetch(eng.parse(chunk) for chunk in chunks)
    views = collect(eng.absorb(p) for p in parsed)
    eng.stats.add_skipped(skipped.n)
    return Result(views=views, stats=eng.stats, paths=[Path(p) for p in paths_list],
                  host=host, year=year, hosts=hosts)


def run_lines(
    frames: Iterable[pl.DataFrame],
    engine: Engine | None = None,
    views: Iterable[str] | None = None,
) -> Result:
    """Like `run` for lines frames already split (tests, the live store's replays)."""
    eng = engine or Engine(views=views)
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
