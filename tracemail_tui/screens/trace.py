"""The main screen: one tab per view (Accesses, Received, Sent).

One screen with three panes rather than three screens: the panes stay mounted, so each
view keeps its filters, cursor and follow state while you flip between them, and a
flip is instant (no re-query). Hidden panes skip live refreshes until shown again.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from tracemail_tui.screens.breakdown import BreakdownScreen, Picked
from tracemail_tui.store.query import Filters, Source
from tracemail_tui.widgets.view_pane import ViewPane

TABS = (("accesses", "1 Accesses"), ("received", "2 Received"), ("sent", "3 Sent"))


class TraceScreen(Screen[None]):
    """Tabs + the three view panes + footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_view('accesses')", "Accesses", show=False, id="screen.accesses"),
        Binding("2", "show_view('received')", "Received", show=False, id="screen.received"),
        Binding("3", "show_view('sent')", "Sent", show=False, id="screen.sent"),
        Binding("enter", "details", "Details", id="screen.details"),
        Binding("t", "breakdown", "Top", id="view.top"),
    ]

    def __init__(self, source: Source, filters: dict[str, Filters], view: str) -> None:
        super().__init__()
        self.source = source
        self.filters = filters
        self.initial_view = view

    def compose(self) -> ComposeResult:
        with TabbedContent(initial=f"tab-{self.initial_view}"):
            for view, title in TABS:
                with TabPane(title, id=f"tab-{view}"):
                    yield ViewPane(view, self.source, self.filters[view], id=f"pane-{view}")
        yield Footer()

    def on_mount(self) -> None:
        # Start on the table (not the tabs), so the view's keys work at once.
        self.call_after_refresh(self._focus_table)

    @property
    def pane(self) -> ViewPane:
        """The pane of the view on show."""
        active = self.query_one(TabbedContent).active.removeprefix("tab-")
        return self.query_one(f"#pane-{active}", ViewPane)

    def action_show_view(self, view: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{view}"
        self._focus_table()

    def action_details(self) -> None:
        self.pane.action_details()

    def action_breakdown(self) -> None:
        """The top values of a field over the rows the pane shows; a pick narrows the
        pane to that value (its filters, so `x` and the CSV export see it too)."""
        pane = self.pane

        def picked(pick: Picked | None) -> None:
            if pick is not None:
                pane.set_filters(pane.filters.with_(group=pick))

        self.app.push_screen(BreakdownScreen(self.source, pane.view, pane.filters), picked)

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.call_after_refresh(self.pane._poll_live)

    def _focus_table(self) -> None:
        table = self.pane._table()
        if table is not None:
            table.focus()

    @on(ViewPane.OpenRow)
    def _open_row(self, message: ViewPane.OpenRow) -> None:
        self.app.open_detail(message.view, message.row_id)  # type: ignore[attr-defined]
