"""The tracemail Textual app: thin; screens and widgets do the work.

The app takes a `Source` (query.py) and a clock; it never reads log files itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from tracemail_tui.commands import ActionsProvider
from tracemail_tui.screens.breakdown import BreakdownScreen
from tracemail_tui.screens.detail import DetailScreen
from tracemail_tui.screens.help import HelpScreen
from tracemail_tui.screens.trace import TraceScreen
from tracemail_tui.store import schema
from tracemail_tui.store.query import Filters, Source
from tracemail_tui.widgets.results import default_day
from tracemail_tui.widgets.results_table import ResultsTable
from tracemail_tui.widgets.view_pane import ViewPane

STATUS_POLL_S = 0.5
LOADING = "reading logs"  # the status while a backfill runs (see launch.Session.status)


class TracemailApp(App[None]):
    """Accesses, Received and Sent, live, in a terminal."""

    TITLE = "tracemail"
    CSS_PATH = "app.tcss"
    COMMANDS: ClassVar = App.COMMANDS | {ActionsProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
    ]

    def __init__(
        self,
        source: Source,
        *,
        view: str = "received",
        filters: Filters | None = None,
        now: Callable[[], dt.datetime] = dt.datetime.now,
        export_dir: Path | None = None,
        status: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self._status = status
        self.status_text = ""
        self._auto_day = False
        """What feeds the source is doing ("reading logs… 45%"), shown by every view."""
        self.source = source
        self.initial_view = view
        self.preset = filters or Filters()
        self.now = now
        self.export_dir = export_dir or Path.cwd()

    def on_mount(self) -> None:
        preset = self.preset
        if preset.date is None and preset.since is None and preset.until is None:
            preset = preset.with_(date=default_day(self.source, self.now().date()))
        filters = {view: preset for view in schema.VIEWS}
        # Brute-force attempts on names that do not exist would bury the real failures;
        # hidden (and counted) until `u`, or until an account is asked for.
        filters["accesses"] = preset.with_(hide_unknown=True)
        self.push_screen(TraceScreen(self.source, filters, self.initial_view))
        if self._status is not None:
            self._auto_day = self.preset.date is None and preset.date is not None
            self.set_interval(STATUS_POLL_S, self._poll_status)

    def _poll_status(self) -> None:
        text = self._status() if self._status is not None else ""
        panes = [pane for screen in self.screen_stack for pane in screen.query(ViewPane)]
        if text != self.status_text:
            self.status_text = self.sub_title = text
            for pane in panes:
                pane.render_status()
                pane._poll_live()  # a backfill just ended: show its rows now, not next tick
        if self._auto_day and not text.startswith(LOADING):
            self._move_to_newest_day(panes)

    def _move_to_newest_day(self, panes: list[ViewPane]) -> None:
        """The day picked at start (maybe before any row was read) may have stayed empty:
        once the backfill is over, move empty views to the newest day with data."""
        if not panes or any(p.result is None or p.busy for p in panes):
            return  # the first queries are not back yet: next tick
        self._auto_day = False
        day = default_day(self.source, self.now().date())
        for pane in panes:
            if pane.filters.date != day and pane.result is not None and pane.result.total == 0:
                pane.set_filters(pane.filters.with_(date=day))

    def open_detail(self, view: str, row_id: str) -> None:
        """Show the detail modal of one row."""
        self.push_screen(DetailScreen(self.source, view, row_id, self.export_dir))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_sections(self)))


def help_sections(app: TracemailApp) -> list[tuple[str, list[BindingType]]]:
    """The keys of every part of the app, for the help screen."""
    return [
        ("Everywhere", list(TracemailApp.BINDINGS)),
        ("Views", list(TraceScreen.BINDINGS)),
        ("In a view", list(ViewPane.BINDINGS)),
        ("Table", list(ResultsTable.BINDINGS)),
        ("Details", list(DetailScreen.BINDINGS)),
        ("Top values (t)", list(BreakdownScreen.BINDINGS)),
    ]
