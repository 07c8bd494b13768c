"""The one place the TUI calls parts built elsewhere: evidence, hints, locate, exports.

Each adapter imports its backend lazily; when that part has not landed yet it raises
`NotAvailable`, which the app shows as a "not available yet" notification. Swapping in
the real implementation means editing one function here, nothing in the screens.
Headless (no Textual): the screens call these from thread workers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui.store import schema
from tracemail_tui.store.query import Filters, Source, query

Row = dict[str, Any]


class NotAvailable(RuntimeError):
    """A feature whose implementation is not in this build yet."""


def evidence(source: Source, view: str, row: Row) -> pl.DataFrame:
    """The raw log lines behind `row`, oldest first (columns of `schema.LINES`).

    Hook for the engine's evidence lookup. Until it exists: lines of the row's server
    within a day of it that mention its queue id (mail) or session id (accesses).
    """
    key = row.get("session") if view == "accesses" else row.get("queue_id")
    when = row.get("time")
    if not key or when is None:
        return schema.empty("lines")
    try:
        lines = source.scan("lines")
    except KeyError:
        return schema.empty("lines")
    window = dt.timedelta(days=1)
    cond = (
        (pl.col("time") >= when - window)
        & (pl.col("time") <= when + window)
        & pl.col("raw").str.contains(str(key), literal=True)
    )
    if row.get("server"):
        cond &= pl.col("server") == row["server"]
    return lines.filter(cond).sort("time", maintain_order=True).head(500).collect()


def explain(view: str, row: Row) -> list[str]:
    """Plain-language hints for the row's DSN code, spam action and login error."""
    try:
        from tracemail_tui.export import explain as real  # type: ignore[attr-defined]
    except ImportError:
        real = None
    if real is not None and hasattr(real, "explain"):
        return list(real.explain(view, row))
    from tracemail_tui.widgets.hints import fallback_hints

    return fallback_hints(view, row)


def locate(source: Source, message_id: str, account: str) -> Row:
    """Where a received message is now for `account` (DESIGN.md "locate" fields)."""
    try:
        from tracemail_tui.store.correlate import locate as real  # type: ignore[attr-defined]
    except ImportError as exc:
        raise NotAvailable("locate is not available yet") from exc
    # Only this account's events leave the store: locate replays them in memory.
    local = account.strip().lower().partition("@")[0].partition("+")[0]
    mailbox = (
        source.scan("mailbox")
        .filter(pl.col("user").str.to_lowercase().str.contains(local, literal=True))
        .collect()
    )
    return dict(real.locate(mailbox, message_id, account))


def export_csv(source: Source, view: str, filters: Filters, directory: Path) -> Path:
    """Write the CSV summary of what the view shows; returns the file written."""
    try:
        from tracemail_tui.export import csv_export  # type: ignore[attr-defined]
    except ImportError as exc:
        raise NotAvailable("CSV export is not available yet") from exc
    path = directory / f"tracemail-{view}-{_stamp(filters)}.csv"
    csv_export.write_csv(query(source, view, filters).collect(), path, view=view)
    return path


def export_pdf(
    view: str,
    row: Row,
    lines: pl.DataFrame,
    directory: Path,
    located: Row | None = None,
    filters: Filters | None = None,
) -> Path:
    """Write the PDF report of one result; returns the file written."""
    try:
        from tracemail_tui.export import pdf_report  # type: ignore[attr-defined]
    except ImportError as exc:
        raise NotAvailable("PDF report is not available yet") from exc
    path = directory / f"tracemail-{_safe_name(str(row['id']))}.pdf"
    query_shown = filters.describe() if filters is not None else None
    pdf_report.write_result_pdf(
        row, path, view=view, lines=lines, locate=located, query=query_shown
    )
    return path


def _stamp(filters: Filters) -> str:
    return str(filters.date) if filters.date else "all"


def _safe_name(value: str) -> str:
    """A file-name-safe form of an id (ids come from log content)."""
    return re.sub(r"[^\w.-]", "_", value)[:120]
