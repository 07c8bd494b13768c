"""Driving the app in tests: wait for the query workers instead of sleeping blindly."""

from __future__ import annotations

import io
import time
from pathlib import Path

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from tests.tui.data import frozen_now
from tracemail_tui.app import TracemailApp
from tracemail_tui.store.query import Source
from tracemail_tui.widgets.view_pane import ViewPane


def make_app(
    source: Source, view: str = "received", export_dir: Path | None = None
) -> TracemailApp:
    return TracemailApp(source, view=view, now=frozen_now, export_dir=export_dir)


async def settle(pilot: Pilot, rounds: int = 3, timeout: float = 15.0) -> None:
    """Let debounce timers fire and every worker finish, then let the UI catch up.

    On a loaded machine a fixed number of pauses is not enough (snapshots then catch a
    half-loaded screen), so this also waits until every pane has a result and no query
    or debounce is pending, within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    for _ in range(rounds):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    while time.monotonic() < deadline and not _idle(pilot.app):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _idle(app: TracemailApp) -> bool:
    panes = [p for screen in app.screen_stack for p in screen.query(ViewPane)]
    return all(
        not p.busy and p.result is not None and getattr(p, "_debounce", None) is None
        and _cursor_in_view(p)
        for p in panes
    )


def _cursor_in_view(p: ViewPane) -> bool:
    """The pane's table has scrolled to its cursor (placed after a refresh: on a loaded
    machine a snapshot could otherwise catch the table still at its top)."""
    table = p._table()
    if table is None or not p.display or table.row_count == 0 or table.size.height == 0:
        return True
    row = table.cursor_coordinate.row
    top = table.scroll_offset.y
    return top <= row < top + table.scrollable_content_region.height


async def settle_debounced(pilot: Pilot) -> None:
    await pilot.pause(0.35)  # the filter debounce
    await settle(pilot)


def pane(app: TracemailApp, view: str) -> ViewPane:
    return app.screen.query_one(f"#pane-{view}", ViewPane)


def plain(static: Static) -> str:
    """What a Static shows, as plain text (rendered by Rich, no styles)."""
    out = io.StringIO()
    Console(file=out, width=200, color_system=None, legacy_windows=False).print(static.content)
    return out.getvalue()
