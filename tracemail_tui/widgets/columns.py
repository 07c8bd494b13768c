"""Which columns each view shows, how wide, and how their cells are written.

Pure Polars/Arrow (no Textual), so it runs in the query worker thread: the table widget
receives ready-made, already-escaped strings and never measures a million cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from tracemail_tui.widgets.safe_text import safe_series

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


def _c(key: str, label: str, lo: int, hi: int, rank: int) -> ColumnSpec:
    return ColumnSpec(key, label, lo, hi, rank)


# Display order; `rank` is the order they appear in as the terminal widens.
# At 80 columns (79 usable beside the scrollbar) the rank 0-5 set of each view fits.
SPECS: dict[str, tuple[ColumnSpec, ...]] = {
    "accesses": (
        _c("time", "Time", 8, 8, 0),
        _c("status", "Outcome", 9, 9, 1),
        _c("user", "User", 16, 36, 2),
        _c("protocol", "Proto", 7, 11, 3),
        _c("remote_ip", "From IP", 15, 15, 4),
        _c("error", "Error", 12, 20, 5),
        _c("client", "Client", 12, 30, 6),
        _c("session", "Session", 12, 24, 7),
        _c("logout_time", "Logout", 8, 8, 8),
        _c("bytes_out", "Out", 8, 10, 9),
        _c("bytes_in", "In", 8, 10, 10),
        _c("server", "Server", 8, 16, 11),
    ),
    "received": (
        _c("time", "Time", 8, 8, 0),
        _c("status", "Outcome", 13, 13, 1),
        _c("sender", "From", 16, 32, 2),
        _c("recipient", "To", 16, 32, 3),
        _c("subject", "Subject", 12, 60, 4),
        _c("size", "Size", 7, 9, 8),
        _c("client_ip", "Client IP", 15, 15, 5),
        _c("spam_score", "Spam", 5, 6, 6),
        _c("delivery", "Delivery", 9, 9, 7),
        _c("folder", "Folder", 8, 16, 9),
        _c("dsn", "DSN", 5, 6, 10),
        _c("reason", "Reason", 20, 60, 11),
        _c("message_id", "Message-ID", 20, 50, 12),
        _c("queue_id", "Queue", 10, 14, 13),
    ),
    "sent": (
        _c("time", "Time", 8, 8, 0),
        _c("status", "Outcome", 11, 11, 1),
        _c("sender", "From", 16, 32, 2),
        _c("recipient", "To", 16, 32, 3),
        _c("subject", "Subject", 12, 60, 4),
        _c("relay_host", "Relay", 12, 30, 5),
        _c("dsn", "DSN", 5, 6, 6),
        _c("delay", "Delay", 6, 8, 7),
        _c("size", "Size", 7, 9, 9),
        _c("account", "Account", 16, 30, 8),
        _c("reason", "Reason", 20, 60, 10),
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

    `with_date`: the time column shows the date too (no single day is selected).
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
    widths = {s.key: s.min for s in chosen}
    spare = max(width - used, 0)
    growable = [s for s in chosen if s.max > s.min]
    # Hand out the spare cells one round at a time, so flexible columns grow evenly.
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
    return ColumnSpec(spec.key, spec.label, 14, 14, spec.rank)


def _cell(df: pl.DataFrame, key: str, with_date: bool) -> pl.Series:
    """The display strings of one column (escaped, clipped)."""
    col = df.get_column(key)
    if key == "status":
        icons = pl.Series(list(ICONS)), pl.Series([f"{i} {s}" for s, i in ICONS.items()])
        return col.replace_strict(icons[0], icons[1], default="? unknown", return_dtype=pl.String)
    if key in ("time", "logout_time"):
        fmt = "%m-%d %H:%M:%S" if with_date and key == "time" else "%H:%M:%S"
        return col.dt.strftime(fmt)
    if col.dtype == pl.Float64:
        return col.round(1).cast(pl.String)
    if col.dtype == pl.Boolean:
        return col.replace_strict([True, False], ["yes", "no"], return_dtype=pl.String)
    if col.dtype != pl.String:
        return col.cast(pl.String)
    return safe_series(col)


def display_table(
    df: pl.DataFrame, columns: list[tuple[ColumnSpec, int]], with_date: bool
) -> pa.Table:
    """The Arrow table the results widget shows: one String column per chosen column."""
    data = {spec.label: _cell(df, spec.key, with_date) for spec, _ in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String)).to_arrow()


def needed_columns(columns: list[tuple[ColumnSpec, int]]) -> list[str]:
    """The source columns a query must fetch to show `columns` (plus id/time/status)."""
    keys = ["id", "time", "status"]
    keys += [s.key for s, _ in columns if s.key not in keys]
    return keys
