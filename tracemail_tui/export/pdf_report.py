"""PDF report of one result: what happened, why, and the log lines that prove it.

Sections: title with the outcome (icon + word); the query that found it; a plain-language
explanation (`explain`); every DESIGN.md field of the view; the timeline across daemons;
the raw log lines; and, for received mail, where the message is now (locate).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from typing import IO, Any, Final

import polars as pl

import tracemail_tui
from tracemail_tui.export import explain as ex
from tracemail_tui.export.fields import check_view, design_fields, extra_fields
from tracemail_tui.export.pdf_doc import ReportPDF, save
from tracemail_tui.export.redact import NOTICE, Redactor
from tracemail_tui.export.text import NULL, iso, show
from tracemail_tui.export.waiting import gloss
from tracemail_tui.store import schema
from tracemail_tui.store.related import Related

EVENT_CHARS: Final = 140
"""The timeline shows each event this long at most ("…" marks the cut; the full line
is always in the log-lines section)."""

# Prefixes to strip from a raw line to get its event text, tried in order.
_PREFIXES: Final = (
    # Rspamd: 2026-11-27 05:40:04 #9883(rspamd_proxy) <3af9e4>; proxy; rspamd_task_write_log:
    re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? #\d+\([^)]*\) <\w*>; \w+; \w+: "),
    # ClamAV: Fri Nov 27 05:40:08 2026 ->
    re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} -> "),
    # Dovecot log_path: Nov 27 05:40:32 imap(alice@x)<10109><K5K..>: Info:  → "imap: "
    re.compile(
        r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ([\w-]+)(?:\([^)]*\))?(?:<[^>]*>)*: "
        r"(?:Info|Warning|Error|Fatal|Panic): "
    ),
    # syslog (classic or RFC 3339 stamp): Nov 27 05:39:56 mx01 postfix/smtpd[10034]:
    re.compile(
        r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) \S+ [^\s\[:]+(?:\[\d+\])?: "
    ),
)


def event_text(raw: str, limit: int = EVENT_CHARS) -> str:
    """The message part of a raw log line (time/host/program stripped), shortened."""
    for prefix in _PREFIXES:
        match = prefix.match(raw)
        if match:
            keep = f"{match.group(1)}: " if match.groups() and match.group(1) else ""
            raw = keep + raw[match.end():]
            break
    return raw if len(raw) <= limit else raw[: limit - 1] + "…"


def query_pairs(view: str, query: Mapping[str, Any] | None, generated: dt.datetime) -> list[
    tuple[str, str]
]:
    pairs = [("view", view)]
    query = dict(query or {})
    zone = query.pop("time_zone", None) or "log local time (as written by the daemons)"
    for key, value in query.items():
        if value not in (None, "", [], ()):
            pairs.append((str(key), show(value)))
    pairs += [
        ("time zone", str(zone)),
        ("generated", generated.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("tool", f"tracemail {tracemail_tui.__version__}"),
    ]
    return pairs


def _field_pairs(view: str, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, _glossed(name, row.get(name))) for name in design_fields(view)]


def _glossed(name: str, value: object) -> str:
    """The raw value as the contract has it, then a reading aid: `8503.0 (2 h 21 min)`."""
    extra = gloss(name, value)
    return show(value) + (f" ({extra})" if extra else "")


def _extra_pairs(view: str, row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Engine extras, only when known: they are details, not part of the contract."""
    return [(name, show(row[name])) for name in extra_fields(view) if row.get(name) is not None]


def _sorted_lines(lines: pl.DataFrame | None) -> pl.DataFrame:
    if lines is None or lines.height == 0:
        return schema.empty("lines")
    return schema.conform("lines", lines).sort("time", nulls_last=True, maintain_order=True)


def _timeline(lines: pl.DataFrame) -> tuple[str, list[list[str]]]:
    """Heading of the time column and the rows; the date is given once when all share it."""
    dates = {t.date() for t in lines.get_column("time").drop_nulls()}
    one_day = len(dates) == 1
    rows = []
    for time, server, program, raw in lines.select("time", "server", "program", "raw").iter_rows():
        stamp = iso(time) if time else NULL
        rows.append([
            stamp.partition("T")[2] if one_day and time else stamp,
            server or NULL,
            program or NULL,
            event_text(raw or ""),
        ])
    return (f"time ({dates.pop().isoformat()})" if one_day else "time"), rows


def _history_rows(history: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    return [
        [show(item.get("time")), show(item.get("event")), show(item.get("folder"))]
        for item in history
    ]


def write_result_pdf(
    row: Mapping[str, Any],
    path_or_file: str | os.PathLike[str] | IO[bytes],
    *,
    view: str,
    lines: pl.DataFrame | None = None,
    locate: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    paper: str = "a4",
    redact: Redactor | bool | None = None,
    related: Related | None = None,
    lifetime_days: float | None = None,
) -> None:
    """Write the PDF report of one result.

    `row`: one row of a view frame as a dict; `lines`: its evidence (`schema.LINES`
    columns); `locate`: DESIGN.md locate result (received mail); `query`: the filters
    that found it (shown as given; key ``time_zone`` is shown as the time zone);
    `redact`: True (configured key) or a `Redactor` to pseudonymise the report;
    `related`: rows of other keys that finish its story (`store.related`);
    `lifetime_days`: the server's maximal_queue_lifetime (config; None: Postfix's default).
    """
    check_view(view)
    row = dict(row)
    evidence = _sorted_lines(lines)
    if redact:
        redactor = redact if isinstance(redact, Redactor) else Redactor.from_config()
        subjects = [str(row.get("subject") or "")]
        row = redactor.row(row, view)
        evidence = redactor.lines(evidence, subjects)
        locate = redactor.locate(dict(locate)) if locate else None
        if related is not None:
            related = related.map(lambda view, frame: redactor.frame(frame, view))
        query = {**redactor.query(query), "redacted": NOTICE}

    outcome = ex.outcome(view, row)
    pdf = ReportPDF(title=f"tracemail report · {view} · {row.get('id') or NULL}", paper=paper)
    pdf.add_page()
    pdf.title_block(
        f"Report: {ex.VIEW_TITLES[view]}", f"id {show(row.get('id'))} · {show(row.get('time'))}",
        outcome, ex.OUTCOME_TONES.get(row.get("status") or "", ""),
    )

    pdf.section("What happened")
    for text in ex.explain(view, row, locate, related, lifetime_days=lifetime_days):
        pdf.paragraph(text)

    pdf.section("How it was found")
    pdf.key_values(query_pairs(view, query, pdf.generated), key_width=0.22)

    pdf.section(f"Fields ({view})")
    pdf.key_values(_field_pairs(view, row), key_width=0.22)
    extras = _extra_pairs(view, row)
    if extras:
        pdf.paragraph("More details recorded by the engine:", size=8)
        pdf.key_values(extras, key_width=0.22)

    if view == "received" or locate:
        pdf.section("Where the message is now")
        if locate:
            pdf.key_values(
                [(k, show(locate.get(k))) for k in ("message_id", "account", "state", "folder")],
                key_width=0.22,
            )
            history = locate.get("history") or []
            if history:
                pdf.grid(("time", "event", "folder"), _history_rows(history), (0.25, 0.35, 0.4))
            else:
                pdf.paragraph("No mailbox events were logged for this message.")
        else:
            pdf.paragraph("Not located: no locate result was supplied with this report.")

    pdf.section(f"Timeline ({evidence.height} log lines)")
    if evidence.height:
        time_heading, rows = _timeline(evidence)
        widths = (0.15, 0.09, 0.15, 0.61) if "(" in time_heading else (0.2, 0.09, 0.15, 0.56)
        pdf.grid((time_heading, "host", "program", "event"), rows, widths)
        pdf.section("Log lines")
        pdf.mono_lines(evidence.get_column("raw").fill_null("").to_list())
    else:
        pdf.paragraph("No log lines were supplied with this result.")

    save(pdf, path_or_file)
