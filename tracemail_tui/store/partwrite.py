"""Writing the Parquet files of one commit: day partitions, upserts, tiered merges.

A `DayWriter` collects what one commit wrote (`written`, removed again if the commit
fails) and what it replaced (`superseded`, deleted once the manifest no longer lists it).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import polars as pl

from tracemail_tui.store import manifest as mf
from tracemail_tui.store import schema
from tracemail_tui.store.hot import ID_TABLES, TABLES, HotLayer

MERGE_FAN_IN = 4  # segments of one size class merged together
ROW_GROUP = 65_536  # small row groups let time/domain statistics skip most of a day
_NAMES = itertools.count()  # unique file-name suffixes within a commit


class DayWriter:
    """Writes partitions for the manifest `new` (being prepared) under `root`."""

    def __init__(self, root: Path, new: mf.Manifest) -> None:
        self.root, self.new = root, new
        self.written: list[str] = []
        self.superseded: set[str] = set()

    def write_file(self, table: str, day: str, df: pl.DataFrame, k: str) -> mf.Part:
        """One sorted, zstd-compressed, 0600 file, written atomically."""
        mf.make_dir(self.root / table / day)
        name = f"{table}/{day}/{self.new.seq:08d}-{k}.parquet"
        df = df.sort("time", nulls_last=True, maintain_order=True)
        mf.write_atomic(
            self.root / name,
            lambda p: df.write_parquet(p, compression="zstd", row_group_size=ROW_GROUP),
        )
        self.written.append(name)
        return mf.Part(name=name, rows=df.height, bytes=(self.root / name).stat().st_size)

    def write_layer(self, layer: HotLayer, today: str, cutoff: str) -> dict[str, int]:
        """Every table's rows (and tombstones) of `layer` into their day partitions.

        A row's day is the date of its `time` (`today` when it has none). Rows dated
        before `cutoff` (backfilled logs older than the retention window) are not kept;
        returns how many per table.
        """
        too_old: dict[str, int] = {}
        for table in TABLES:
            df = layer.frame(table)
            tomb = layer.tomb.get(table, set())
            by_day: dict[str, pl.DataFrame] = {}
            if df.height:
                days = df.with_columns(
                    _day=pl.col("time").dt.date().cast(pl.String).fill_null(today))
                old = days.filter(pl.col("_day") < cutoff).height
                if old:
                    too_old[table] = old
                    days = days.filter(pl.col("_day") >= cutoff)
                for (day,), part in days.partition_by("_day", as_dict=True).items():
                    by_day[str(day)] = part.drop("_day")
            for day in self.days_holding(table, tomb):
                by_day.setdefault(day, schema.empty(table))
            for day, part in sorted(by_day.items()):
                self.write_day(table, day, part, tomb)
        return too_old

    def write_state(self, state: bytes) -> None:
        """The correlators' state of this commit (the previous one is superseded)."""
        name = f"state/engine-{self.new.seq:08d}.bin"
        mf.make_dir(self.root / "state")
        mf.write_bytes_atomic(self.root / name, state)
        self.written.append(name)
        if self.new.engine_state:
            self.superseded.add(self.new.engine_state)
        self.new.engine_state = name

    def write_day(self, table: str, day: str, df: pl.DataFrame, tomb: set[str]) -> None:
        """Add `df` to the (table, day) partition: upsert by id for views, else a segment."""
        parts = self.new.parts.setdefault(table, {}).setdefault(day, [])
        if table in ID_TABLES:
            if parts:  # the day's file without the ids replaced or retracted
                old = schema.conform(table, pl.read_parquet([self.root / p.name for p in parts]))
                dead = pl.concat(
                    [df.select("id"), pl.DataFrame({"id": list(tomb)}, schema={"id": pl.String})]
                )
                df = pl.concat([old.join(dead, on="id", how="anti"), df], how="vertical")
            self.superseded |= {p.name for p in parts}
            if df.height:
                parts[:] = [self.write_file(table, day, df, "0")]
            else:
                del self.new.parts[table][day]
            return
        parts.append(self.write_file(table, day, df, "0"))
        self._merge_tiers(table, day, parts)

    def _merge_tiers(self, table: str, day: str, parts: list[mf.Part]) -> None:
        """Four segments of the same size class become one (each row rewritten O(log n))."""
        while True:
            tiers: dict[int, list[mf.Part]] = {}
            for p in parts:
                tiers.setdefault(int(math.log(max(p.rows, 1), MERGE_FAN_IN)), []).append(p)
            full = next((ps for ps in tiers.values() if len(ps) >= MERGE_FAN_IN), None)
            if full is None:
                return
            merged = schema.conform(table, pl.read_parquet([self.root / p.name for p in full]))
            for p in full:
                parts.remove(p)
                self.superseded.add(p.name)
                if p.name in self.written:  # written by this very commit: never installed
                    self.written.remove(p.name)
                    (self.root / p.name).unlink()
            parts.append(self.write_file(table, day, merged, f"m{next(_NAMES)}"))

    def days_holding(self, table: str, ids: set[str]) -> list[str]:
        """Days whose committed partition of `table` holds one of `ids` (retractions)."""
        if not ids or table not in ID_TABLES or not self.new.parts.get(table):
            return []
        files = [str(self.root / f) for f in self.new.files(table)]
        hit = (
            pl.scan_parquet(files, include_file_paths="_f")
            .filter(pl.col("id").is_in(pl.Series(list(ids), dtype=pl.String).implode()))
            .select("_f")
            .unique()
            .collect()
        )
        return sorted({Path(f).parent.name for f in hit["_f"]})
