"""Day-partitioned Parquet store: the persistent `Source` of the query API.

Layout under the data dir (0700; files 0600)::

    manifest.json                      the commit point (see manifest.py)
    <table>/<YYYY-MM-DD>/<seq>-<k>.parquet
    state/engine-<seq>.bin             correlators' open keys at the last commit

One partition per (table, day); the day is the date of the row's `time` (arrival or
login time, which never changes for an `id`), rows without a time go to the day they
were stored. The three views are upserted by `id`: a day's view partition is one file,
rewritten with the new versions on each commit. `mailbox` and `lines` only grow: each
commit adds a segment, and segments of similar size are merged four at a time (tiered,
so a line is rewritten O(log n) times, not at every commit).

Live latency: `add()` puts rows in a *hot* in-memory layer that `scan()` serves at once
(rows in memory win over rows on disk with the same id); `commit()` flushes it to
Parquet every `flush_interval` seconds or `flush_rows` rows, together with the tailer
checkpoints covering exactly those rows. A crash loses only uncommitted hot rows, and
the old checkpoints make the tailer read those lines again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui.store import manifest as mf
from tracemail_tui.store import schema
from tracemail_tui.store.forget import account_match, rewrite_without
from tracemail_tui.store.hot import ID_TABLES, TABLES, HotLayer, merged
from tracemail_tui.store.partwrite import DayWriter

__all__ = ["TABLES", "ParquetStore", "StoreBusy", "default_root"]


class StoreBusy(RuntimeError):
    """Another process holds the store for writing."""


def default_root() -> Path:
    """The platform's per-user data dir (``~/.local/share/tracemail`` on Linux)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("tracemail"))


class ParquetStore:
    """Views and support tables in day partitions, with a hot in-memory layer."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        retention_days: int = 30,
        readonly: bool = False,
        flush_interval: float = 30.0,
        flush_rows: int = 250_000,
        today: Any = dt.date.today,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention must be at least 1 day")
        self.root = Path(root)
        self.retention_days = retention_days
        self.readonly = readonly
        self.flush_interval, self.flush_rows = flush_interval, flush_rows
        self._today = today
        self._lock = threading.RLock()
        self._gen = 0
        self._lockfd: int | None = None
        self._hot = HotLayer()
        self._flushing: HotLayer | None = None  # being committed, still served by scan
        self._mem_cache: dict[str, tuple[int, pl.DataFrame, set[str]]] = {}
        self._trash: set[str] = set()
        self._bg: threading.Thread | None = None
        self.too_old: dict[str, int] = {}  # rows not stored: older than the retention window
        self._bg_error: BaseException | None = None
        self._mstat: tuple[int, int] | None = None
        if readonly:
            if not (self.root / "manifest.json").is_file():
                raise ValueError(f"no tracemail store at {self.root}")
        else:
            mf.make_dir(self.root)
            os.chmod(self.root, mf.DIR_MODE)  # also when it existed: logs are personal data
            self._take_lock()
        self._manifest = self._load_manifest()
        if not readonly:
            self._remove_orphans()
            self._retention()

    # -- Source protocol ----------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Bumps on every add and commit (and, read-only, when another process commits)."""
        if self.readonly:
            st = self._manifest_stat()
            if st != self._mstat:
                with self._lock:
                    self._manifest = self._load_manifest()
                    self._gen += 1
        return self._gen

    def scan(self, view: str) -> pl.LazyFrame:
        """All rows of `view`: committed partitions plus the hot layer (which wins by id).

        Files carry time statistics per row group, so a date filter applied to this
        frame skips other days without reading them.
        """
        if view not in schema.SCHEMAS:
            raise ValueError(f"unknown view {view!r}")
        with self._lock:
            files = [str(self.root / f) for f in self._manifest.files(view)]
            mem, tomb = self._mem(view)
        sch = schema.SCHEMAS[view]
        parts: list[pl.LazyFrame] = []
        if files:
            cold = pl.scan_parquet(
                files, schema=sch, missing_columns="insert", extra_columns="ignore"
            )
            if view in ID_TABLES and (mem.height or tomb):
                hidden = pl.concat(
                    [mem.select("id"), pl.DataFrame({"id": list(tomb)}, schema={"id": pl.String})]
                )
                cold = cold.join(hidden.lazy(), on="id", how="anti")
            parts.append(cold)
        parts.append(mem.lazy())
        return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]

    # -- writing ------------------------------------------------------------------------

    def add(
        self, frames: dict[str, pl.DataFrame], retract: dict[str, list[str]] | None = None
    ) -> None:
        """Rows from the engine (new or changed versions), and ids it retracted.

        Queryable at once; written to disk by the next `commit`.
        """
        self._writable()
        ready = {t: schema.conform(t, df) for t, df in frames.items() if df.height}
        with self._lock:  # all tables or none: a batch is never half in the store
            self._hot.add(ready, {v: ids for v, ids in (retract or {}).items() if ids})
            self._mem_cache.clear()
            self._gen += 1

    def commit_due(self) -> bool:
        """True when the hot layer is old or big enough to be flushed."""
        if self._bg is not None and self._bg.is_alive():
            return False
        if self._manifest.last_prune != self._today().isoformat():
            return True  # a new day: the retention window moved (commits apply it)
        since = self._hot.since
        return since is not None and (
            self._hot.rows >= self.flush_rows or time.monotonic() - since >= self.flush_interval
        )

    def commit(
        self,
        *,
        checkpoints: list[dict[str, Any]] | None = None,
        engine_state: bytes | None = None,
        sources: dict[str, dict[str, Any]] | None = None,
        background: bool = False,
    ) -> None:
        """Flush the hot layer to Parquet, then record `checkpoints` in the manifest.

        `checkpoints` must describe exactly the input that produced the rows added so
        far: they are committed after (and atomically with) those rows. The rows are
        taken now; with `background` the writing happens in a thread while new rows
        keep arriving (one commit at a time; an error surfaces at the next call).
        """
        self._writable()
        self.wait()
        with self._lock:
            flushing = self._flushing = self._hot
            self._hot = HotLayer()
            self._mem_cache.clear()
        args = (flushing, checkpoints, engine_state, dict(sources) if sources else None)
        if not background:
            self._write_commit(*args)
            return
        self._bg = threading.Thread(target=self._write_commit_bg, args=args, name="store-commit")
        self._bg.start()

    def wait(self) -> None:
        """Wait for a background commit; re-raise its error, if any."""
        if self._bg is not None:
            self._bg.join()
            self._bg = None
        err, self._bg_error = self._bg_error, None
        if err is not None:
            raise err

    def _write_commit_bg(self, *args: Any) -> None:
        try:
            self._write_commit(*args)
        except BaseException as exc:  # handed to the ingest thread by wait()
            self._bg_error = exc

    def _write_commit(
        self,
        flushing: HotLayer,
        checkpoints: list[dict[str, Any]] | None,
        engine_state: bytes | None,
        sources: dict[str, dict[str, Any]] | None,
    ) -> None:
        new = self._manifest.copy()
        new.seq += 1
        w = DayWriter(self.root, new)
        try:
            too_old = w.write_layer(flushing, self._today().isoformat(),
                                    self._cutoff().isoformat())
            for table, n in too_old.items():
                self.too_old[table] = self.too_old.get(table, 0) + n
            if engine_state is not None:
                w.write_state(engine_state)
            if checkpoints is not None:
                new.checkpoints = checkpoints
            if sources:
                new.sources.update(sources)
            self._drop_old_days(new, w.superseded)
            self._write_manifest(new)
        except BaseException:
            for name in w.written:
                (self.root / name).unlink(missing_ok=True)
            with self._lock:  # give the rows back to the hot layer: nothing is lost
                self._hot.absorb_older(flushing)
                self._flushing = None
                self._mem_cache.clear()
            raise
        with self._lock:
            self._manifest = new
            self._flushing = None
            self._mem_cache.clear()
            self._gen += 1
        # Files replaced by the previous commit go now: a scan started before this
        # commit may still have been reading them.
        self._delete(self._trash)
        self._trash = w.superseded

    def prune(self, before: dt.date) -> list[str]:
        """Remove every partition (and hot row) dated before `before`; the days removed."""
        self._writable()
        self.wait()
        new = self._manifest.copy()
        gone, superseded = new.drop_days_before(before.isoformat())
        with self._lock:
            for t in TABLES:
                self._hot.filter(t, pl.col("time").is_null() | (pl.col("time").dt.date() >= before))
            self._mem_cache.clear()
        new.seq += 1
        self._write_manifest(new)
        self._installed(new, superseded)
        return gone

    def forget(self, account: str) -> dict[str, int]:
        """Erase every row about `account` from every table (GDPR); rows removed per table."""
        self._writable()
        self.wait()
        new = self._manifest.copy()
        new.seq += 1
        w = DayWriter(self.root, new)
        with self._lock:
            hot = {t: self._hot.filter(t, ~account_match(t, account)) for t in TABLES}
            self._mem_cache.clear()
        removed = rewrite_without(w, TABLES, account)
        removed = {t: removed[t] + hot[t] for t in TABLES}
        try:
            self._write_manifest(new)
        except BaseException:
            self._delete(set(w.written))
            raise
        self._installed(new, w.superseded)
        self._delete(self._trash)
        self._trash = set()
        return removed

    # -- reading state --------------------------------------------------------------------

    @property
    def manifest(self) -> mf.Manifest:
        return self._manifest

    def checkpoints(self) -> list[dict[str, Any]]:
        """Tailer checkpoints of the last commit."""
        return list(self._manifest.checkpoints)

    def engine_state(self) -> bytes | None:
        """The correlators' saved state of the last commit, if any."""
        name = self._manifest.engine_state
        return (self.root / name).read_bytes() if name else None

    def info(self) -> dict[str, Any]:
        """Size, days, rows per table, last line time per source file."""
        m = self._manifest
        rows = {t: sum(p.rows for ps in m.parts.get(t, {}).values() for p in ps) for t in TABLES}
        with self._lock:
            hot = {t: self._mem(t)[0].height for t in TABLES}
        size = sum(p.bytes for days in m.parts.values() for ps in days.values() for p in ps)
        return {
            "root": str(self.root),
            "bytes": size,
            "days": m.days(),
            "rows": rows,
            "hot_rows": hot,
            "sources": m.sources,
            "commits": m.seq,
            "retention_days": self.retention_days,
        }

    def close(self) -> None:
        """Release the write lock (uncommitted hot rows are dropped: commit first)."""
        self.wait()
        self._delete(self._trash)
        self._trash = set()
        if self._lockfd is not None:
            os.close(self._lockfd)
            self._lockfd = None

    def __enter__(self) -> ParquetStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def _writable(self) -> None:
        if self.readonly:
            raise ValueError(f"store {self.root} is open read-only")

    def _take_lock(self) -> None:
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, mf.FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreBusy(f"store {self.root} is in use by another tracemail process") from None
        self._lockfd = fd

    def _manifest_stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.root / "manifest.json")
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ino

    def _load_manifest(self) -> mf.Manifest:
        path = self.root / "manifest.json"
        self._mstat = self._manifest_stat()
        if not path.is_file():
            return mf.Manifest()
        return mf.Manifest.from_json(path.read_text("utf-8"))

    def _write_manifest(self, new: mf.Manifest) -> None:
        mf.write_bytes_atomic(self.root / "manifest.json", new.to_json().encode())
        self._mstat = self._manifest_stat()

    def _installed(self, new: mf.Manifest, superseded: set[str]) -> None:
        with self._lock:
            self._manifest = new
            self._gen += 1
        self._delete(superseded)

    def _delete(self, names: set[str]) -> None:
        mf.delete_files(self.root, names)

    def _remove_orphans(self) -> None:
        """Files no manifest lists: written by a commit that crashed before its manifest."""
        mf.remove_orphans(self.root, self._manifest.all_files(), [*TABLES, "state"])

    def _cutoff(self) -> dt.date:
        return self._today() - dt.timedelta(days=self.retention_days)

    def _retention(self) -> None:
        """Drop partitions older than the retention window (on open; commits do it too)."""
        new = self._manifest.copy()
        superseded: set[str] = set()
        self._drop_old_days(new, superseded)
        if not superseded and new.last_prune == self._manifest.last_prune:
            return
        new.seq += 1
        self._write_manifest(new)
        self._installed(new, superseded)

    def _drop_old_days(self, new: mf.Manifest, superseded: set[str]) -> None:
        superseded |= new.drop_days_before(self._cutoff().isoformat())[1]
        new.last_prune = self._today().isoformat()

    def _mem(self, table: str) -> tuple[pl.DataFrame, set[str]]:
        """Rows of `table` in memory (hot + being committed) and ids retracted there."""
        hit = self._mem_cache.get(table)
        if hit and hit[0] == self._gen:
            return hit[1], hit[2]
        df, tomb = merged(self._flushing, self._hot, table)
        self._mem_cache[table] = (self._gen, df, tomb)
        return df, tomb
