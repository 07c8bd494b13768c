"""The detail modal of one row: every field, plain-language hints, the raw log lines.

Data is fetched in a thread worker; every value from a log is rendered as escaped
`rich.text.Text`, never as markup.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tracemail_tui import adapters
from tracemail_tui.export.waiting import gloss
from tracemail_tui.store import schema
from tracemail_tui.store.query import Source
from tracemail_tui.store.related import Related
from tracemail_tui.store.trace import where
from tracemail_tui.widgets.columns import outcome
from tracemail_tui.widgets.results import fetch_row
from tracemail_tui.widgets.safe_text import notify_safe, safe_text

TITLES = {"accesses": "Access", "received": "Received message", "sent": "Sent message"}


def show_value(value: Any) -> Text:
    """One field value as literal text (times in ISO 8601, unknown as a dim dash)."""
    if isinstance(value, dt.datetime):
        return Text(value.isoformat())
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return safe_text(value)


def fields_text(view: str, row: dict[str, Any]) -> Table:
    """`label  value` rows for every field of the view contract, in contract order.

    A grid, so a long value wraps under itself and never under the labels.
    """
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key in schema.SCHEMAS[view]:
        value = outcome(row.get(key)) if key == "status" else row.get(key)
        extra = gloss(key, value)  # a number's reading aid: 8503.0 → 2 h 21 min
        grid.add_row(key, Text.assemble(show_value(value), (f"  {extra}", "dim"))
                     if extra else show_value(value))
    return grid


def timeline_text(lines: pl.DataFrame) -> Text:
    """The raw log lines behind the row, oldest first."""
    out = Text()
    if lines.is_empty():
        out.append("No raw log lines stored for this row yet.", style="dim")
        return out
    for time, server, program, raw in lines.select("time", "server", "program", "raw").iter_rows():
        stamp = time.isoformat(timespec="seconds") if time is not None else "?"
        out.append(f"{stamp} ", style="bold")
        out.append_text(safe_text(server))
        out.append(" ")
        out.append_text(safe_text(program))
        out.append("\n  ")
        out.append_text(safe_text(raw))
        out.append("\n")
    return out


def locate_text(found: dict[str, Any]) -> Text:
    """Where the message is now, and how it got there."""
    out = Text()
    out.append("state  ", style="bold")
    out.append_text(safe_text(found.get("state")))
    if found.get("folder"):
        out.append("  folder ", style="bold")
        out.append_text(safe_text(found["folder"]))
    out.append("\n")
    for step in found.get("history") or []:
        out.append_text(show_value(step.get("time")))
        out.append("  ")
        out.append_text(safe_text(step.get("event")))
        if step.get("folder"):
            out.append("  ")
            out.append_text(safe_text(step["folder"]))
        out.append("\n")
    return out


SAME_SHOWN = 20


def same_message_text(rows: list[tuple[str, dict[str, Any]]]) -> Text:
    """One line per other row of the message: view, outcome, recipient, where."""
    out = Text()
    for view, r in rows[:SAME_SHOWN]:
        place = where(view, r)
        out.append(f"{view:<9}", style="bold")
        out.append_text(safe_text(outcome(r.get("status"))))
        if r.get("delivery"):
            out.append(" ")
            out.append_text(safe_text(r["delivery"]))
        out.append("  ")
        out.append_text(safe_text(r.get("recipient")))
        if place:
            out.append("  ")
            out.append_text(safe_text(place, style="dim"))
        out.append("\n")
    if len(rows) > SAME_SHOWN:
        out.append(f"… and {len(rows) - SAME_SHOWN} more (tracemail trace)\n", style="dim")
    return out


def copy_key(view: str, row: dict[str, Any]) -> tuple[str, str]:
    """What `y` copies: the message-id (mail) or session id (accesses), else the row id."""
    field = "session" if view == "accesses" else "message_id"
    value = row.get(field)
    return (field, str(value)) if value else ("id", str(row["id"]))


class DetailScreen(ModalScreen[None]):
    """Everything known about one row, with locate / PDF / copy."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", id="detail.close"),
        Binding("l", "locate", "Locate", id="detail.locate"),
        Binding("p", "pdf", "PDF", id="detail.pdf"),
        Binding("y", "copy", "Copy id", id="detail.copy"),
        Binding("r", "related", "Related", id="detail.related"),
        Binding("j", "scroll('down')", "Down", show=False, id="detail.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="detail.up"),
    ]

    def __init__(self, source: Source, view: str, row_id: str, export_dir: Path) -> None:
        super().__init__()
        self.source = source
        self.view = view
        self.row_id = row_id
        self.export_dir = export_dir
        self.row: dict[str, Any] | None = None
        self.lines: pl.DataFrame = schema.empty("lines")
        self.located: dict[str, Any] | None = None
        self.related = Related()  # other rows of its story (store/related.py)
        self.same: list[tuple[str, dict[str, Any]]] = []  # other rows of its Message-ID

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            yield Static(Text(f"{TITLES[self.view]} {self.row_id}"), id="detail-title")
            with VerticalScroll(id="detail-body"):
                yield Static("loading…", id="detail-content")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _load(self) -> None:
        row = fetch_row(self.source, self.view, self.row_id)
        lines = schema.empty("lines")
        try:
            if row:
                lines = adapters.evidence(self.source, self.view, row)
        except Exception as exc:  # e.g. the log file was rotated away: say so, show the rest
            self.app.call_from_thread(notify_safe, self, f"Raw lines unavailable: {exc}")
        more = adapters.related(self.source, self.view, row) if row else Related()
        hints = adapters.explain(self.view, row, more) if row else []
        same = adapters.same_message(self.source, self.view, row) if row else []
        self.app.call_from_thread(self._show, row, lines, hints, more, same)

    def _show(self, row: dict[str, Any] | None, lines: pl.DataFrame, hints: list[str],
              more: Related, same: list[tuple[str, dict[str, Any]]]) -> None:
        self.row, self.lines, self._hints, self.related = row, lines, hints, more
        self.same = same
        self._refresh_body()

    def _refresh_body(self) -> None:
        content = self.query_one("#detail-content", Static)
        if self.row is None:
            content.update(Text("This row is no longer in the store."))
            return
        row = self.row
        title = Text(f"{TITLES[self.view]} · {outcome(row.get('status'))} · ")
        title.append_text(show_value(row.get("time")))
        self.query_one("#detail-title", Static).update(title)
        parts: list[Any] = [fields_text(self.view, row)]
        if self._hints:
            parts.append(Text("What it means", style="bold underline"))
            parts += [Text("• ").append_text(safe_text(h)) for h in self._hints]
            parts.append(Text(""))
        if self.located is not None:
            parts += [Text("Where it is now", style="bold underline"), locate_text(self.located)]
        if self.same:
            parts += [Text(f"Same message: {len(self.same)} other row"
                           + ("" if len(self.same) == 1 else "s"), style="bold underline"),
                      same_message_text(self.same)]
        parts += [
            Text("Timeline (raw log lines)", style="bold underline"),
            timeline_text(self.lines),
        ]
        content.update(Group(*parts))

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#detail-body", VerticalScroll)
        body.scroll_down() if direction == "down" else body.scroll_up()

    def action_copy(self) -> None:
        if self.row is None:
            return
        field, value = copy_key(self.view, self.row)
        self.app.copy_to_clipboard(value)
        notify_safe(self, f"Copied {field}: {value}", timeout=3)

    def action_related(self) -> None:
        """Open the row that finishes this one's story: a forward's copy, a retry, the
        original of a copy, the user's next login after a failed one (store/related.py)."""
        first = self.related.first()
        if first is None:
            self.notify("No related result (forward copy, original, retry, next login).",
                        severity="warning")
            return
        view, row = first
        self.app.push_screen(DetailScreen(self.source, view, str(row["id"]), self.export_dir))

    def action_locate(self) -> None:
        if self.row is None:
            return
        if self.view != "received":
            self.notify("Locate applies to received messages.", severity="warning")
            return
        if not self.row.get("message_id") or not self.row.get("recipient"):
            self.notify("This message has no Message-ID to locate.", severity="warning")
            return
        self.notify("Locating…", timeout=2)
        self._locate(str(self.row["message_id"]), str(self.row["recipient"]))

    @work(thread=True, exclusive=True, group="locate", exit_on_error=False)
    def _locate(self, message_id: str, account: str) -> None:
        try:
            found = adapters.locate(self.source, message_id, account)
        except Exception as exc:  # reported, never a crash
            self.app.call_from_thread(notify_safe, self, f"Locate failed: {exc}", severity="error")
            return
        self.app.call_from_thread(self._located, found)

    def _located(self, found: dict[str, Any]) -> None:
        self.located = found
        self._refresh_body()
        notify_safe(self, f"Located: {found.get('state')} {found.get('folder') or ''}".strip())

    def action_pdf(self) -> None:
        if self.row is None:
            return
        self.notify("Writing the PDF report…", timeout=2)
        self._pdf(self.row, self.lines)

    @work(thread=True, group="export", exit_on_error=False)
    def _pdf(self, row: dict[str, Any], lines: pl.DataFrame) -> None:
        try:
            path = adapters.export_pdf(self.view, row, lines, self.export_dir,
                                       located=self.located, more=self.related)
        except Exception as exc:  # reported, never a crash
            self.app.call_from_thread(notify_safe, self, f"PDF failed: {exc}", severity="error")
            return
        self.app.call_from_thread(notify_safe, self, f"PDF written: {path}", title="Export")
