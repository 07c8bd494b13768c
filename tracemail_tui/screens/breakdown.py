"""The `t` screen: the top values of one field over the rows a view shows.

"Why are 3,000 messages queued?" is a question about values, not rows: this screen
counts the view's current rows (same filters) per reason pattern, relay, remote IP, ...
`←`/`→` change the field, `enter` narrows the view to the highlighted value
(`Filters.group`, the same expression as the count), `e` writes every value as CSV and
`esc` goes back unchanged. Counting runs in a thread worker, again when new rows arrive
(the counts of an incident keep moving); every value is shown literally (log content).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from tracemail_tui import adapters
from tracemail_tui.store import breakdown
from tracemail_tui.store.breakdown import NONE_LABEL, Breakdown
from tracemail_tui.store.query import Filters, Source, query
from tracemail_tui.widgets.safe_text import notify_safe, safe_text

TOP = 500
"""Values listed (the totals under the table count them all; `e` exports them all)."""
BAR = 10
LIVE_S = 1.0
"""How often new rows are looked for (a recount costs ~0.1-0.3 s at 1M rows)."""

Picked = tuple[str, str | None]
"""What `enter` hands back: (key name, value), for `Filters.group`."""


def _bar(fraction: float) -> str:
    """A fraction as a bar of `BAR` cells (eighths), readable without colour."""
    eighths = round(fraction * BAR * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + ("" if not part else " ▏▎▍▌▋▊▉"[part])).ljust(BAR)


def count(source: Source, view: str, filters: Filters, name: str) -> Breakdown:
    """The breakdown of `view`'s rows matching `filters` by key `name` (only the columns
    that key reads are collected)."""
    k = breakdown.key(view, name)
    rows = query(source, view, filters).select(k.expr.meta.root_names()).collect()
    return breakdown.breakdown(rows, view, name, TOP)


class BreakdownScreen(Screen[Picked | None]):
    """Top values of one key over the rows of one view; dismisses with the pick."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # One footer entry for the arrows (the field line above names both): the footer
        # must keep Quit and Help at 80x24.
        Binding("left", "key(-1)", "Previous field", key_display="←", priority=True,
                show=False, id="top.prev"),
        Binding("right", "key(1)", "Next field", key_display="→", priority=True,
                id="top.next"),
        Binding("enter", "pick", "Show rows", priority=True, id="top.pick"),
        Binding("e", "export", "CSV", id="top.export"),
        Binding("escape,t", "dismiss(None)", "Back", id="top.back"),
    ]

    def __init__(self, source: Source, view: str, filters: Filters) -> None:
        super().__init__()
        self.source = source
        self.view = view
        self.filters = filters
        self.keys = breakdown.KEYS[view]
        self.at = 0
        self.result: Breakdown | None = None
        self.generation = -1  # of the source, when the shown counts were taken
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield Static("", id="top-title")
            yield Static("", id="top-key")
            table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True,
                                               id="top-table")
            yield table
            yield Static("", id="top-value")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("rows", key="rows")
        table.add_column("share", key="share")
        table.add_column("", key="bar")
        table.add_column("value", key="value")
        table.focus()
        self._show_key()
        self.set_interval(LIVE_S, self._poll_live)

    # ---- counting --------------------------------------------------------------------

    def _show_key(self) -> None:
        k = self.keys[self.at]
        where = " · ".join(f"{n}: {v}" for n, v in self.filters.describe().items())
        title = Text(f"Top values · {self.view}", style="bold")
        if where:  # typed by the user or picked from log content: shown literally
            title.append_text(safe_text(f" · {where}", style="dim"))
        self.query_one("#top-title", Static).update(title)
        self.query_one("#top-key", Static).update(
            Text.assemble("by ", (f"‹ {k.label} ›", "bold reverse"),
                          f"  {self.at + 1}/{len(self.keys)}  ← → field · enter: show rows")
        )
        self.query_one("#top-value", Static).update("counting…")
        self._start_count()

    def _start_count(self) -> None:
        self.busy = True
        self._count(self.keys[self.at].name, self.source.generation)

    def _poll_live(self) -> None:
        """New rows arrived: count again (one count at a time, never while hidden)."""
        if (not self.busy and self.result is not None and self.app.screen is self
                and self.source.generation != self.generation):
            self._start_count()

    @work(thread=True, exclusive=True, group="top", exit_on_error=False)
    def _count(self, name: str, generation: int) -> None:
        try:
            result = count(self.source, self.view, self.filters, name)
        except Exception as exc:  # a broken store: say so, keep the screen usable
            self.app.call_from_thread(self._failed, exc)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._shown, result, generation)

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        notify_safe(self, f"Counting failed: {exc}", severity="error")

    def _shown(self, result: Breakdown, generation: int) -> None:
        if result.key.name != self.keys[self.at].name:
            return  # the user moved on to another field meanwhile (its count is coming)
        self.busy = False
        self.generation = generation
        table = self.query_one(DataTable)
        # A recount keeps the cursor on the value it was on (its row may have moved).
        old = self.result
        same_key = old is not None and old.key.name == result.key.name
        keep = (old.frame.get_column("value")[table.cursor_row]
                if old is not None and same_key and 0 <= table.cursor_row < old.frame.height
                else None)
        timeline = result.key.bucket is not None
        # A timeline opens on its latest bucket and stays there as new ones arrive.
        at_end = timeline and (not same_key or table.cursor_row >= table.row_count - 1)
        self.result = result
        table.clear()
        # A timeline's bars are against its busiest bucket (each bucket is a small share
        # of all rows); the other keys' bars are their share.
        peak = max([1, *result.frame.get_column("rows").to_list()]) if timeline else 0
        for i, (value, rows, share) in enumerate(result.frame.iter_rows()):
            table.add_row(
                Text(f"{rows:,}", justify="right"),
                Text(f"{share:6.1%}", justify="right"),
                Text(_bar(rows / peak if timeline else share), style="cyan"),
                safe_text(value) if value is not None else Text(NONE_LABEL, style="dim"),
                key=str(i),
            )
        if at_end and table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)
        elif keep is not None:
            hits = result.frame.get_column("value").eq_missing(keep).arg_true()
            if len(hits):
                table.move_cursor(row=int(hits[0]), animate=False)
        self._describe_cursor()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe_cursor()

    def _describe_cursor(self) -> None:
        """Under the table: the highlighted value in full (a reason is long) and totals."""
        result = self.result
        if result is None:
            return
        out = Text(result.totals(), style="dim")
        row = self.query_one(DataTable).cursor_row
        if result.frame.height and 0 <= row < result.frame.height:
            value = result.frame.get_column("value")[row]
            out = Text.assemble(safe_text(value) if value is not None else NONE_LABEL,
                                "\n", out)
        self.query_one("#top-value", Static).update(out)

    # ---- actions ---------------------------------------------------------------------

    def action_key(self, step: int) -> None:
        self.at = (self.at + step) % len(self.keys)
        self.result = None
        self.query_one(DataTable).clear()
        self._show_key()

    def action_export(self) -> None:
        """Every value of the field (not only the listed top) as CSV, in a worker."""
        self.notify(f"Exporting the {self.keys[self.at].label} counts as CSV…", timeout=2)
        self._export(self.keys[self.at].name, getattr(self.app, "export_dir", Path.cwd()))

    @work(thread=True, group="top-export", exit_on_error=False)
    def _export(self, name: str, directory: Path) -> None:
        try:
            path = adapters.export_breakdown(self.source, self.view, self.filters, name,
                                             directory)
        except Exception as exc:  # reported, never a crash
            self.app.call_from_thread(notify_safe, self, f"CSV export failed: {exc}",
                                      severity="error")
            return
        self.app.call_from_thread(notify_safe, self, f"CSV written: {path}", title="Export")

    def action_pick(self) -> None:
        result = self.result
        row = self.query_one(DataTable).cursor_row
        if result is None or not 0 <= row < result.frame.height:
            return
        self.dismiss((result.key.name, result.frame.get_column("value")[row]))

