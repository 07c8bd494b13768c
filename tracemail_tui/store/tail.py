"""Live tailer: read only appended bytes of log files, surviving rotation and truncation.

Design (after lnav's ``logfile.cc``):

* Files are read with ``os.pread`` at an offset, never mmap: a file truncated under an
  mmap raises SIGBUS, a pread just returns fewer bytes.
* A file's *identity* is its family plus a hash of its first line, not its inode: after
  ``rename + create`` the old inode lives on as ``mail.log.1``; after ``copytruncate``
  the copy ``mail.log.1`` is a new inode holding the old first line; after compression
  ``mail.log.2.gz`` is yet another inode with the same first line. Offsets are kept
  per identity (a `Checkpoint`), so each of those picks up exactly where reading stopped.
* Open descriptors are kept, so a file renamed or deleted by logrotate is drained to
  its end before it is dropped; inside a family rotated files are read oldest first.
* Truncation is seen as size < offset, or as a changed first line (truncated and
  rewritten past the old offset between two polls). Reading restarts at 0.
* Only complete lines are emitted: a partial last line waits for its newline (except
  in a finished ``.gz`` file, or a single line longer than a whole batch).
* Reads are bounded (`batch_bytes`), so a burst of millions of lines flows through as
  many batches and memory stays flat.

`Tailer.poll()` is one step (tests drive it directly); `Tailer.follow()` polls, then
waits on watchfiles with a short debounce and polls again on every change.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from tracemail_tui.store.logfiles import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    LogFile,
    discover,
    gzip_isize,
    watch_targets,
)
from tracemail_tui.store.tailtypes import Batch, Checkpoint, TailStats

__all__ = ["Batch", "Checkpoint", "TailStats", "Tailer"]

log = logging.getLogger(__name__)

HEAD_MAX = 4096  # a first line longer than this is identified by its first 4 KiB
GZ_SETTLE_S = 2.0  # a .gz younger than this may still be being written by logrotate


@dataclass
class _Open:
    """A file we hold open; the offset lives in its (shared) checkpoint."""

    lf: LogFile
    dev: int
    ino: int
    fd: int | None = None
    gz: gzip.GzipFile | None = None
    cp: Checkpoint | None = None  # None until the first line is complete
    head_len: int = 0
    pending: bytes = b""  # .gz only: bytes after the last newline of the last chunk
    done: bool = False


def _decode(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    if text.endswith("\n"):
        text = text[:-1]
    lines = text.split("\n")
    # CRLF files: drop the CR so it does not end up in every field.
    if lines and lines[0].endswith("\r"):
        lines = [s[:-1] if s.endswith("\r") else s for s in lines]
    return lines


def _head_of(first: bytes) -> tuple[str, int] | None:
    """Hash and length of the first line, or None while it is not complete."""
    nl = first.find(b"\n")
    if nl < 0 and len(first) < HEAD_MAX:
        return None
    n = nl if 0 <= nl < HEAD_MAX else HEAD_MAX
    return hashlib.blake2b(first[:n], digest_size=8).hexdigest(), n


def _round_robin(gens: list[Iterator[Batch]]) -> Iterator[Batch]:
    """One batch from each generator in turn, each telling which families still have more."""
    ahead: list[Batch | None] = [next(g, None) for g in gens]
    pending = [i for i, b in enumerate(ahead) if b is not None]
    while pending:
        for i in pending:
            b = ahead[i]
            if b is None:
                continue
            ahead[i] = next(gens[i], None)  # look ahead: is this the family's last batch?
            active = frozenset(n.family for j in pending if (n := ahead[j]) is not None)
            yield replace(b, final=ahead[i] is None, active=active)
        pending = [i for i in pending if ahead[i] is not None]


class Tailer:
    """Tail log files under `paths`; yields `Batch`es of complete new lines."""

    def __init__(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        include: tuple[str, ...] = DEFAULT_INCLUDE,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
        checkpoints: Iterable[Checkpoint] = (),
        batch_bytes: int = 4 << 20,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.roots = tuple(os.fspath(p) for p in paths)
        self.include, self.exclude = include, exclude
        self.batch_bytes = batch_bytes
        self.stats = TailStats()
        self._cps: dict[str, Checkpoint] = {c.key: replace(c) for c in checkpoints}
        self._open: dict[tuple[int, int], _Open] = {}
        self._finished: set[tuple[int, int, int]] = set()  # (dev, ino, size) of read .gz
        self._warned: set[str] = set()
        self._on_warning = on_warning

    # -- public API ---------------------------------------------------------------------

    def checkpoints(self) -> list[Checkpoint]:
        """A snapshot of every identity's offset (for persisting)."""
        return [replace(c) for c in self._cps.values()]

    def forget_unseen(self, older_than_s: float) -> None:
        """Drop checkpoints of files not seen for `older_than_s` (rotated away long ago)."""
        cutoff = time.time() - older_than_s
        self._cps = {k: c for k, c in self._cps.items() if c.seen >= cutoff}

    def poll(self) -> Iterator[Batch]:
        """One step: every complete line that is new now.

        Inside a family files are drained oldest first (a file renamed away or deleted
        before the others). Families are interleaved one batch at a time, so a consumer
        can merge them by time without holding a whole file; `Batch.final` marks the
        last batch of a family in this poll.
        """
        files = discover(self.roots, self.include, self.exclude)
        stats: list[tuple[LogFile, os.stat_result]] = []
        for lf in files:
            try:
                stats.append((lf, os.stat(lf.path)))
            except OSError:
                continue  # vanished between listing and stat
        seen = {(st.st_dev, st.st_ino) for _, st in stats}
        families: dict[str, list[tuple[tuple[int, int], _Open, bool]]] = {}
        # Renamed out of sight or deleted: drain through the open descriptor, then close.
        for key, gone in list(self._open.items()):
            if key not in seen:
                families.setdefault(gone.lf.family, []).append((key, gone, True))
        now = time.time()
        for lf, st in stats:
            key = (st.st_dev, st.st_ino)
            state = self._open.get(key)
            if state is None:
                state = self._attach(lf, st)
                if state is None:
                    continue
            elif state.lf.path != lf.path:
                self.stats.rotations += 1
                state.lf = lf
                if state.cp is not None:
                    state.cp.path = lf.path
            if state.cp is not None:
                state.cp.seen = now
            families.setdefault(lf.family, []).append((key, state, False))
        self.stats.files = len(stats)
        yield from _round_robin([self._drain_family(m) for m in families.values()])

    def _drain_family(self, members: list[tuple[tuple[int, int], _Open, bool]]) -> Iterator[Batch]:
        for key, state, orphan in members:
            if not state.done:
                yield from self._drain(state)
            if orphan or state.done:
                self._close(key)

    def follow(
        self,
        stop: threading.Event | None = None,
        *,
        debounce_ms: int = 100,
        step_ms: int = 20,
        timeout_ms: int = 1000,
        on_poll: Callable[[], None] | None = None,
    ) -> Iterator[Batch]:
        """Poll, then keep polling on every file-system change until `stop` is set.

        watchfiles' default debounce (1.6 s) would dominate live latency, hence 100 ms.
        `timeout_ms` also polls when nothing was reported (file systems where inotify
        is blind, a directory that came back) and re-arms the watch when the set of
        watched directories changes. `on_poll` runs after every poll, busy or idle
        (the ingest commits from there).
        """
        from watchfiles import watch  # imported lazily: batch CLI runs never need it

        stop = stop or threading.Event()
        yield from self.poll()
        while not stop.is_set():
            targets = watch_targets(self.roots)
            try:
                for _changes in watch(
                    *targets,
                    watch_filter=None,
                    debounce=debounce_ms,
                    step=step_ms,
                    stop_event=stop,
                    rust_timeout=timeout_ms,
                    yield_on_timeout=True,
                    raise_interrupt=False,
                ):
                    yield from self.poll()
                    if on_poll is not None:
                        on_poll()
                    if stop.is_set() or watch_targets(self.roots) != targets:
                        break
                else:
                    return  # the watch ended by itself: stop event or Ctrl-C
            except (OSError, RuntimeError) as exc:  # directory vanished under the watcher
                self._warn(f"watch {', '.join(targets)}: {exc}; retrying", once=False)
                stop.wait(timeout_ms / 1000)
                yield from self.poll()

    def close(self) -> None:
        """Close every open descriptor."""
        for key in list(self._open):
            self._close(key)

    # -- internals ----------------------------------------------------------------------

    def _warn(self, msg: str, *, once: bool = True) -> None:
        if once and msg in self._warned:
            return
        self._warned.add(msg)
        self.stats.warnings.append(msg)
        del self.stats.warnings[:-100]
        (self._on_warning or log.warning)(msg)

    def _close(self, key: tuple[int, int]) -> None:
        state = self._open.pop(key, None)
        if state is None:
            return
        if state.gz is not None:
            state.gz.close()
        if state.fd is not None:
            os.close(state.fd)

    def _attach(self, lf: LogFile, st: os.stat_result) -> _Open | None:
        """Open a file seen for the first time (or again after a restart)."""
        if lf.gz and (st.st_dev, st.st_ino, st.st_size) in self._finished:
            return None
        if lf.gz and time.time() - st.st_mtime < GZ_SETTLE_S:
            return None  # logrotate may still be compressing it: next poll
        try:
            fd = os.open(lf.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.stats.unreadable += 1
            self._warn(f"cannot read {lf.path}: {exc.strerror or exc}")
            return None
        state = _Open(lf=lf, dev=st.st_dev, ino=st.st_ino, fd=fd)
        if lf.gz:
            os.close(fd)
            state.fd = None
            state.gz = gzip.open(lf.path, "rb")  # closed in _close
        self._open[(st.st_dev, st.st_ino)] = state
        return state

    def _read_head(self, state: _Open) -> bytes:
        if state.gz is not None:
            state.gz.seek(0)
            return state.gz.read(HEAD_MAX)
        assert state.fd is not None
        return os.pread(state.fd, HEAD_MAX, 0)

    def _identify(self, state: _Open, size: int | None, *, reported: bool = False) -> bool:
        """Find (or create) the checkpoint of this file's identity; False if not yet known."""
        got = _head_of(self._read_head(state))
        if got is None:
            return False
        head, state.head_len = got
        key = f"{state.lf.family}|{head}"
        cp = self._cps.get(key)
        if cp is None:
            cp = Checkpoint(state.lf.family, head, state.lf.path, state.dev, state.ino, 0)
            self._cps[key] = cp
        elif size is not None and cp.offset > size:
            cp.offset = 0  # same first line but shorter: truncated and rewritten
            if not reported:  # e.g. truncated while we were not running: say so too
                self._report_truncation(state)
        cp.path, cp.dev, cp.ino, cp.seen = state.lf.path, state.dev, state.ino, time.time()
        state.cp = cp
        return True

    def _drain(self, state: _Open) -> Iterator[Batch]:
        try:
            if state.gz is not None:
                yield from self._drain_gz(state)
            else:
                yield from self._drain_plain(state)
        except (OSError, EOFError, zlib.error) as exc:
            self.stats.unreadable += 1
            self._warn(f"cannot read {state.lf.path}: {exc}")
            state.done = True

    def _drain_plain(self, state: _Open) -> Iterator[Batch]:
        assert state.fd is not None
        size = os.fstat(state.fd).st_size
        cp = state.cp
        reported = False
        if cp is not None and size < cp.offset:
            self._truncated(state)
            cp, reported = None, True
        elif cp is not None and size > cp.offset:
            # Truncated and rewritten past our offset between two polls: first line differs.
            got = _head_of(os.pread(state.fd, HEAD_MAX, 0))
            if got is None or got[0] != cp.head:
                self._truncated(state)
                cp, reported = None, True
        if cp is None:
            if not self._identify(state, size, reported=reported):
                return
            cp = state.cp
            assert cp is not None
        while cp.offset < size:
            want = min(self.batch_bytes, size - cp.offset)
            data = os.pread(state.fd, want, cp.offset)
            if not data:
                break
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) < self.batch_bytes:
                    break  # partial last line: wait for its newline
                cut = len(data)  # one line longer than a batch: emit it rather than stall
                self.stats.overlong += 1
            yield self._emit(state, cp, data[:cut])

    def _drain_gz(self, state: _Open) -> Iterator[Batch]:
        assert state.gz is not None
        if state.cp is None:
            if not self._identify(state, None):
                state.done = True  # an empty archive
                return
            cp = state.cp
            assert cp is not None
            isize = gzip_isize(state.lf.path)
            if cp.offset and isize == cp.offset % (1 << 32):
                state.done = True  # read before, as the plain file it was
                self._finished.add((state.dev, state.ino, os.stat(state.lf.path).st_size))
                return
            state.gz.seek(cp.offset)
        cp = state.cp
        assert cp is not None
        while True:
            chunk = state.gz.read(self.batch_bytes)
            data = state.pending + chunk
            if not chunk:
                if data:  # a finished archive: its unterminated last line is final
                    state.pending = b""
                    yield self._emit(state, cp, data)
                state.done = True
                self._finished.add((state.dev, state.ino, os.stat(state.lf.path).st_size))
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) < self.batch_bytes:
                state.pending = data
                continue
            cut = cut or len(data)
            state.pending = data[cut:]
            yield self._emit(state, cp, data[:cut])

    def _truncated(self, state: _Open) -> None:
        self._report_truncation(state)
        state.cp = None

    def _report_truncation(self, state: _Open) -> None:
        self.stats.truncations += 1
        self._warn(f"{state.lf.path} was truncated; read again from its start", once=False)

    def _emit(self, state: _Open, cp: Checkpoint, data: bytes) -> Batch:
        start = cp.offset
        cp.offset += len(data)
        lines = _decode(data)
        self.stats.batches += 1
        self.stats.lines += len(lines)
        self.stats.bytes += len(data)
        return Batch(
            path=state.lf.path,
            family=state.lf.family,
            start=start,
            end=cp.offset,
            data=data,
            lines=lines,
            checkpoint=replace(cp),
        )
