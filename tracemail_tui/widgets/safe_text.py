"""Hostile log content made safe to show: every control character becomes a visible escape.

Log lines carry whatever a remote peer typed: ANSI/OSC escapes that would drive the
terminal, bidi overrides that reorder what the reader sees, Rich markup that would
restyle the app. Everything the TUI shows from a log goes through here and is then
rendered as `rich.text.Text` (never markup-parsed).
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from rich.text import Text

# C0 and C1 controls, DEL, and the invisible bidi / direction marks and overrides.
CONTROL_CLASS = r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
_CONTROL_RE = re.compile(CONTROL_CLASS)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _visible(match: re.Match[str]) -> str:
    ch = match.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(value: str) -> str:
    """`value` with every control / bidi character replaced by a visible escape."""
    return _CONTROL_RE.sub(_visible, value)


def safe_text(value: object, style: str = "") -> Text:
    """A `Text` that shows `value` literally (no markup, no escapes reaching the terminal)."""
    if value is None:
        return Text("—", style="dim")
    return Text(escape_controls(str(value)), style=style)


def safe_series(series: pl.Series, max_chars: int = 300) -> pl.Series:
    """Vectorised `escape_controls` + clipping for a String series.

    Rows without control characters (nearly all) stay in Polars; only the rare hostile
    ones go through Python, and are scattered back in place.
    """
    clipped = series.str.slice(0, max_chars)
    mask = clipped.str.contains(CONTROL_CLASS).fill_null(False)
    if not mask.any():
        return clipped
    idx = mask.arg_true()
    fixed = pl.Series([escape_controls(v) for v in clipped.gather(idx)], dtype=pl.String)
    return clipped.scatter(idx, fixed)


def notify_safe(node: Any, message: str, **kwargs: Any) -> None:
    """`node.notify` for text that may hold log content: escaped, never markup."""
    node.notify(escape_controls(message), markup=False, **kwargs)
