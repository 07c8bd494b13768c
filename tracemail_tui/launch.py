"""CLI → Source wiring for the app, in one place so the real store can be swapped in.

`open_paths()` should become: engine over PATHs into the Parquet store + live tailer
(`store/engine.py`, `store/tail.py`, `store/partitions.py`); `open_demo()` should become
the live generator of `gen/` writing logs that the same tailer follows. Until those land,
paths fail with a clear error and the demo runs on synthetic frames that grow live.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tracemail_tui import synthetic
from tracemail_tui.store.query import MemoryStore, Source


@dataclass
class Session:
    """A source for the app, and how to stop whatever feeds it."""

    source: Source
    close: Callable[[], None] = field(default=lambda: None)


def open_paths(paths: list[Path]) -> Session:
    """The views of the logs under `paths` (files or directories).

    Raises ValueError/OSError (the CLI turns them into exit 2) when unreadable.
    """
    for path in paths:
        if not path.exists():
            raise OSError(f"no such file or directory: {path}")
    try:
        from tracemail_tui.store import engine  # type: ignore[attr-defined]
    except ImportError as exc:
        raise ValueError(
            "reading log files needs the engine (store/engine.py), not built yet; "
            "try `tracemail demo`"
        ) from exc
    frames = engine.run(paths)  # expected: dict view -> DataFrame
    return Session(MemoryStore(dict(frames)))


class _SyntheticFeed:
    """Appends a few synthetic rows per view every `interval` seconds (demo only)."""

    def __init__(self, store: MemoryStore, day: dt.date, interval: float = 1.0) -> None:
        self.store = store
        self.day = day
        self.interval = interval
        self._stop = threading.Event()
        self._n = 0
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._n += 1
            now = dt.datetime.now()
            # a different slice of a small synthetic day each tick, so rows vary
            fresh = {
                v: df.slice((self._n * 3) % 297, 3)
                for v, df in synthetic.frames(300, day=self.day, hostile=False).items()
            }
            frames: dict[str, pl.DataFrame] = {}
            for view, df in fresh.items():
                df = df.with_columns(
                    id=pl.format(
                        "{}-live{}-{}", pl.col("id"), pl.lit(self._n), pl.int_range(pl.len())
                    ),
                    time=pl.lit(now),
                )
                frames[view] = pl.concat([self.store.scan(view).collect(), df])
            self.store.replace(frames)


def open_demo(live: bool = True, rows: int = 20_000) -> Session:
    """The bundled demo: a day of synthetic traffic ending now, growing every second."""
    now = dt.datetime.now()
    today = now.date()
    # A synthetic day shifted so that it ends now: the newest rows are "just arrived".
    shift = dt.datetime.combine(today + dt.timedelta(days=1), dt.time()) - now
    frames = {
        view: df.with_columns(pl.col(pl.Datetime) - shift)
        for view, df in synthetic.frames(rows, day=today, hostile=True).items()
    }
    store = MemoryStore(frames)
    if not live:
        return Session(store)
    feed = _SyntheticFeed(store, today)
    feed.start()
    return Session(store, feed.close)
