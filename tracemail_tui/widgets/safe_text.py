"""Hostile log content made safe to show: every control character becomes a visible escape.

Log lines carry whatever a remote peer typed: ANSI/OSC escapes that would drive the
terminal, bidi overrides that reorder what the reader sees, Rich markup that would
restyle the app. Everything the TUI shows from a log goes through here and is then
rendered as `rich.text.Text` (never markup-parsed).
"""

from __future__ import annotations

import re
from typing import Any

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


def notify_safe(node: Any, message: str, **kwargs: Any) -> None:
    """`node.notify` for text that may hold log content: escaped, never markup."""
    node.notify(escape_controls(message), markup=False, **kwargs)
