"""One view (accesses, received or sent): filter bar, summary, hourly bars, results table.

All querying happens in a thread worker (`exclusive`, so a newer filter cancels the
stale one); the result comes back as a message and the UI thread only mounts a fresh
table. Live data is polled through `source.generation` at most twice a second.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tracemail_tui import adapters
from tracemail_tui.store.query import Filters, Source
from tracemail_tui.widgets.columns import fit
from tracemail_tui.widgets.filter_bar import FilterBar
from tracemail_tui.widgets.results import Result, TextIndex, load, text_index
from tracemail_tui.widgets.results_table import ResultsTable
from tracemail_tui.widgets.safe_text import notify_safe
from tracemail_tui.widgets.summary import HourBars, SummaryLine, group_label

if TYPE_CHECKING:
    from textual_fastdatatable.data_table import DataTable

DEBOUNCE_S = 0.25
LIVE_POLL_S = 0.5  # at most two redraws a second, however fast lines arrive
SCROLLBAR = 1


class ViewPane(Vertical):
    """Everything one view shows, and its live state (follow, pause, new rows)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="view.filter"),
        Binding(
            "left_square_bracket",
            "day(-1)",
            "Prev day",
            key_display="[",
            show=False,
            id="view.prev_day",
        ),
        Binding(
            "right_square_bracket",
            "day(1)",
            "Next day",
            key_display="]",
            show=False,
            id="view.next_day",
        ),
        Binding("f", "toggle_follow", "Follow", id="view.follow"),
        Binding("space", "toggle_pause", "Pause", id="view.pause"),
        Binding("e", "export_csv", "CSV", id="view.export_csv"),
        Binding("s", "cycle_status", "Outcome", show=False, id="view.cycle_status"),
        Binding("x", "clear_filters", "Clear filters", show=False, id="view.clear"),
        Binding("u", "toggle_unknown", "Unknown users", show=False, id="view.unknown"),
        Binding("escape", "back", "Back", show=False, id="view.back"),
    ]

    @dataclass
    class Loaded(Message):
        """A query finished in the worker (handled on the UI thread)."""

        result: Result
        live: bool

    @dataclass
    class OpenRow(Message):
        """The user asked for the details of a row."""

        view: str
        row_id: str

    def __init__(self, view: str, source: Source, filters: Filters, *, id: str) -> None:
        super().__init__(id=id)
        self.view = view
        self.source = source
        self.filters = filters
        self.result: Result | None = None
        self.follow = True
        self.paused = False
        self.new_rows = 0
        self.busy = False
        self._debounce: Timer | None = None
        self._index: TextIndex | None = None
        self._changed_at = 0.0
        self.last_update_s = 0.0
        """Filter change → new table mounted, of the last update (for bench/tui.py)."""

    # ---- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield FilterBar(self.view, self.filters, id="filters")
        with Horizontal(classes="info-line"):
            yield SummaryLine(id="summary")
            yield Static("", id="showing")
        with Horizontal(classes="info-line"):
            yield HourBars(id="hours")
            yield Static("", id="live")
        yield Container(Static("loading…", classes="placeholder"), id="table-holder")

    def on_mount(self) -> None:
        self.set_interval(LIVE_POLL_S, self._poll_live)
        self.call_after_refresh(self.reload)

    def on_resize(self) -> None:
        if self.result is not None and self._columns_for_width() != self.result.columns:
            self.reload()

    # ---- querying -----------------------------------------------------------------

    def _table_width(self) -> int:
        width = self.query_one("#table-holder").size.width or self.size.width or 80
        return max(width - SCROLLBAR, 20)

    def _columns_for_width(self) -> list:
        return fit(self.view, self._table_width(), with_date=self.filters.date is None)

    def reload(self, live: bool = False) -> None:
        """Run the current filters now (in a worker)."""
        self._debounce = None  # a pending debounce has fired or is superseded
        self.busy = True
        self._query(self.filters, self._table_width(), live, self._index)

    @work(thread=True, exclusive=True, group="query", exit_on_error=False)
    def _query(self, filters: Filters, width: int, live: bool, index: TextIndex | None) -> None:
        try:
            result = load(self.source, self.view, filters, width, index=index)
        except Exception as exc:  # a broken store must not leave the pane "busy" forever
            self.app.call_from_thread(self._failed, exc)
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(result, live))

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        notify_safe(self, f"Query failed: {exc}", severity="error", timeout=10)

    @on(Loaded)
    async def _loaded(self, message: Loaded) -> None:
        message.stop()
        result = message.result
        if result.filters != self.filters:
            return  # a newer filter is already on its way
        self.busy = False
        old = self._table()
        was_end = old is None or old.at_end
        keep_id = self.cursor_id()
        if message.live and self.result is not None and not (self.follow and was_end):
            self.new_rows += max(result.total - self.result.total, 0)
        self.result = result
        if result.index is not None:
            self._index = result.index
        self._render_info()
        await self._show_result(result, old, keep_id, end=was_end and (self.follow or old is None))

    async def _show_result(
        self, result: Result, old: ResultsTable | None, keep_id: str | None, end: bool
    ) -> None:
        """Swap in a fresh table, keeping focus, cursor row and scroll position."""
        holder = self.query_one("#table-holder")
        had_focus = old is not None and old.has_focus
        old_scroll = old.scroll_y if old is not None else 0
        old_row = old.cursor_row if old is not None else 0
        target = result.shown - 1
        if not end and keep_id is not None:
            hits = (result.ids == keep_id).arg_true()
            target = int(hits[0]) if len(hits) else min(old_row, result.shown - 1)
        table = ResultsTable(result.table, result.columns, result.formatters)
        # Mount the new table before removing the old one, so focus never wanders off.
        if old is not None:
            old.display = False
        await holder.mount(table)
        if had_focus or (
            old is None and self._visible() and not isinstance(self.app.focused, Input)
        ):
            table.focus()
        await holder.query(".placeholder").remove()
        if old is not None:
            await old.remove()
        if self._changed_at:
            self.last_update_s = time.perf_counter() - self._changed_at
            self._changed_at = 0.0
        if target >= 0:
            table.move_cursor(row=target, animate=False)

            def place(tries: int = 0) -> None:  # after layout, when the table knows its height
                if not end:
                    y = max(old_scroll - (old_row - target), 0)
                    table.scroll_to(y=y, animate=False, immediate=True)
                table.move_cursor(row=target, animate=False)
                top, height = table.scroll_offset.y, table.scrollable_content_region.height
                if tries < 50 and not top <= target < top + height:
                    # Rows not measured yet (a busy machine): the table could not scroll
                    # to the cursor and would stay at its top. Again after the next refresh.
                    table.call_after_refresh(place, tries + 1)

            table.call_after_refresh(place)

    def _table(self) -> ResultsTable | None:
        tables = self.query(ResultsTable)
        return tables.first() if tables else None

    def cursor_id(self) -> str | None:
        """The id of the row under the cursor, if any."""
        table, result = self._table(), self.result
        if table is None or result is None or result.shown == 0:
            return None
        row = min(table.cursor_row, result.shown - 1)
        return str(result.ids[row])

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Entering the text box: build the text index now, before the first keystroke."""
        if event.widget.id == "f-text":
            index = self._index
            if index is None or index.generation != self.source.generation:
                self._build_index()

    @work(thread=True, exclusive=True, group="index", exit_on_error=False)
    def _build_index(self) -> None:
        index = text_index(self.source, self.view, self.source.generation)
        self.app.call_from_thread(setattr, self, "_index", index)

    # ---- live ---------------------------------------------------------------------

    def _visible(self) -> bool:
        return self.app.screen is self.screen and self.parent is not None and self.parent.display

    def _poll_live(self) -> None:
        """Coalesced refresh: at most one query per tick, none while paused or hidden."""
        if self.paused or self.busy or self.result is None or not self._visible():
            return
        if self.source.generation != self.result.generation:
            self.reload(live=True)

    def _render_info(self) -> None:
        result = self.result
        if result is None:
            return
        self.query_one(SummaryLine).show(result.counts, self.filters.status)
        self.query_one(HourBars).show(result.hours, result.hours_day)
        if result.shown < result.total:
            showing = f"showing {result.shown:,} of {result.total:,}"
        else:
            showing = f"{result.total:,} row" + ("" if result.total == 1 else "s")
        if result.hidden:
            showing += f" · {result.hidden:,} unknown-user hidden (u)"
        if self.filters.group is not None:
            showing += f" · {group_label(self.filters.group)} (x)"
        self.query_one("#showing", Static).update(Content(showing))  # literal: group value
        self._render_live()

    def render_status(self) -> None:
        """Show the app's status (backfill progress, read-only store) beside the live state."""
        self._render_live()

    def _render_live(self) -> None:
        if self.paused:
            state = "⏸ paused"
        elif self.new_rows:
            state = f"↓ {self.new_rows:,} new"
        else:
            state = "● follow" if self.follow else "○ live"
        status = getattr(self.app, "status_text", "")
        # Plain text: a status may quote a file name or an error, never markup to render.
        # The live state first: a long status is what gets cut at 80 columns.
        self.query_one("#live", Static).update(Content(f"{state}  {status}" if status else state))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self._table()
        if table is not None and table.at_end and self.new_rows:
            self.new_rows = 0
            self._render_live()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    # ---- filters --------------------------------------------------------------------

    @on(FilterBar.Changed)
    def _filters_typed(self, event: FilterBar.Changed) -> None:
        event.stop()
        self.set_filters(event.filters, immediate=event.immediate, from_bar=True)
        if event.immediate and isinstance(self.app.focused, Input):
            table = self._table()
            if table is not None:
                table.focus()

    @on(SummaryLine.Picked)
    def _status_picked(self, event: SummaryLine.Picked) -> None:
        event.stop()
        self.set_filters(self.filters.with_(status=event.status), immediate=True)

    def set_filters(self, filters: Filters, immediate: bool = True, from_bar: bool = False) -> None:
        """Change the filters; the query runs now or after the debounce."""
        if filters == self.filters:
            return
        self.filters = filters
        self.new_rows = 0
        self._changed_at = time.perf_counter()
        if not from_bar:
            self.query_one(FilterBar).show(filters)
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        if immediate:
            self.reload()
        else:
            self._debounce = self.set_timer(DEBOUNCE_S, self.reload)

    # ---- actions --------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        self.query_one("#f-text", Input).focus()

    def action_back(self) -> None:
        """esc: from a filter back to the table."""
        table = self._table()
        if table is not None:
            table.focus()

    def action_day(self, step: int) -> None:
        """Step the date filter a day back or forward (from the newest day if unset)."""
        day = self.filters.date or (self.result.hours_day if self.result else None)
        day = day or dt.date.today()
        self.set_filters(self.filters.with_(date=day + dt.timedelta(days=step)))

    def action_cycle_status(self) -> None:
        statuses = [None, *(self.result.counts if self.result else [])]
        at = statuses.index(self.filters.status) if self.filters.status in statuses else 0
        self.set_filters(self.filters.with_(status=statuses[(at + 1) % len(statuses)]))

    def action_clear_filters(self) -> None:
        self.set_filters(self.filters.with_(domain=None, account=None, status=None, text=None,
                                            group=None))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`u` only means something in Accesses."""
        if action == "toggle_unknown":
            return self.view == "accesses"
        return True

    def action_toggle_unknown(self) -> None:
        """Show or hide attempts with an unknown user name (an account filter shows them
        anyway: a mistyped login is what one looks for there)."""
        hide = not self.filters.hide_unknown
        self.set_filters(self.filters.with_(hide_unknown=hide))
        self.notify("Unknown-user attempts hidden" if hide else "Unknown-user attempts shown",
                    timeout=2)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self.new_rows = 0
            table = self._table()
            if table is not None:
                table.action_scroll_end()
        self._render_live()
        self.notify("Following the newest rows" if self.follow else "Follow off", timeout=2)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._render_live()
        if not self.paused:
            self._poll_live()

    def action_details(self) -> None:
        row_id = self.cursor_id()
        if row_id is not None:
            self.post_message(self.OpenRow(self.view, row_id))

    def action_export_csv(self) -> None:
        self.notify(f"Exporting {self.view} as CSV…", timeout=2)
        self._export_csv(self.filters, self.app.export_dir)  # type: ignore[attr-defined]

    @work(thread=True, group="export", exit_on_error=False)
    def _export_csv(self, filters: Filters, directory: Path) -> None:
        try:
            path = adapters.export_csv(self.source, self.view, filters, directory)
        except Exception as exc:  # reported, never a crash
            self.app.call_from_thread(
                notify_safe, self, f"CSV export failed: {exc}", severity="error"
            )
            return
        self.app.call_from_thread(notify_safe, self, f"CSV written: {path}", title="Export")
