"""Hostile log content made safe to show: every control character becomes a visible escape.

Log lines carry whatever a remote peer typed: ANSI/OSC escapes that would drive the
terminal, bidi overrides that reorder what the reader sees, Rich markup that would
restyle the app. Everything the TUI shows from a log goes through here and is then
rendered as `rich.text.Text` (never markup-parsed).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tracemail_tui.export.text import visible

# The same escapes as the CLI and the reports (export/text.py): ESC as "\x1b", bidi
# overrides as "\u202e", so a value reads alike on screen and on paper.
escape_controls = visible


def safe_text(value: object, style: str = "") -> Text:
    """A `Text` that shows `value` literally (no markup, no escapes reaching the terminal)."""
    if value is None:
        return Text("—", style="dim")
    return Text(escape_controls(str(value)), style=style)


def notify_safe(node: Any, message: str, **kwargs: Any) -> None:
    """`node.notify` for text that may hold log content: escaped, never markup."""
    node.notify(escape_controls(message), markup=False, **kwargs)
