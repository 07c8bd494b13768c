"""CLI → Source wiring for the app, in one place so the real live store can be swapped in.

`open_paths()`: one engine run over PATHs into memory (evidence re-read from the files).
`open_demo()`: the demo log set in a scratch directory, the live generator appending to
it, and a small follower feeding the appended lines to the same incremental `Engine`.
When `store/tail.py` + `store/partitions.py` land, both become "open the Parquet store
and start the tailer"; nothing else in the TUI changes (it only sees a `Source`).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui.store import engine, schema, sources
from tracemail_tui.store.parse.header import split_lines
from tracemail_tui.store.query import MemoryStore, Source

FOLLOW_S = 1.0  # how often the demo follower reads what the generator appended
DEMO_RATE = 8.0  # generated lines per second in the demo


@dataclass
class Session:
    """A source for the app, and how to stop whatever feeds it."""

    source: Source
    close: Callable[[], None] = field(default=lambda: None)


class EngineStore(MemoryStore):
    """Views of an engine run, plus the evidence lookup over the files they came from."""

    def __init__(self, result: engine.Result) -> None:
        super().__init__({v: result.views[v] for v in engine.VIEWS_OUT if v in result.views})
        self.result = result
        self.lock = threading.Lock()

    def evidence(self, view: str, row: Mapping[str, Any]) -> pl.DataFrame:
        """The raw log lines behind `row` (the app's detail modal and PDF use this)."""
        return engine.evidence(self.result, view, row)

    def upsert(self, delta: engine.Delta) -> None:
        """Apply what one chunk changed: new/changed rows by id, retracted ids removed."""
        frames: dict[str, pl.DataFrame] = {}
        with self.lock:
            for view, rows in delta.rows.items():
                retracted = delta.retracted.get(view) or []
                if rows.height == 0 and not retracted:
                    continue
                old = self.scan(view).collect()
                df = pl.concat([old, schema.conform(view, rows)], how="vertical_relaxed")
                if view != "mailbox":
                    df = df.unique("id", keep="last", maintain_order=True)
                    if retracted:
                        df = df.filter(~pl.col("id").is_in(retracted))
                frames[view] = df.sort("time", nulls_last=True, maintain_order=True)
            if frames:
                self.replace(frames)


def open_paths(paths: list[Path]) -> Session:
    """The views of the logs under `paths` (files or directories).

    Raises ValueError/OSError (the CLI turns them into exit 2) when unreadable.
    """
    for path in paths:
        if not path.exists():
            raise OSError(f"no such file or directory: {path}")
    return Session(EngineStore(engine.run(paths)))


class _Follower:
    """Reads lines appended to the demo files and feeds them to the running engine.

    A stand-in for `store/tail.py` (no rotation/truncation handling: the demo files
    only grow).
    """

    def __init__(self, store: EngineStore, eng: engine.Engine, srcs: list[sources.Source]) -> None:
        self.store = store
        self.engine = eng
        self.srcs = srcs
        self.offsets = {s.path: s.path.stat().st_size for s in srcs}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(FOLLOW_S):
            frames = [f for s in self.srcs if (f := self._new_lines(s)) is not None]
            if frames:
                chunk = pl.concat(frames, how="vertical_relaxed").sort("time", nulls_last=True)
                self.store.upsert(self.engine.feed(chunk))

    def _new_lines(self, src: sources.Source) -> pl.DataFrame | None:
        with open(src.path, "rb") as fh:
            fh.seek(self.offsets[src.path])
            data = fh.read()
        cut = data.rfind(b"\n")
        if cut < 0:
            return None
        self.offsets[src.path] += cut + 1
        raw = sources._decode(data[: cut + 1])
        return split_lines(raw, host=src.host, year=src.year, mtime=src.mtime) if len(raw) else None


def open_demo(live: bool = True) -> Session:
    """The bundled demo logs (copied to a scratch dir), with new lines arriving live."""
    from tracemail_tui.gen.demo import make_demo
    from tracemail_tui.gen.live import run_live

    scratch = Path(tempfile.mkdtemp(prefix="tracemail-demo-"))
    make_demo(scratch)
    eng = engine.Engine()
    store = EngineStore(engine.run([scratch], engine=eng))
    if not live:
        return Session(store, lambda: shutil.rmtree(scratch, ignore_errors=True))
    follower = _Follower(store, eng, sources.sources([scratch]))
    threads = [
        threading.Thread(
            target=run_live,
            args=(scratch, DEMO_RATE, follower.stop),
            name="demo-generator",
            daemon=True,
        ),
        threading.Thread(target=follower.run, name="demo-follower", daemon=True),
    ]
    for t in threads:
        t.start()

    def close() -> None:
        follower.stop.set()
        for t in threads:
            t.join(timeout=2)
        shutil.rmtree(scratch, ignore_errors=True)

    return Session(store, close)
