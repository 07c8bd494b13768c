"""The store's hot layer: rows added since the last commit, queryable at once.

Rows arrive as chunks (cheap appends on the ingest path) and are consolidated lazily when
read: for the three views one version per `id`, the last one. The engine may also
*retract* ids (a fallback row replaced by the real deliveries): a retraction removes the
id's rows here and leaves a tombstone, so the committed partitions drop it too.
"""

from __future__ import annotations

import time

import polars as pl

from tracemail_tui.store import schema

ID_TABLES = ("accesses", "received", "sent")
APPEND_TABLES = ("mailbox", "lines")
TABLES = ID_TABLES + APPEND_TABLES


class HotLayer:
    """Uncommitted rows per table, plus retracted ids per view (not thread-safe: the
    store holds its lock around every call)."""

    def __init__(self) -> None:
        self.chunks: dict[str, list[pl.DataFrame]] = {t: [] for t in TABLES}
        self.tomb: dict[str, set[str]] = {t: set() for t in ID_TABLES}
        self.rows = 0
        self.since: float | None = None  # monotonic time of the oldest uncommitted row

    def add(self, frames: dict[str, pl.DataFrame], retract: dict[str, list[str]]) -> None:
        """Retract first (they concern earlier versions), then append the new rows."""
        for view, ids in retract.items():
            if not ids:
                continue
            gone = pl.Series(list(ids), dtype=pl.String)
            self.chunks[view] = [
                df.filter(~pl.col("id").is_in(gone.implode())) for df in self.chunks[view]
            ]
            self.tomb[view].update(ids)
        for table, df in frames.items():
            self.chunks[table].append(df)
            self.rows += df.height
        if self.since is None and (self.rows or any(self.tomb.values())):
            self.since = time.monotonic()

    def empty(self) -> bool:
        return not self.rows and not any(self.tomb.values())

    def frame(self, table: str) -> pl.DataFrame:
        """All rows of `table`, one version per id; chunks are consolidated in place."""
        chunks = self.chunks[table]
        if not chunks:
            return schema.empty(table)
        df = pl.concat(chunks, how="vertical") if len(chunks) > 1 else chunks[0]
        if table in ID_TABLES and len(chunks) > 1:
            df = df.unique(subset="id", keep="last", maintain_order=True)
        self.chunks[table] = [df]
        return df

    def filter(self, table: str, keep: pl.Expr) -> int:
        """Keep only rows matching `keep` (prune, forget); rows removed."""
        before = sum(df.height for df in self.chunks[table])
        self.chunks[table] = [df.filter(keep) for df in self.chunks[table]]
        removed = before - sum(df.height for df in self.chunks[table])
        self.rows -= removed
        return removed

    def absorb_older(self, older: HotLayer) -> None:
        """Put `older` (a failed commit's rows) back in front of this layer's rows."""
        for t in TABLES:
            old = [older.frame(t)] if older.chunks[t] else []
            if t in ID_TABLES and self.tomb[t]:
                dead = pl.Series(list(self.tomb[t]), dtype=pl.String).implode()
                old = [df.filter(~pl.col("id").is_in(dead)) for df in old]
            self.chunks[t] = old + self.chunks[t]
        for v in ID_TABLES:
            self.tomb[v] |= older.tomb[v]
        self.rows += older.rows
        self.since = min(s for s in (self.since, older.since, time.monotonic()) if s is not None)


def merged(older: HotLayer | None, newer: HotLayer, table: str) -> tuple[pl.DataFrame, set[str]]:
    """Rows of `table` in memory (being committed + hot) and the ids retracted there."""
    new = newer.frame(table)
    tomb = set(newer.tomb.get(table, ()))
    if older is None:
        return new, tomb
    old = older.frame(table)
    if table not in ID_TABLES:
        return (pl.concat([old, new], how="vertical") if old.height else new), tomb
    if tomb and old.height:
        old = old.filter(~pl.col("id").is_in(pl.Series(list(tomb), dtype=pl.String).implode()))
    both = pl.concat([old, new], how="vertical") if old.height else new
    if old.height and new.height:
        both = both.unique(subset="id", keep="last", maintain_order=True)
    # An id retracted and added again is hidden in the partitions by the anti-join on
    # the in-memory ids anyway, so the tombstones can simply be united.
    return both, tomb | older.tomb[table]
