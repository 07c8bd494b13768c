"""The `t` screen: top values of a field over a view's rows; enter narrows the view."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest
from textual.widgets import DataTable, Static

from tests.tui import synthetic
from tests.tui.data import DAY, append_rows, lines_for, new_received, store
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


async def test_counts_follow_new_rows_and_keep_the_cursor_on_its_value() -> None:
    """During an incident the counts keep moving: new rows are counted again (the screen
    polls the source like the panes do) and the highlighted value stays highlighted."""
    src = store()
    app = make_app(src, "received")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await _open(pilot, app)
        await pilot.press("right", "right")  # sender: one value per row, easy to follow
        await settle(pilot)
        assert screen.result is not None and screen.result.key.name == "sender"
        table = screen.query_one(DataTable)
        table.move_cursor(row=1)
        await settle(pilot)
        value = screen.result.frame.get_column("value")[1]
        before = screen.result.total
        # 20 new rows from a new sender: it becomes the top value, the others move down.
        new = pl.concat([new_received(f"n{i}", second=i).with_columns(
            sender=pl.lit("burst@spam.test")) for i in range(20)])
        append_rows(src, "received", new)
        for _ in range(40):
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            if screen.result is not None and screen.result.total == before + 20:
                break
        assert screen.result is not None and screen.result.total == before + 20
        assert screen.result.frame.row(0)[:2] == ("burst@spam.test", 20)
        assert table.cursor_row == 2  # moved down with its value
        assert screen.result.frame.get_column("value")[table.cursor_row] == value


async def test_e_writes_every_value_as_csv(tmp_path: Path) -> None:
    src = store()
    app = make_app(src, "sent", export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "sent")
        await _open(pilot, app)
        await pilot.press("e")
        await settle(pilot)
        await app.workers.wait_for_complete()
        (path,) = tmp_path.glob("tracemail-sent-*-top-reason.csv")
        got = list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))
        want = breakdown.breakdown(query(src, "sent", p.filters).collect(), "sent", "reason")
        assert [(r["value"] or None, int(r["rows"])) for r in got] == want.frame.select(
            "value", "rows").rows()
        assert oct(path.stat().st_mode & 0o777) == "0o600"  # personal data


async def test_an_empty_view_counts_nothing_and_enter_stays() -> None:
    app = make_app(MemoryStore(), "sent")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await _open(pilot, app)
        assert screen.result is not None and (screen.result.total, screen.result.distinct) == (
            0, 0)
        assert "0 rows, 0 values" in plain(screen.query_one("#top-value", Static))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen


async def test_the_minute_timeline_opens_on_the_latest_minute_and_follows_it() -> None:
    """`←` from the first field is the finest time key: rows per minute, oldest first, the
    cursor on the latest minute (and on the next one as it arrives); enter shows its rows."""
    src = store()
    app = make_app(src, "received")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        screen = await _open(pilot, app)
        await pilot.press("left")
        await settle(pilot)
        result = screen.result
        assert result is not None and result.key.name == "minute"
        table = screen.query_one(DataTable)
        assert table.row_count == result.frame.height > 1
        assert table.cursor_row == table.row_count - 1  # the latest minute
        starts = result.frame.get_column("value").str.to_datetime("%Y-%m-%d %H:%M")
        assert starts.diff().drop_nulls().unique().to_list() == [dt.timedelta(minutes=1)]

        # Three rows two minutes after the last: the timeline grows (the empty minute
        # between listed as 0) and the cursor moves on with it.
        later = starts[-1] + dt.timedelta(minutes=2)
        burst = pl.concat([new_received(f"late{i}").with_columns(
            time=pl.lit(later + dt.timedelta(seconds=i))) for i in range(3)])
        append_rows(src, "received", burst)
        for _ in range(40):
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            if screen.result is not None and screen.result.total == result.total + 3:
                break
        grown = screen.result
        assert grown is not None and grown.total == result.total + 3
        value = later.strftime("%Y-%m-%d %H:%M")
        assert grown.frame.row(-1)[:2] == (value, 3)
        assert grown.frame.row(-2)[1] == 0
        assert table.cursor_row == table.row_count - 1
        # Bars against the busiest minute (each is a tiny share of all rows): the burst
        # has the full bar, a minute of one row a third of it, an empty minute none.
        bars = [str(table.get_row_at(i)[2]) for i in range(table.row_count)]
        ones = grown.frame.get_column("rows").eq(1).arg_true()
        assert bars[-1] == "█" * 10 and bars[-2].strip() == ""
        assert bars[int(ones[0])] == "███▍      "

        await pilot.press("enter")
        await settle(pilot)
        assert p.filters.group == ("minute", value)
        assert p.result is not None and p.result.total == 3
        assert f"minute: {value} (x)" in plain(p.query_one("#showing", Static))
