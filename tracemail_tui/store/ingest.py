"""Incremental ingest: tail -> lines frame -> engine -> store, with crash-safe checkpoints.

One `Ingestor` owns a tailer, an engine (the correlators) and a writable `ParquetStore`.
Every batch of complete lines is split into the lines frame, fed to the engine, and the
rows it returns (every key the batch touched, new or changed, stable ids) are added to
the store's hot layer, where they are queryable at once. Every `flush_interval` the store
commits them together with the tailer checkpoints *and the engine's open keys*: after a
crash or a restart, reading resumes at the checkpoints with the correlators exactly as
they were, so a message spanning the restart comes out whole, and nothing is stored twice.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from tracemail_tui.store import schema
from tracemail_tui.store.logfiles import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, discover
from tracemail_tui.store.merge import Piece, TimeMerger, line_ends
from tracemail_tui.store.parse.header import split_lines
from tracemail_tui.store.partitions import ParquetStore
from tracemail_tui.store.sources import configured_host, infer_host
from tracemail_tui.store.tail import Batch, Checkpoint, Tailer

log = logging.getLogger(__name__)

STATE_FORMAT = 1  # bump when the pickled engine state changes shape
CHECKPOINT_TTL_S = 40 * 86400  # forget offsets of files not seen for longer than retention


class Engine(Protocol):
    """The correlators, fed chunk by chunk (see docs/ARCHITECTURE.md)."""

    def feed(self, lines: pl.DataFrame) -> Any:
        """Rows of every key this chunk touched: a dict per table, or an object with
        `rows` (dict per table) and `retracted` (ids per view that no longer exist)."""
        ...


class LinesOnly:
    """An engine that correlates nothing: only raw lines are stored (tests, benchmarks)."""

    def feed(self, lines: pl.DataFrame) -> dict[str, pl.DataFrame]:
        return {}


def default_engine() -> Engine:
    """The project's incremental engine (the single place where it is chosen)."""
    from tracemail_tui.store.engine import Engine as Correlators

    return Correlators()


@dataclass
class IngestStats:
    """What went in, for progress bars and `store info`."""

    batches: int = 0
    lines: int = 0
    bytes: int = 0
    unparsed: int = 0
    commits: int = 0
    rows: collections.Counter[str] = field(default_factory=collections.Counter)


def lines_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The `lines` support table from a lines frame (raw lines kept as evidence)."""
    return schema.conform("lines", frame.rename({"host": "server"}))


class HostGuesser:
    """Host for host-less log files (Dovecot's log_path, Rspamd, clamd, Roundcube).

    The same rule as the one-shot reader (`store.sources`), so live and batch runs give
    the same ids: a configured host for the file or a directory above it; else the single
    syslog host named by the sibling files (Dovecot's file next to Postfix's
    ``mail.log``); else the directory name when it looks like a host; else none.
    """

    def __init__(self, configured: Mapping[str, str] | None = None) -> None:
        self.configured = dict(configured or {})
        self._by_path: dict[str, str | None] = {}
        self._by_dir: dict[str, str | None] = {}

    def __call__(self, path: str) -> str | None:
        if path not in self._by_path:  # asked once per batch: resolve paths once per file
            self._by_path[path] = configured_host(path, self.configured)
        if self._by_path[path] is not None:
            return self._by_path[path]
        folder = os.path.dirname(path)
        if folder not in self._by_dir:
            siblings = [
                Path(lf.path) for lf in discover((folder,)) if Path(lf.path).parent == Path(folder)
            ]
            self._by_dir[folder] = infer_host(Path(path), siblings)
        return self._by_dir[folder]


class Ingestor:
    """Tail `paths` into `store` through the engine."""

    def __init__(
        self,
        store: ParquetStore,
        paths: Iterable[str | os.PathLike[str]],
        *,
        engine_factory: Callable[[], Engine] = default_engine,
        hosts: Mapping[str, str] | None = None,
        include: tuple[str, ...] = DEFAULT_INCLUDE,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
        batch_bytes: int = 4 << 20,
        feed_lines: int = 100_000,
        background_commits: bool = True,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.stats = IngestStats()
        self._warn = on_warning or log.warning
        self.engine = self._restore_engine(engine_factory)
        cps = [Checkpoint.from_dict(d) for d in store.checkpoints()]
        # Offsets of what was *handled* (in the store's hot layer): the tailer's own
        # offsets run one batch ahead while a batch is being handled.
        self._handled: dict[str, Checkpoint] = {c.key: c for c in cps}
        self.tailer = Tailer(
            paths,
            include=include,
            exclude=exclude,
            checkpoints=cps,
            batch_bytes=batch_bytes,
            on_warning=self._warn,
        )
        self.host_for = HostGuesser(hosts)
        self._merger = TimeMerger()
        self._queue: list[Piece] = []
        self.feed_lines = feed_lines
        self.background_commits = background_commits
        self._sources: dict[str, dict[str, Any]] = {}

    # -- the pipeline ---------------------------------------------------------------------

    def handle(self, batch: Batch) -> list[Batch]:
        """One batch: header split, time merger, and (when due) engine and store.

        The engine has a fixed cost per call, so released lines are queued and fed once
        per poll (the last batch of a poll has no `active` family left) or every
        `feed_lines` lines during a long backfill. Returns the batches whose lines are
        now all in the store (queryable).
        """
        self._merger.push(batch, self._split(batch))
        self._queue += self._merger.release()
        queued = sum(p.frame.height for p in self._queue)
        if batch.active and queued < self.feed_lines:
            return []
        return self._feed()

    def _feed(self) -> list[Batch]:
        pieces, self._queue = self._queue, []
        if not pieces:
            return []
        frame = pl.concat([p.frame for p in pieces], how="vertical")
        if len(pieces) > 1:
            frame = frame.sort("time", nulls_last=False, maintain_order=True)
        # Empty lines carry nothing (the one-shot reader drops them too); they stay in the
        # pieces above so the checkpoints still move past them.
        lines = frame.drop("_end").filter(pl.col("raw").str.len_bytes() > 0)
        rows, retract = self._run_engine(lines)
        rows["lines"] = lines_table(lines)
        self.store.add(rows, retract)
        done = []
        for piece in pieces:
            cp = piece.checkpoint()
            self._handled[cp.key] = cp
            self._account(piece, rows)
            if cp.offset == piece.batch.end:
                done.append(piece.batch)
        for t, df in rows.items():
            self.stats.rows[t] += df.height
        return done

    def _split(self, batch: Batch) -> pl.DataFrame:
        """The lines frame of a batch, host filled in, with each line's end offset."""
        mtime = None
        try:
            mtime = dt.datetime.fromtimestamp(os.stat(batch.path).st_mtime)
        except OSError:
            pass  # rotated away since: the year is inferred from now
        raw = pl.Series("raw", batch.lines, dtype=pl.String)
        frame = split_lines(raw, host=self.host_for(batch.path), mtime=mtime)
        return frame.with_columns(_end=line_ends(batch, frame))

    def _run_engine(
        self, lines: pl.DataFrame
    ) -> tuple[dict[str, pl.DataFrame], dict[str, list[str]]]:
        """The only call into the correlators: rows per table, and retracted ids per view."""
        out = self.engine.feed(lines)
        if hasattr(out, "rows"):  # the engine's Delta
            return dict(out.rows), dict(getattr(out, "retracted", {}) or {})
        return dict(out), {}

    def commit(self, *, background: bool = False) -> None:
        """Flush the store with checkpoints covering exactly what was handled.

        Checkpoints, correlator state and rows are all taken now; `background` leaves
        the writing to a thread so tailing goes on meanwhile.
        """
        state = pickle.dumps((STATE_FORMAT, type(self.engine).__qualname__, self.engine))
        seen = {c.key: c.seen for c in self.tailer.checkpoints()}
        cutoff = time.time() - CHECKPOINT_TTL_S
        for key, cp in list(self._handled.items()):
            cp.seen = max(cp.seen, seen.get(key, 0.0))
            if cp.seen and cp.seen < cutoff:  # rotated away long ago
                del self._handled[key]
        self.store.commit(
            checkpoints=[c.to_dict() for c in self._handled.values()],
            engine_state=state,
            sources=self._sources,
            background=background,
        )
        self.stats.commits += 1

    def run(
        self, batches: Iterable[Batch], *, on_batch: Callable[[Batch], None] | None = None
    ) -> None:
        """Handle `batches`, committing whenever the store says it is due, and at the end."""
        try:
            for batch in batches:
                done = self.handle(batch)
                if on_batch is not None:
                    for b in done:
                        on_batch(b)
                if self.store.commit_due():
                    self.commit(background=self.background_commits)
        finally:
            self.commit()
            self.store.wait()

    def backfill(self, on_batch: Callable[[Batch], None] | None = None) -> None:
        """Read everything there is now (rotated files oldest first) and commit."""
        self.run(self.tailer.poll(), on_batch=on_batch)

    def follow(
        self,
        stop: threading.Event | None = None,
        *,
        on_batch: Callable[[Batch], None] | None = None,
        **watch: Any,
    ) -> None:
        """Backfill, then keep tailing until `stop` is set (commits on the way and at the end)."""
        stop = stop or threading.Event()
        self.run(self._follow(stop, **watch), on_batch=on_batch)

    def _follow(self, stop: threading.Event, **watch: Any) -> Iterator[Batch]:
        # The tailer also wakes up when idle (its watch timeout): commit then if due, so
        # the last lines before a quiet spell do not wait in memory for the next ones.
        yield from self.tailer.follow(stop, on_poll=self._commit_if_due, **watch)
        self.tailer.close()

    def _commit_if_due(self) -> None:
        if self.store.commit_due():
            self.commit(background=self.background_commits)

    def pending_bytes(self) -> int:
        """Bytes not read yet (for a progress bar; rotated archives counted compressed)."""
        done = {(c.dev, c.ino): c.offset for c in self.tailer.checkpoints()}
        total = 0
        for lf in discover(self.tailer.roots, self.tailer.include, self.tailer.exclude):
            try:
                st = os.stat(lf.path)
            except OSError:
                continue
            total += max(0, st.st_size - done.get((st.st_dev, st.st_ino), 0))
        return total

    # -- internals ------------------------------------------------------------------------

    def _account(self, piece: Piece, rows: dict[str, pl.DataFrame]) -> None:
        s, frame, batch = self.stats, piece.frame, piece.batch
        s.lines += frame.height
        if piece.checkpoint().offset == batch.end:
            s.batches += 1
            s.bytes += len(batch.data)
        bad = frame.select((pl.col("time").is_null() | pl.col("program").is_null()).sum()).item()
        s.unparsed += int(bad)
        src = self._sources.setdefault(batch.path, {"lines": 0, "last_time": None})
        src["lines"] += frame.height
        last = frame["time"].max()
        if isinstance(last, dt.datetime):
            src["last_time"] = max(src["last_time"] or "", last.isoformat())
        src["offset"] = int(frame["_end"][-1])

    def _restore_engine(self, factory: Callable[[], Engine]) -> Engine:
        fresh = factory()
        blob = self.store.engine_state()
        if not blob:
            return fresh
        try:
            fmt, kind, engine = pickle.loads(blob)  # our own 0600 file in a 0700 dir
        except Exception as exc:  # a stale or corrupt state must not block ingest
            self._warn(f"cannot restore correlator state ({exc}); open messages restart empty")
            return fresh
        if fmt != STATE_FORMAT or kind != type(fresh).__qualname__:
            self._warn("correlator state is from another version; open messages restart empty")
            return fresh
        return engine
