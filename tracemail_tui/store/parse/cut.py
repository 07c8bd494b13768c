"""Fast, UTF-8-safe string cutting for the parsers (no capture groups).

On Polars 2.1 a regex with capture groups (``str.extract``) runs the slow capturing
engine over the text; finding a position (``str.find``, literal or regex) does not. But
``str.find`` returns a *byte* offset and ``str.slice`` counts *characters*, so the two do
not mix once a line holds a non-ASCII character before the cut. These helpers cut at byte
offsets through the Binary view instead: cutting at the start or end of an ASCII marker
never splits a UTF-8 sequence, so the result is valid text again.
"""

from __future__ import annotations

import polars as pl


def cut(s: pl.Expr, start: pl.Expr | int, length: pl.Expr | int | None = None) -> pl.Expr:
    """``s[start:start+length]`` in bytes (``length`` None: to the end)."""
    return s.cast(pl.Binary).bin.slice(start, length).cast(pl.String)


def nbytes(s: pl.Expr) -> pl.Expr:
    """Length in bytes (UInt32)."""
    return s.str.len_bytes()


def before(s: pl.Expr, marker: str, *, regex: bool = False) -> pl.Expr:
    """Text before the first ``marker`` (null when absent)."""
    p = s.str.find(marker, literal=not regex)
    return pl.when(p.is_not_null()).then(cut(s, 0, p))


def after(s: pl.Expr, marker: str) -> pl.Expr:
    """Text after the first literal ``marker`` (null when absent)."""
    p = s.str.find(marker, literal=True)
    return pl.when(p.is_not_null()).then(cut(s, p + len(marker)))


def upto(s: pl.Expr, stop: str, *, regex: bool = False) -> pl.Expr:
    """Text before the first ``stop``, or all of it when ``stop`` is absent."""
    p = s.str.find(stop, literal=not regex)
    return pl.when(p.is_not_null()).then(cut(s, 0, p)).otherwise(s)


def field(s: pl.Expr, key: str, stop: str = ", ", *, regex_stop: bool = False) -> pl.Expr:
    """Value of the first ``key`` (e.g. ``"rip="``) up to ``stop`` or the end."""
    return upto(after(s, key), stop, regex=regex_stop)
