"""The `t` screen: top values of a field over a view's rows; enter narrows the view."""

from __future__ import annotations

import polars as pl
import pytest
from textual.widgets import DataTable, Static

from tests.tui import synthetic
from tests.tui.data import DAY, lines_for, store
from tests.tui.helpers import make_app, pane, plain, settle
from tracemail_tui.screens.breakdown import BreakdownScreen
from tracemail_tui.screens.trace import TraceScreen
from tracemail_tui.store import breakdown
from tracemail_tui.store.query import Filters, MemoryStore, query

pytestmark = pytest.mark.anyio

HOSTILE = "[bold red]pwned[/] \x1b[31mred\x1b[0m.example"


def hostile_store() -> MemoryStore:
    """The test store, with a relay host name full of markup and escapes on 3 sent rows."""
    frames = synthetic.frames(300, day=DAY, days=2, hostile=True)
    sent = frames["sent"]
    mark = pl.int_range(pl.len()) >= pl.len() - 3
    frames["sent"] = sent.with_columns(
        relay_host=pl.when(mark).then(pl.lit(HOSTILE)).otherwise(pl.col("relay_host")))
    frames["lines"] = lines_for(frames["received"])
    return MemoryStore(frames)


async def _open(pilot, app) -> BreakdownScreen:  # type: ignore[no-untyped-def]
    await pilot.press("t")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, BreakdownScreen)
    return screen


async def test_counts_the_rows_the_view_shows_and_enter_narrows_to_a_value() -> None:
    src = hostile_store()
    app = make_app(src, "sent")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "sent")
        screen = await _open(pilot, app)
        shown = query(src, "sent", p.filters).collect()
        want = breakdown.breakdown(shown, "sent", "reason", limit=500)
        assert screen.result is not None
        assert screen.result.frame.equals(want.frame)
        table = screen.query_one(DataTable)
        assert table.row_count == want.frame.height

        # → the next field; ← back
        await pilot.press("right")
        await settle(pilot)
        assert screen.result is not None and screen.result.key.name == "recipient_domain"
        await pilot.press("left")
        await settle(pilot)
        assert screen.result is not None and screen.result.key.name == "reason"

        # The hostile value (3rd field): listed literally, no markup applied, escapes visible.
        await pilot.press("right", "right")
        await settle(pilot)
        assert screen.result is not None and screen.result.key.name == "relay_host"
        row = screen.result.frame.get_column("value").to_list().index(HOSTILE)
        table.move_cursor(row=row)
        await settle(pilot)
        under = plain(screen.query_one("#top-value", Static))
        assert "[bold red]pwned[/]" in under and "\\x1b[31mred" in under and "\x1b" not in under
        cell = str(table.get_row_at(row)[3])
        assert cell.startswith("[bold red]pwned[/] \\x1b[31m") and "\x1b" not in cell

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TraceScreen)
        assert p.filters.group == ("relay_host", HOSTILE)
        assert p.result is not None and p.result.total == 3
        showing = plain(p.query_one("#showing", Static))
        assert "relay host: [bold red]pwned[/] … (x)" in showing  # cut short, literal

        await pilot.press("x")  # clear filters: the pick goes too
        await settle(pilot)
        assert p.filters.group is None and p.result.total == shown.height


async def test_escape_goes_back_unchanged_and_accesses_count_failures() -> None:
    src = store()
    app = make_app(src, "accesses")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "accesses")
        before = p.filters
        screen = await _open(pilot, app)
        assert screen.result is not None and screen.result.key.name == "error"
        failed = query(src, "accesses", before).collect().get_column("error").drop_nulls()
        counted = dict(screen.result.frame.select("value", "rows").iter_rows())
        assert {k: v for k, v in counted.items() if k is not None} == dict(
            failed.value_counts().iter_rows())
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TraceScreen) and p.filters == before


async def test_a_narrowed_view_keeps_its_other_filters() -> None:
    """The pick adds to the view's filters (status, day): the breakdown counted those."""
    src = store()
    app = make_app(src, "sent")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "sent")
        p.set_filters(p.filters.with_(status="rejected"))
        await settle(pilot)
        screen = await _open(pilot, app)
        assert screen.result is not None
        value, rows, _ = screen.result.frame.row(0)
        await pilot.press("enter")
        await settle(pilot)
        assert p.filters == Filters(date=DAY, status="rejected", group=("reason", value))
        assert p.result is not None and p.result.total == rows
