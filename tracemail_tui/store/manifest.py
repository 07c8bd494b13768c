"""The store's manifest and crash-safe file writing.

The manifest (``manifest.json``) is the single commit point of the store: it lists the
Parquet files that make up each (table, day) partition, the tailer checkpoints and the
correlators' saved state. Data files are written first (temp file, fsync, rename, fsync
of the directory), the manifest last (same dance). A crash at any point leaves either the
old manifest, whose files are all still there, or the new one: files written but not yet
listed are orphans, removed on the next open. So checkpoints are always committed after
the data they cover, and nothing checkpointed is ever lost.

Logs hold personal data: files are 0600 and directories 0700.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILE_MODE = 0o600
DIR_MODE = 0o700
VERSION = 1


def make_dir(path: Path) -> None:
    """Create `path` and any missing parents, private to the owner (umask notwithstanding)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(d, DIR_MODE)


def fsync_dir(path: Path) -> None:
    """Make a rename/unlink in `path` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write `path` through a temp file in the same directory: whole or not at all."""
    tmp = path.with_name(f".tmp-{secrets.token_hex(6)}-{path.name}")
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, lambda p: p.write_bytes(data))


@dataclass
class Part:
    """One Parquet file of a partition."""

    name: str  # relative to the store root
    rows: int
    bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "bytes": self.bytes}


@dataclass
class Manifest:
    """What is committed: files per table and day, checkpoints, engine state, sources."""

    seq: int = 0
    parts: dict[str, dict[str, list[Part]]] = field(default_factory=dict)  # table -> day -> parts
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    engine_state: str | None = None  # file name under the root
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> last time, lines
    last_prune: str | None = None  # ISO date of the last retention run

    def files(self, table: str) -> list[str]:
        return [p.name for day in sorted(self.parts.get(table, {})) for p in self.parts[table][day]]

    def all_files(self) -> set[str]:
        out = {p.name for days in self.parts.values() for ps in days.values() for p in ps}
        if self.engine_state:
            out.add(self.engine_state)
        return out

    def days(self) -> list[str]:
        return sorted({d for days in self.parts.values() for d in days})

    def drop_days_before(self, day: str) -> tuple[list[str], set[str]]:
        """Remove every table's partitions dated before `day` (ISO); the days removed and
        the names of their files (to delete once this manifest is installed)."""
        gone = sorted({d for days in self.parts.values() for d in days if d < day})
        files: set[str] = set()
        for days in self.parts.values():
            for d in gone:
                files |= {p.name for p in days.pop(d, [])}
        return gone, files

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": VERSION,
                "seq": self.seq,
                "parts": {
                    t: {d: [p.to_dict() for p in ps] for d, ps in days.items()}
                    for t, days in self.parts.items()
                },
                "checkpoints": self.checkpoints,
                "engine_state": self.engine_state,
                "sources": self.sources,
                "last_prune": self.last_prune,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        if d.get("version") != VERSION:
            raise ValueError(f"unsupported store version {d.get('version')!r}")
        return cls(
            seq=int(d["seq"]),
            parts={
                t: {day: [Part(**p) for p in ps] for day, ps in days.items()}
                for t, days in d.get("parts", {}).items()
            },
            checkpoints=list(d.get("checkpoints", [])),
            engine_state=d.get("engine_state"),
            sources=dict(d.get("sources", {})),
            last_prune=d.get("last_prune"),
        )

    def copy(self) -> Manifest:
        return Manifest.from_json(self.to_json())


def delete_files(root: Path, names: set[str]) -> None:
    """Delete `names` (relative to `root`) and the day directories they leave empty."""
    for name in names:
        (root / name).unlink(missing_ok=True)
        parent = (root / name).parent
        if parent != root and not any(parent.iterdir()):
            parent.rmdir()


def remove_orphans(root: Path, keep: set[str], dirs: list[str]) -> None:
    """Files under `dirs` that `keep` does not list: written by a commit that crashed
    before its manifest. Empty directories go too."""
    for sub in dirs:
        base = root / sub
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*"), reverse=True):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in keep:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
