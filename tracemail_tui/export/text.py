"""Make hostile log text safe to show: every control or invisible character made visible.

The one escaper of the app: the TUI (widgets/safe_text.py), the CLI's tables, the status
line and the PDF reports all show a value the same way.

Log content is attacker-controlled (subjects, HELO names, user names). In a PDF, ANSI/OSC
escapes and Rich markup are not interpreted anyway, but control characters would vanish
or garble lines and bidi overrides would reorder what the reader sees. We render them as
escapes (``\\x1b``, ``\\u202e``) so the report shows exactly what was logged.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Final

NULL: Final = "—"
"""How an unknown (null) value is shown in reports."""

_NAMED: Final = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
# Bidi embeddings/overrides/isolates and marks, invisible separators and BOM. ZWJ/ZWNJ
# (200C/200D) stay: scripts such as Persian need them and they cannot reorder text.
_INVISIBLE: Final = (
    0x061C, 0x200B, 0x200E, 0x200F, 0x2028, 0x2029, 0x2060, 0xFEFF,
    *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
    *range(0x2066, 0x206A),  # LRI RLI FSI PDI
)


def _table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]:
        table[code] = _NAMED.get(code, f"\\x{code:02x}")
    for code in _INVISIBLE:
        table[code] = f"\\u{code:04x}"
    return table


_VISIBLE: Final = _table()

ESCAPED_CLASS: Final = "[" + "".join(f"\\x{{{c:x}}}" for c in sorted(_VISIBLE)) + "]"
"""A regex class (Rust syntax, for Polars) of the characters `visible` escapes: a
column's values that match it are the only ones that need `visible` at all."""


def visible(text: str) -> str:
    """`text` with control, bidi-override and invisible characters shown as escapes."""
    text = text.translate(_VISIBLE)
    try:
        text.encode("utf-8")  # C speed; fails only on lone surrogates (bad UTF-8 input)
    except UnicodeEncodeError:
        text = "".join(f"\\u{ord(ch):04x}" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def iso(value: dt.datetime) -> str:
    """ISO 8601 local time, with fractions only when non-zero (trailing zeros trimmed)."""
    text = value.replace(tzinfo=None).isoformat(timespec="microseconds")
    head, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{head}.{frac}" if frac else head


def show(value: object) -> str:
    """One field value as text for a report: null as an em dash, text made visible."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    if isinstance(value, list | tuple):
        return ", ".join(show(v) for v in value) or NULL
    return visible(str(value))


def human_bytes(n: float) -> str:
    """`512 B`, `21.4 KB`, `3.3 MB`, `5.0 GB` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
