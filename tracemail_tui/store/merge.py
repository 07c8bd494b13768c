"""Interleave the lines of several log streams by time before they reach the engine.

Correlation joins lines of different files (Postfix's LMTP line in ``mail.log`` and the
Dovecot delivery in ``dovecot.log``), and the engine forgets a finished key after a grace
window. Fed file after file during a backfill, one file's lines would arrive hours after
the other's; so, like the one-shot engine's ``merged_chunks``, lines are released only up
to a *horizon*: the earliest "latest time" among the streams still being read in this
poll (`Batch.active`). A stream whose poll is over no longer holds the others back.

Only a prefix of each stream's buffer is released, and every line carries the byte offset
where it ends, so the checkpoint of a partly released batch is exact: a commit can happen
between any two releases and a restart resumes at the first line not fed.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import deque
from dataclasses import dataclass, replace

import polars as pl

from tracemail_tui.store.tail import Batch, Checkpoint


@dataclass
class Piece:
    """Lines of one batch, released or waiting; `frame` has an `_end` offset column."""

    batch: Batch
    frame: pl.DataFrame

    def checkpoint(self) -> Checkpoint:
        """Checkpoint just after this piece's last line."""
        end = self.frame["_end"][-1] if self.frame.height else self.batch.start
        return replace(self.batch.checkpoint, offset=int(end))


def line_ends(batch: Batch, frame: pl.DataFrame) -> pl.Series:
    """Byte offset in the file just after each line of `batch` (vectorised when exact)."""
    n = len(batch.lines)
    raw = frame["raw"]
    ends = (raw.str.len_bytes().fill_null(0).cast(pl.Int64) + 1).cum_sum() + batch.start
    exact = (
        b"\r" not in batch.data
        and not raw.str.contains("\ufffd", literal=True).any()
        and int(ends[-1]) in (batch.end, batch.end + 1)  # +1: a last line without newline
    )
    if exact:
        return ends.clip(upper_bound=batch.end)
    # Invalid UTF-8 replaced or CRs dropped: text lengths differ from the bytes.
    pos = itertools.accumulate(len(seg) + 1 for seg in batch.data.split(b"\n")[:n])
    return pl.Series([min(batch.start + p, batch.end) for p in pos], dtype=pl.Int64)


class TimeMerger:
    """Buffers per stream (log family); releases time-ordered prefixes."""

    def __init__(self) -> None:
        self._bufs: dict[str, deque[Piece]] = {}
        self._latest: dict[str, dt.datetime] = {}
        self._reading: set[str] = set()  # streams with more lines coming in this poll
        self._pushed: set[str] = set()

    def push(self, batch: Batch, frame: pl.DataFrame) -> None:
        """Queue a batch's lines frame (with `_end`); `batch.active` says who reads on."""
        fam = batch.family
        self._bufs.setdefault(fam, deque()).append(Piece(batch, frame))
        hi = frame["time"].max()
        if isinstance(hi, dt.datetime) and (fam not in self._latest or hi > self._latest[fam]):
            self._latest[fam] = hi
        self._pushed.add(fam)
        self._reading = set(batch.active)

    def pending(self) -> bool:
        return any(self._bufs.values())

    def release(self) -> list[Piece]:
        """Every buffered line up to the horizon (all of them once no stream is reading)."""
        if self._reading - self._pushed:
            return []  # a stream has not shown its first lines yet: its times are unknown
        limits = [self._latest[f] for f in self._reading if f in self._latest]
        horizon = min(limits) if limits else None
        out: list[Piece] = []
        for buf in self._bufs.values():
            while buf:
                piece = buf[0]
                if horizon is None:
                    out.append(buf.popleft())
                    continue
                late = piece.frame.select(pl.col("time").gt(horizon).fill_null(False).arg_true())
                if late.height == 0:
                    out.append(buf.popleft())
                    continue
                cut = int(late.item(0, 0))
                if cut:  # the prefix before the first line past the horizon goes now
                    out.append(Piece(piece.batch, piece.frame.head(cut)))
                    buf[0] = Piece(piece.batch, piece.frame.slice(cut))
                break
        return out
