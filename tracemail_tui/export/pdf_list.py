"""PDF summary of a whole result list: counts per outcome, then the results as a table.

Rows are capped (default 2,000) so a huge search cannot produce a 10,000-page file;
the report then says plainly "showing N of M". Counts always cover all M results.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import IO, Any, Final

import polars as pl

from tracemail_tui.export import explain as ex
from tracemail_tui.export.fields import check_view
from tracemail_tui.export.pdf_doc import ReportPDF, save
from tracemail_tui.export.pdf_report import query_pairs
from tracemail_tui.export.redact import NOTICE, Redactor
from tracemail_tui.export.text import NULL, show
from tracemail_tui.store import schema

MAX_ROWS: Final = 2_000

# Columns of the table per view (a readable subset; the CSV export has every field).
LIST_COLUMNS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "accesses": (
        ("time", 0.13), ("status", 0.12), ("user", 0.18), ("protocol", 0.07),
        ("remote_ip", 0.11), ("client", 0.17), ("server", 0.07), ("session", 0.15),
    ),
    "received": (
        ("time", 0.12), ("status", 0.10), ("sender", 0.15), ("recipient", 0.15),
        ("subject", 0.17), ("folder", 0.06), ("spam_score", 0.07), ("reason", 0.18),
    ),
    "sent": (
        ("time", 0.12), ("status", 0.10), ("sender", 0.14), ("recipient", 0.15),
        ("subject", 0.15), ("relay_host", 0.1), ("dsn", 0.05), ("reason", 0.19),
    ),
}


def _counts(df: pl.DataFrame, view: str) -> list[tuple[str, str]]:
    """(icon + status, count) for every status of the view, then any other status seen."""
    counts = dict(df.get_column("status").fill_null("unknown").value_counts().iter_rows())
    order = list(schema.STATUSES[view]) + sorted(set(counts) - set(schema.STATUSES[view]))
    pairs = [(ex.outcome(view, {"status": s}), f"{counts.get(s, 0):,}") for s in order]
    return [*pairs, ("total", f"{df.height:,}")]


def _cell(view: str, name: str, row: Mapping[str, Any]) -> str:
    if name == "status":
        return ex.outcome(view, row)
    value = row.get(name)
    if name == "time" and value is not None:
        return show(value).replace("T", " ")
    if isinstance(value, float):
        return f"{value:g}"
    return show(value)


def write_list_pdf(
    df: pl.DataFrame,
    path_or_file: str | os.PathLike[str] | IO[bytes],
    *,
    view: str,
    query: Mapping[str, Any] | None = None,
    paper: str = "a4",
    redact: Redactor | bool | None = None,
    max_rows: int = MAX_ROWS,
) -> int:
    """Write the summary report of a result list; return the number of rows shown."""
    check_view(view)
    total = df.height
    shown = df.head(max_rows)
    if redact:
        redactor = redact if isinstance(redact, Redactor) else Redactor.from_config()
        shown = redactor.frame(shown, view)
        query = {**redactor.query(query), "redacted": NOTICE}

    pdf = ReportPDF(title=f"tracemail summary · {view}", paper=paper, landscape=True)
    pdf.add_page()
    note = f"showing {shown.height:,} of {total:,}" if shown.height < total else "all shown"
    pdf.title_block(f"Summary: {view}", note, f"{total:,} results")
    pdf.section("How they were found")
    pdf.key_values(query_pairs(view, query, pdf.generated), key_width=0.18)
    pdf.section("Outcomes")
    pdf.key_values(_counts(df, view), key_width=0.18)

    pdf.section("Results")
    if shown.height < total:
        pdf.paragraph(
            f"Showing {shown.height:,} of {total:,} results (the first {shown.height:,} in "
            "the order given); long values end in “…”. Export CSV for the complete list.", size=9.5,
        )
    if shown.height == 0:
        pdf.paragraph("No results.")
    else:
        columns = LIST_COLUMNS[view]
        names = [name for name, _ in columns]
        rows = (
            [_cell(view, name, row) if name in row else NULL for name in names]
            for row in shown.iter_rows(named=True)
        )
        pdf.compact_grid(names, rows, [width for _, width in columns])
    save(pdf, path_or_file)
    return shown.height
