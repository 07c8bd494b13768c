"""The one place the TUI calls parts built elsewhere: evidence, hints, locate, exports.

Changing how one of them is reached means editing one function here, nothing in the
screens. Headless (no Textual): the screens call these from thread workers.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui import config
from tracemail_tui.export import csv_export
from tracemail_tui.export import explain as explain_mod
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.store import breakdown
from tracemail_tui.store import evidence as evidence_mod
from tracemail_tui.store import related as related_mod
from tracemail_tui.store import trace as trace_mod
from tracemail_tui.store.correlate import locate as locate_mod
from tracemail_tui.store.query import Filters, Source, query
from tracemail_tui.store.related import Related

Row = dict[str, Any]


def _privacy() -> Privacy:
    """Scope and subject settings of this run (config, environment, `--scope`)."""
    return Privacy.from_config(config.load())


def evidence(source: Source, view: str, row: Row) -> pl.DataFrame:
    """The raw log lines behind `row`, oldest first (columns of `schema.LINES`).

    From the source's `lines` table (the store keeps every raw line), with the same
    rules as the one-shot `engine.evidence`; a source without one has no evidence.
    """
    found = evidence_mod.from_store(source, view, row)
    return _privacy().evidence(found, row, view)  # other customers out


def related(source: Source, view: str, row: Row) -> Related:
    """Rows of other keys that finish `row`'s story (a Sieve forward's copies, the sender's
    later attempts), each in scope and shown as a row of its view is."""
    return _privacy().related(related_mod.find(source.scan, view, row))


def same_message(source: Source, view: str, row: Row) -> list[tuple[str, Row]]:
    """The other rows of `row`'s message (its Message-ID) in received and sent, oldest
    first and in scope: the other recipients, the other side of mail between our users,
    a forward's copy (`tracemail trace` lists them the same way)."""
    if view not in ("received", "sent") or not row.get("message_id"):
        return []
    # Only the message's own rows: its bounce notices are `related`'s (told in the hints).
    t = row.get("time")
    found = trace_mod.message_rows(source.scan, str(row["message_id"]),
                                   around=t if isinstance(t, dt.datetime) else None)
    privacy = _privacy()
    out = [(v, r) for v, rows in found.items()
           for r in privacy.frame(rows, v).to_dicts()
           if (v, r["id"]) != (view, row.get("id"))]
    return sorted(out, key=lambda vr: (vr[1]["time"] is None, vr[1]["time"], vr[1]["id"]))


def explain(view: str, row: Row, more: Related | None = None) -> list[str]:
    """Plain-language paragraphs: what happened, DSN code, spam verdict, login error,
    and what the `more` rows (see `related`) add."""
    return list(explain_mod.explain(view, row, related=more,
                                    lifetime_days=config.load().queue_lifetime_days))


def locate(source: Source, message_id: str, account: str) -> Row:
    """Where a received message is now for `account` (DESIGN.md "locate" fields)."""
    # Only this account's events leave the store: locate replays them in memory.
    local = account.strip().lower().partition("@")[0].partition("+")[0]
    events = source.scan("mailbox").filter(
        pl.col("user").str.to_lowercase().str.contains(local, literal=True)
    )
    if not _privacy().account_in_scope(account):
        events = events.limit(0)  # out of scope: the same answer as an unknown message
    mailbox = events.collect()
    return dict(locate_mod.locate(mailbox, message_id, account))


def export_csv(source: Source, view: str, filters: Filters, directory: Path) -> Path:
    """Write the CSV of every row the view's filters match; returns the file written."""
    status = f"-{filters.status}" if filters.status else ""
    path = directory / f"tracemail-{view}-{_stamp(filters)}{status}.csv"
    frame = _privacy().frame(query(source, view, filters).collect(), view)
    csv_export.write_csv(frame, path, view=view)
    return path


def export_breakdown(source: Source, view: str, filters: Filters, key: str,
                     directory: Path) -> Path:
    """Write the CSV of the rows per value of `key` (every value, not only those the
    screen lists), counted on the rows the CSV export would write; returns the file."""
    frame = _privacy().frame(query(source, view, filters).collect(), view)
    counted = breakdown.breakdown(frame, view, key)
    path = directory / f"tracemail-{view}-{_stamp(filters)}-top-{_safe_name(key)}.csv"
    csv_export.write_frame_csv(counted.exported(), path)
    return path


def export_pdf(
    view: str,
    row: Row,
    lines: pl.DataFrame,
    directory: Path,
    located: Row | None = None,
    filters: Filters | None = None,
    more: Related | None = None,
) -> Path:
    """Write the PDF report of one result; returns the file written."""
    # fpdf2 and its font tools take ~0.2 s to import: paid on the first PDF, not at start.
    from tracemail_tui.export import pdf_report

    path = directory / f"tracemail-{_safe_name(str(row['id']))}.pdf"
    query_shown = filters.describe() if filters is not None else None
    row = _privacy().row(row, view)
    if not _privacy().account_in_scope(row.get("recipient")):
        located = None
    pdf_report.write_result_pdf(
        row, path, view=view, lines=lines, locate=located, query=query_shown,
        related=more, lifetime_days=config.load().queue_lifetime_days,
    )
    return path


def _stamp(filters: Filters) -> str:
    return str(filters.date) if filters.date else "all"


def _safe_name(value: str) -> str:
    """A file-name-safe form of an id (ids come from log content)."""
    return re.sub(r"[^\w.-]", "_", value)[:120]
