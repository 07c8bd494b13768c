"""What the tailer hands out: batches of complete lines and the checkpoints behind them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Checkpoint:
    """How far one file identity has been read. Persist these after the data they cover."""

    family: str
    head: str  # hash of the first line
    path: str  # where it was last seen
    dev: int
    ino: int
    offset: int  # bytes consumed (of the decompressed stream for .gz)
    seen: float = 0.0  # wall clock of the last poll that saw it

    @property
    def key(self) -> str:
        return f"{self.family}|{self.head}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Checkpoint:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True)
class Batch:
    """Complete lines read from one file: ``lines[i]`` ends before byte ``end``.

    `data` is the raw bytes (``start``..``end``); `lines` the same text decoded as
    UTF-8 with invalid bytes replaced (never dropped), without newlines.
    `checkpoint` is the state to persist once this batch's results are stored.
    """

    path: str
    family: str
    start: int
    end: int
    data: bytes
    lines: list[str]
    checkpoint: Checkpoint
    final: bool = False  # the last batch of its family in this poll
    active: frozenset[str] = frozenset()  # families with more batches to come in this poll

    def line_offsets(self) -> list[int]:
        """Byte offset in the file where each line starts."""
        out, pos = [], self.start
        for seg in self.data.split(b"\n")[: len(self.lines)]:
            out.append(pos)
            pos += len(seg) + 1
        return out


@dataclass
class TailStats:
    """Counters for `store info` and warnings; a warning is never silent."""

    files: int = 0
    batches: int = 0
    lines: int = 0
    bytes: int = 0
    rotations: int = 0
    truncations: int = 0
    unreadable: int = 0
    overlong: int = 0
    warnings: list[str] = field(default_factory=list)
