"""Where generated lines go: a time-ordered heap, per-file buffers, ground truth.

Episodes emit events at future times (a logout an hour later, a deferred retry);
the heap releases them in time order, so every file is written in time order.
"""

from __future__ import annotations

import heapq
import itertools
import json
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from tracemail_tui.gen.stamps import Stamper

_FLUSH_LINES = 8192  # per file; about 1.5 MB


class Sink:
    """Buffers lines per file and writes complete lines with buffered I/O."""

    def __init__(self, outdir: Path, truth_path: Path | None = None, append: bool = False) -> None:
        self.outdir = outdir
        self.mode = "a" if append else "w"
        self.paths: list[Path] = []
        self.stampers: list[Stamper] = []
        self.buffers: list[list[str]] = []
        self.handles: list[BinaryIO | None] = []
        self.heap: list[tuple[float, int, int, str]] = []
        self.seq = itertools.count()
        self.lines = 0  # lines written (released from the heap)
        self.truth: IO[str] | None = None
        if truth_path is not None:
            truth_path.parent.mkdir(parents=True, exist_ok=True)
            self.truth = open(truth_path, self.mode, encoding="utf-8")

    def add_file(self, rel: str, style: str) -> int:
        """Register `outdir/rel` with its timestamp style; returns its file id."""
        self.paths.append(self.outdir / rel)
        self.stampers.append(Stamper(style))
        self.buffers.append([])
        self.handles.append(None)
        return len(self.paths) - 1

    def emit(self, t: float, fid: int, body: str) -> None:
        """Queue one line (without timestamp) for file `fid` at time `t`."""
        heapq.heappush(self.heap, (t, next(self.seq), fid, body))

    @property
    def emitted(self) -> int:
        """Lines emitted so far (written or still queued)."""
        return self.lines + len(self.heap)

    def record(self, rec: dict[str, Any]) -> None:
        """Write one ground-truth record (JSONL) when truth output is on."""
        if self.truth is not None:
            self.truth.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")

    def release(self, until: float) -> int:
        """Move every queued line with time <= `until` into the file buffers."""
        heap, pop = self.heap, heapq.heappop
        stampers, buffers = self.stampers, self.buffers
        n = 0
        while heap and heap[0][0] <= until:
            t, _, fid, body = pop(heap)
            buf = buffers[fid]
            buf.append(f"{stampers[fid](t)} {body}\n")
            n += 1
            if len(buf) >= _FLUSH_LINES:
                self._write(fid)
        self.lines += n
        return n

    def drop_after(self, t_end: float) -> None:
        """Forget queued lines later than `t_end` (retries past the end of the run)."""
        self.heap[:] = [e for e in self.heap if e[0] <= t_end]  # in place: Ctx holds it
        heapq.heapify(self.heap)

    def _write(self, fid: int) -> None:
        """One unbuffered write of whole lines, so a tailer never sees half a line."""
        buf = self.buffers[fid]
        if not buf:
            return
        fh = self.handles[fid]
        if fh is None:
            path = self.paths[fid]
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = cast(BinaryIO, open(path, self.mode + "b", buffering=0))
            self.handles[fid] = fh
        data = memoryview("".join(buf).encode("utf-8", "surrogateescape"))
        while data:
            n = fh.write(data) or 0
            data = data[n:]
        buf.clear()

    def flush(self) -> None:
        """Write all buffered lines to disk (complete lines only)."""
        for fid in range(len(self.paths)):
            self._write(fid)
        if self.truth is not None:
            self.truth.flush()

    def close(self) -> None:
        """Flush and close every file."""
        self.flush()
        for fh in self.handles:
            if fh is not None:
                fh.close()
        self.handles = [None] * len(self.handles)
        if self.truth is not None:
            self.truth.close()
            self.truth = None
