"""CLI → Source wiring for the app, in one place: the Parquet store, fed live.

`open_paths(paths)`: an `Ingestor` tails `paths` into the configured store (history kept
for the retention window). When another process (`tracemail ingest --follow`) already
writes that store, it is opened read-only and the app follows its commits instead.
`open_demo()`: the demo log set and a store, both in scratch directories, with the live
generator appending to the logs; everything is removed at exit.

The backfill runs in a background thread, so the app's first screen shows at once and
fills in as batches reach the store's hot layer; the same thread then follows the files.
`Session.status()` says how far it got ("reading logs… 45%") for the app's status line,
and what went wrong lately (an unreadable or truncated log file) so it is not only logged.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from tracemail_tui import config
from tracemail_tui.export.text import visible
from tracemail_tui.store.ingest import Ingestor
from tracemail_tui.store.partitions import ParquetStore, StoreBusy
from tracemail_tui.store.query import Source
from tracemail_tui.store.tail import Batch

log = logging.getLogger(__name__)

DEMO_RATE = 10.0  # generated lines per second in the demo
DEMO_RETENTION_DAYS = 36500  # fixed-date logs (the demo, `search --follow`): never aged out
STOP_TIMEOUT_S = 10.0  # how long quitting waits for the ingest thread's last commit
WARNING_SHOWN_S = 300.0  # how long an ingest warning stays in the status line
STATUS_CHARS = 56  # a warning is cut to this in the status line (80 columns); full text in the log


class Session:
    """A source for the app, what feeds it, and how to stop it.

    `progress` is the backfill's share read (0..1) while it runs, None otherwise;
    `note` a standing remark (read-only store), `error` why ingest stopped, if it did;
    `warnings` the latest ingest warnings (monotonic time, text), newest last.
    """

    def __init__(self, source: Source, *, note: str = "") -> None:
        self.source = source
        self.note = note
        self.progress: float | None = None
        self.error: str | None = None
        self.warnings: deque[tuple[float, str]] = deque(maxlen=20)
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._cleanup: list[Callable[[], None]] = []

    def warn(self, message: str) -> None:
        """An ingest warning (called from the ingest thread): logged and shown a while."""
        log.warning("%s", message)
        self.warnings.append((time.monotonic(), message))

    def status(self) -> str:
        """One short line for the app: error, backfill progress, latest warning or note."""
        if self.error:
            return f"ingest stopped: {_short(self.error)}"
        if self.progress is not None:
            return f"reading logs… {int(self.progress * 100)}%"
        recent = [m for t, m in list(self.warnings) if time.monotonic() - t < WARNING_SHOWN_S]
        if recent:
            more = f" (+{len(recent) - 1} more)" if len(recent) > 1 else ""
            return f"⚠ {_short(recent[-1])}{more}"
        return self.note

    def start(self, target: Callable[[], object], name: str) -> None:
        """Run `target` in a daemon thread until `close()` sets `stop`."""
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run `fn` at close, after the threads stopped (in the order registered)."""
        self._cleanup.append(fn)

    def close(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=STOP_TIMEOUT_S)
        for fn in self._cleanup:
            fn()
        self._cleanup.clear()


# A path of three or more parts: only its last two are shown ("mx1/mail.log").
_LONG_PATH = re.compile(r"/(?:[^/\s:;]+/)+([^/\s:;]+/[^/\s:;]+)")


def _short(text: str) -> str:
    """A message for the status line (the log keeps the whole text): control characters
    visible (file names are hostile too), paths shortened to their last two parts, then
    cut in the middle to fit 80 columns beside the live state."""
    text = _LONG_PATH.sub(r"\1", visible(text))
    if len(text) <= STATUS_CHARS:
        return text
    head = STATUS_CHARS // 3
    return text[:head] + "…" + text[len(text) - (STATUS_CHARS - head - 1):]


def _ingest(session: Session, ingestor: Ingestor) -> None:
    """The ingest thread: backfill (stoppable, with progress), then follow until stop."""
    session.progress = 0.0
    try:
        total = max(ingestor.pending_bytes(), 1)
        done = 0

        def read(batch: Batch) -> None:
            nonlocal done
            done += len(batch.data)  # decompressed bytes of archives: capped below
            session.progress = min(done / total, 0.99)

        # The tailer's first poll is the backfill; `run` commits exactly what was
        # handled when the app quits half-way.
        batches = itertools.takewhile(lambda _: not session.stop.is_set(), ingestor.tailer.poll())
        ingestor.run(batches, on_batch=read)
        session.progress = None
        if not session.stop.is_set():
            ingestor.follow(session.stop)
    except Exception as exc:  # shown in the status line; the app keeps what it has
        log.exception("ingest failed")
        session.error = str(exc) or type(exc).__name__
    finally:
        session.progress = None


def live_session(store: ParquetStore, paths: list[Path], hosts: dict[str, str]) -> Session:
    """A session whose thread tails `paths` into the writable `store`."""
    session = Session(store)
    ingestor = Ingestor(store, [str(p) for p in paths], hosts=hosts, on_warning=session.warn)
    session.on_close(store.close)
    session.start(lambda: _ingest(session, ingestor), "tracemail-ingest")
    return session


def check_paths(paths: list[Path]) -> None:
    """OSError naming the first of `paths` that does not exist (a tail would wait for it
    silently; the CLI says so and exits 2)."""
    for path in paths:
        if not path.exists():
            raise OSError(f"no such file or directory: {path}")


def open_paths(paths: list[Path]) -> Session:
    """The configured store, fed live from the logs under `paths` (files or directories).

    Raises ValueError/OSError (the CLI turns them into exit 2) when a path is missing
    or the store cannot be opened.
    """
    check_paths(paths)
    cfg = config.load()
    try:
        store = ParquetStore(cfg.store, retention_days=cfg.retention_days)
    except StoreBusy:
        # `tracemail ingest --follow` owns it: show what it commits (every flush).
        store = ParquetStore(cfg.store, retention_days=cfg.retention_days, readonly=True)
        session = Session(store, note="read-only: another tracemail process ingests")
        session.on_close(store.close)
        return session
    return live_session(store, paths, cfg.hosts)


def open_demo() -> Session:
    """The bundled demo logs (copied to a scratch dir) in a scratch store, growing live."""
    from tracemail_tui.gen.demo import DEMO_END, make_demo
    from tracemail_tui.gen.live import run_live

    scratch = Path(tempfile.mkdtemp(prefix="tracemail-demo-"))
    try:
        logs = make_demo(scratch / "logs")
        store = ParquetStore(scratch / "store", retention_days=DEMO_RETENTION_DAYS)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    session = live_session(store, [logs], {})
    session.on_close(lambda: shutil.rmtree(scratch, ignore_errors=True))
    # Live lines continue the bundled logs' timeline (fixed dates), so they land on the
    # day the app opens on, whatever the calendar says.
    session.start(
        lambda: run_live(logs, DEMO_RATE, session.stop, start=DEMO_END),
        "tracemail-demo-generator",
    )
    return session
