"""Which columns each view shows, how wide, and how their cells are written.

Pure Polars/Arrow (no Textual), so it runs in the query worker thread: the table widget
receives ready-made, already-escaped strings and never measures a million cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from tracemail_tui.widgets.safe_text import escape_controls

CELL_PADDING = 2  # textual-fastdatatable pads every cell by one space each side


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a results table: the field, its header, its width range, its rank.

    `rank` decides what is dropped when the terminal is narrow (lower shows first);
    columns with `min < max` share whatever width is left over.
    """

    key: str
    label: str
    min: int
    max: int
    rank: int
    want: int = 0  # the width worth dropping lesser columns for (0: same as min)

    @property
    def wanted(self) -> int:
        return max(self.want, self.min)


def _c(key: str, label: str, lo: int, hi: int, rank: int, want: int = 0) -> ColumnSpec:
    return ColumnSpec(key, label, lo, hi, rank, want)


CORE = 6
"""This many top-ranked columns are never dropped to widen others (the 80-column set)."""


# Display order; `rank` is the order they appear in as the terminal widens.
# At 80 columns (79 usable beside the scrollbar) ranks 0-5 of accesses and 0-4 of the mail
# views fit.
SPECS: dict[str, tuple[ColumnSpec, ...]] = {
    "accesses": (
        _c("time", "Time", 8, 8, 0),
        _c("status", "Outcome", 9, 9, 1),
        _c("user", "User", 16, 36, 2, 26),
        _c("protocol", "Proto", 7, 11, 3),
        _c("remote_ip", "From IP", 15, 39, 4),
        _c("error", "Error", 12, 20, 5),
        _c("client", "Client", 12, 30, 6, 18),
        _c("session", "Session", 12, 24, 7),
        _c("logout_time", "Logout", 8, 8, 8),
        _c("bytes_out", "Out", 8, 10, 9),
        _c("bytes_in", "In", 8, 10, 10),
        _c("server", "Server", 8, 16, 11),
    ),
    # Past the 80-column set the reason comes first: "why was it rejected / is it still
    # queued?" is the question on call; where it went (delivery, folder, relay) next.
    "received": (
        _c("time", "Time", 8, 8, 0),
        _c("status", "Outcome", 13, 13, 1),
        _c("sender", "From", 16, 32, 2, 24),
        _c("recipient", "To", 16, 32, 3, 24),
        _c("subject", "Subject", 12, 60, 4, 34),
        _c("reason", "Reason", 20, 60, 5, 30),
        _c("delivery", "Delivery", 9, 9, 6),
        _c("folder", "Folder", 8, 16, 7),
        _c("spam_score", "Spam", 5, 6, 8),
        _c("client_ip", "Client IP", 15, 39, 9),
        _c("dsn", "DSN", 5, 6, 10),
        _c("size", "Size", 7, 9, 11),
        _c("message_id", "Message-ID", 20, 50, 12),
        _c("queue_id", "Queue", 10, 14, 13),
    ),
    "sent": (
        _c("time", "Time", 8, 8, 0),
        _c("status", "Outcome", 11, 11, 1),
        _c("sender", "From", 16, 32, 2, 24),
        _c("recipient", "To", 16, 32, 3, 24),
        _c("subject", "Subject", 12, 60, 4, 34),
        _c("reason", "Reason", 20, 60, 5, 30),
        _c("relay_host", "Relay", 12, 30, 6),
        _c("dsn", "DSN", 5, 6, 7),
        _c("delay", "Delay", 6, 8, 8),
        _c("account", "Account", 16, 30, 9),
        _c("size", "Size", 7, 9, 10),
        _c("message_id", "Message-ID", 20, 50, 11),
        _c("queue_id", "Queue", 10, 14, 12),
    ),
}

ICONS: dict[str, str] = {
    "success": "✓",
    "failed": "✗",
    "accepted": "✓",
    "quarantined": "⚑",
    "rejected": "✗",
    "delivered": "✓",
    "queued": "◷",
}

# The words of the summary line (the table shows the status word itself).
LABELS: dict[str, str] = {
    "success": "Successful",
    "failed": "Failed",
    "accepted": "Accepted",
    "quarantined": "Quarantined",
    "rejected": "Rejected",
    "delivered": "Delivered",
    "queued": "Queued",
}


def outcome(status: str | None) -> str:
    """Icon + word for a status (never colour alone)."""
    if status is None:
        return "? unknown"
    return f"{ICONS.get(status, '?')} {status}"


def fit(view: str, width: int, with_date: bool = False) -> list[tuple[ColumnSpec, int]]:
    """The columns of `view` that fit `width` cells, each with its width, in display order.

    Columns are taken by rank at their minimum width; then, while the flexible ones
    cannot reach the width they want (a readable subject, whole addresses), the
    lowest-ranked extras are dropped again. Spare cells go to `want` first, then evenly
    up to `max`. `with_date`: the time column shows the date too (no day selected).
    """
    specs = [_widen_time(s) if with_date and s.key == "time" else s for s in SPECS[view]]
    chosen: list[ColumnSpec] = []
    used = 0
    for spec in sorted(specs, key=lambda s: s.rank):
        need = spec.min + CELL_PADDING
        if chosen and used + need > width:
            break
        chosen.append(spec)
        used += need
    while len(chosen) > CORE:
        deficit = sum(s.wanted - s.min for s in chosen)
        if width - used >= deficit:
            break
        dropped = chosen.pop()
        used -= dropped.min + CELL_PADDING
    widths = {s.key: s.min for s in chosen}
    spare = max(width - used, 0)
    if spare >= sum(s.wanted - s.min for s in chosen):  # first the wanted widths
        for spec in chosen:
            widths[spec.key] = spec.wanted
            spare -= spec.wanted - spec.min
    growable = [s for s in chosen if s.max > widths[s.key]]
    # Then hand out what is left one round at a time, so flexible columns grow evenly.
    while spare > 0 and growable:
        share = max(spare // len(growable), 1)
        for spec in list(growable):
            grow = min(share, spec.max - widths[spec.key], spare)
            widths[spec.key] += grow
            spare -= grow
            if widths[spec.key] >= spec.max:
                growable.remove(spec)
            if spare == 0:
                break
    keep = {s.key for s in chosen}
    return [(s, widths[s.key]) for s in specs if s.key in keep]


def _widen_time(spec: ColumnSpec) -> ColumnSpec:
    return ColumnSpec(spec.key, spec.label, 14, 14, spec.rank, 14)


Formatter = Callable[[Any], "str | None"]

MAX_CELL_CHARS = 300  # longer values are clipped in the table (the detail modal has them whole)


def _text(value: Any) -> str | None:
    return None if value is None else escape_controls(str(value)[:MAX_CELL_CHARS])


def _number(value: Any) -> str | None:
    if value is None:
        return None
    return f"{value:.1f}" if isinstance(value, float) else str(value)


# The remote server's words are what a reason cell has room for: the relay has its own
# column, and the SMTP stage is in the details. A message deleted from the queue tells
# its last attempt after "; last attempt: " (see correlate/mail.py).
_SAID = re.compile(r"(^|; last attempt: )host \S+\[[^\]]*\] said: ")
_IN_REPLY = re.compile(r" \(in reply to [^()]*\)$")


def _reason(value: Any) -> str | None:
    if value is None:
        return None
    return _text(_IN_REPLY.sub("", _SAID.sub(r"\1", str(value), count=1), count=1))


def _yes_no(value: Any) -> str | None:
    return None if value is None else ("yes" if value else "no")


def formatter(key: str, dtype: pl.DataType, with_date: bool) -> Formatter:
    """How one column's values are written in a cell (escaped, clipped, icon + word).

    Applied lazily, only to the rows on screen: the table never pre-formats 200k rows.
    """
    if key == "status":
        return outcome
    if key == "reason":
        return _reason
    if isinstance(dtype, pl.Datetime):
        fmt = "%m-%d %H:%M:%S" if with_date and key == "time" else "%H:%M:%S"
        return lambda v: None if v is None else v.strftime(fmt)
    if dtype == pl.Boolean:
        return _yes_no
    if dtype.is_numeric():
        return _number
    return _text


def formatters(
    schema: dict[str, pl.DataType], columns: list[tuple[ColumnSpec, int]], with_date: bool
) -> list[Formatter]:
    """One formatter per shown column, in display order."""
    return [formatter(spec.key, schema[spec.key], with_date) for spec, _ in columns]


def raw_table(df: pl.DataFrame, columns: list[tuple[ColumnSpec, int]]) -> pa.Table:
    """The shown columns of `df` as Arrow (unformatted: cells are formatted on render)."""
    return df.select([spec.key for spec, _ in columns]).to_arrow()


def needed_columns(columns: list[tuple[ColumnSpec, int]]) -> list[str]:
    """The source columns a query must fetch to show `columns` (plus id/time/status)."""
    keys = ["id", "time", "status"]
    keys += [s.key for s, _ in columns if s.key not in keys]
    return keys
