"""The filter bar of a view: date, status, domain, account and free text on one line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Select

from tracemail_tui.store import schema
from tracemail_tui.store.query import Filters
from tracemail_tui.widgets.columns import ICONS, LABELS

PLACEHOLDERS = {
    "accesses": "text: user, IP, session…",
    "received": "text: address, subject, id…",
    "sent": "text: address, subject, relay…",
}


def parse_day(value: str) -> dt.date | None:
    """`YYYY-MM-DD` → date; empty → None (all days). Raises ValueError otherwise."""
    value = value.strip()
    return dt.date.fromisoformat(value) if value else None


class FilterBar(Horizontal):
    """Inputs that describe a `Filters`; posts `FilterBar.Changed` as the user types."""

    @dataclass
    class Changed(Message):
        """The user edited a filter. `immediate`: skip the debounce (enter, select)."""

        bar: FilterBar
        filters: Filters
        immediate: bool

    def __init__(self, view: str, filters: Filters, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = view
        self._initial = filters

    def compose(self) -> ComposeResult:
        f = self._initial
        yield Input(
            str(f.date or ""),
            placeholder="date (all)",
            id="f-date",
            compact=True,
            tooltip="Day shown (YYYY-MM-DD, empty = all days). Keys [ and ] step a day.",
        )
        options = [(f"{ICONS[s]} {LABELS[s]}", s) for s in schema.STATUSES[self.view]]
        yield Select(
            options,
            prompt="any outcome",
            value=f.status or Select.NULL,
            id="f-status",
            compact=True,
            tooltip="Outcome",
        )
        yield Input(f.domain or "", placeholder="domain", id="f-domain", compact=True)
        yield Input(f.account or "", placeholder="account", id="f-account", compact=True)
        yield Input(f.text or "", placeholder=PLACEHOLDERS[self.view], id="f-text", compact=True)

    def current(self, base: Filters) -> Filters:
        """`base` with the bar's values (an unreadable date keeps `base.date`)."""
        date = base.date
        date_input = self.query_one("#f-date", Input)
        try:
            date = parse_day(date_input.value)
            date_input.remove_class("-invalid")
        except ValueError:
            date_input.add_class("-invalid")
        status = self.query_one("#f-status", Select).value
        return base.with_(
            date=date,
            status=status if isinstance(status, str) else None,
            domain=self.query_one("#f-domain", Input).value.strip() or None,
            account=self.query_one("#f-account", Input).value.strip() or None,
            text=self.query_one("#f-text", Input).value or None,
        )

    def show(self, f: Filters) -> None:
        """Put `f` into the inputs without posting `Changed` (set by keys / quick filters)."""
        self._initial = f
        values = {
            "#f-date": str(f.date or ""),
            "#f-domain": f.domain or "",
            "#f-account": f.account or "",
            "#f-text": f.text or "",
        }
        for selector, value in values.items():
            field = self.query_one(selector, Input)
            if field.value != value:
                with field.prevent(Input.Changed):
                    field.value = value
        self.query_one("#f-date", Input).remove_class("-invalid")
        select = self.query_one("#f-status", Select)
        wanted = f.status if f.status else Select.NULL
        if select.value != wanted:
            with select.prevent(Select.Changed):
                select.value = wanted

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self, self.current(self._initial), immediate=False))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Changed(self, self.current(self._initial), immediate=True))

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self, self.current(self._initial), immediate=True))
