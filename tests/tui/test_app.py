"""The app driven with Pilot at 80x24 and 160x48: filters, details, exports, live data, help."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader
from textual.binding import Binding
from textual.widgets import Input, Static

from tests.tui.data import DAY, append_rows, new_received, store
from tests.tui.helpers import make_app, pane, plain, settle, settle_debounced
from tracemail_tui.app import TracemailApp
from tracemail_tui.commands import ActionsProvider
from tracemail_tui.screens.breakdown import BreakdownScreen
from tracemail_tui.screens.detail import DetailScreen
from tracemail_tui.screens.help import HelpScreen
from tracemail_tui.screens.trace import TraceScreen
from tracemail_tui.store.query import Filters
from tracemail_tui.widgets.results_table import ResultsTable
from tracemail_tui.widgets.view_pane import ViewPane

pytestmark = pytest.mark.anyio

SIZES = [(80, 24), (160, 48)]


def expected(src, view: str, **filters) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    from tracemail_tui.store.query import query

    return query(src, view, Filters(**filters)).collect()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", ["accesses", "received", "sent"])
async def test_each_view_shows_the_newest_day_with_the_cursor_on_the_newest_row(
    view: str, size: tuple[int, int]
) -> None:
    src = store()
    app = make_app(src, view)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        p = pane(app, view)
        assert p.filters.date == DAY
        want = expected(src, view, date=DAY, hide_unknown=view == "accesses")
        assert p.result is not None and p.result.total == want.height
        table = p.query_one(ResultsTable)
        assert app.focused is table
        assert table.cursor_row == table.row_count - 1
        assert p.cursor_id() == want["id"][-1]
        # the layout fits: every table column is inside the terminal
        assert sum(c.render_width for c in table.ordered_columns) <= size[0]


async def test_switching_views_with_number_keys() -> None:
    app = make_app(store())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key, view in (("1", "accesses"), ("3", "sent"), ("2", "received")):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, TraceScreen)
            assert app.screen.pane.view == view


async def test_filter_by_domain_account_and_text_typed_in_the_bar() -> None:
    src = store()
    app = make_app(src)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        p.query_one("#f-domain", Input).focus()
        await pilot.press(*"example.org")
        await settle_debounced(pilot)
        assert p.result is not None
        assert p.result.total == expected(src, "received", date=DAY, domain="example.org").height
        acct = expected(src, "received", date=DAY, domain="example.org")["recipient"][0]
        p.query_one("#f-account", Input).value = acct
        await pilot.press("enter")  # immediate, and back to the table
        await settle(pilot)
        want = expected(src, "received", date=DAY, domain="example.org", account=acct)
        assert p.result.total == want.height > 0
        assert isinstance(app.focused, ResultsTable)
        await pilot.press("slash")
        assert app.focused is p.query_one("#f-text", Input)
        await pilot.press(*"invoice", "enter")
        await settle(pilot)
        want = expected(
            src, "received", date=DAY, domain="example.org", account=acct, text="invoice"
        )
        assert p.result.total == want.height


async def test_prev_next_day_keys_and_cleared_date() -> None:
    src = store(days=2)
    app = make_app(src)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        await pilot.press("left_square_bracket")
        await settle(pilot)
        yesterday = DAY - dt.timedelta(days=1)
        assert p.filters.date == yesterday
        assert p.query_one("#f-date", Input).value == str(yesterday)
        assert p.result is not None
        assert p.result.total == expected(src, "received", date=yesterday).height
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert p.filters.date == DAY
        p.query_one("#f-date", Input).value = ""
        await settle_debounced(pilot)
        assert p.result.total == expected(src, "received").height


async def test_outcome_quick_filter_from_key_and_summary_click() -> None:
    src = store()
    app = make_app(src, "sent")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "sent")
        await pilot.press("s")
        await settle(pilot)
        assert p.filters.status == "delivered"
        assert p.result is not None
        assert p.result.total == expected(src, "sent", date=DAY, status="delivered").height
        assert p.result.counts["rejected"] > 0  # the other outcomes keep their counts
        summary = p.query_one("#summary")
        summary.action_pick("rejected")
        await settle(pilot)
        assert p.filters.status == "rejected"
        summary.action_pick("rejected")  # clicking the active one clears it
        await settle(pilot)
        assert p.filters.status is None


@pytest.mark.parametrize("size", SIZES)
async def test_details_show_every_field_literally_and_close_with_escape(
    size: tuple[int, int],
) -> None:
    src = store()
    app = make_app(src)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        table = p.query_one(ResultsTable)
        ids = p.result.ids.to_list()  # type: ignore[union-attr]
        row = src.scan("received").filter(pl.col("subject").str.starts_with("[bold red]")).collect()
        table.move_cursor(row=ids.index(row["id"][0]))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        body = plain(app.screen.query_one("#detail-content", Static))
        assert "[bold red]URGENT[/] pay now" in body
        for field in ("message_id", "queue_id", "spam_action", "dsn", "client_ip"):
            assert field in body
        assert "client=" in body  # evidence lines from the lines table
        assert "DSN" in body or "Status" in body or "accepted" in body  # hints
        await pilot.press("escape")
        assert isinstance(app.screen, TraceScreen)


async def test_hostile_subject_with_escapes_is_escaped_in_details() -> None:
    src = store()
    app = make_app(src)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        row = (
            src.scan("received")
            .filter(pl.col("subject").str.contains("\x1b", literal=True))
            .collect()
        )
        app.open_detail("received", row["id"][0])
        await settle(pilot)
        body = plain(app.screen.query_one("#detail-content", Static))
        assert "\x1b" not in body and "\\x1b[31mred" in body


async def test_copy_locate_and_pdf_from_details(tmp_path: Path) -> None:
    src = store()
    app = make_app(src, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        rid = pane(app, "received").cursor_id()
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.row is not None
        await pilot.press("y")
        assert app.clipboard == screen.row["message_id"]
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert screen.located is not None and screen.located["state"] == "unknown"
        assert "Where it is now" in plain(screen.query_one("#detail-content", Static))
        pdfs = list(tmp_path.glob("*.pdf"))
        assert len(pdfs) == 1 and any(str(pdfs[0]) in m for m in messages)
        text = "".join(page.extract_text() for page in PdfReader(pdfs[0]).pages)
        assert str(rid) in text.replace("\n", "")


async def test_export_csv_of_what_is_shown(tmp_path: Path) -> None:
    src = store()
    app = make_app(src, "accesses", export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "accesses")
        await pilot.press("s", "s")  # failed only
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        files = list(tmp_path.glob("*.csv"))
        assert len(files) == 1 and any(str(files[0]) in m for m in messages)
        got = pl.read_csv(files[0])
        assert got.height == p.result.total  # type: ignore[union-attr]
        assert set(got["status"].to_list()) == {"failed"}
        assert p.cursor_id() in got["id"].to_list()


async def test_new_rows_appear_live_and_follow_sticks_to_the_end() -> None:
    src = store()
    app = make_app(src)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        append_rows(src, "received", new_received("live one"))
        await pilot.pause(0.7)  # one live poll
        await settle(pilot)
        assert p.result is not None and p.result.generation == src.generation
        assert p.cursor_id() == "r-new-live one"
        # away from the end: the cursor stays on its row and "N new" is counted
        await pilot.press("k", "k")
        before = p.cursor_id()
        append_rows(src, "received", new_received("live two", second=59))
        await pilot.pause(0.7)
        await settle(pilot)
        assert p.cursor_id() == before
        assert p.new_rows == 1
        assert "1 new" in plain(p.query_one("#live", Static))
        await pilot.press("G")
        await settle(pilot)
        assert p.cursor_id() == "r-new-live two" and p.new_rows == 0


async def test_pause_holds_live_updates_until_resumed() -> None:
    src = store()
    app = make_app(src)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        await pilot.press("space")
        assert p.paused and "paused" in plain(p.query_one("#live", Static))
        gen = p.result.generation  # type: ignore[union-attr]
        append_rows(src, "received", new_received("while paused"))
        await pilot.pause(0.7)
        await settle(pilot)
        assert p.result.generation == gen  # type: ignore[union-attr]
        await pilot.press("space")
        await settle(pilot)
        assert p.result.generation == src.generation  # type: ignore[union-attr]
        assert p.cursor_id() == "r-new-while paused"


async def test_follow_toggle() -> None:
    app = make_app(store())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        await pilot.press("f")
        assert not p.follow and "live" in plain(p.query_one("#live", Static))
        await pilot.press("g", "f")
        await settle(pilot)
        assert p.follow
        assert p.query_one(ResultsTable).at_end


async def test_unknown_user_attempts_hidden_counted_and_shown_with_u() -> None:
    """Accesses hide brute-force attempts on names that do not exist, say how many, and
    show them on `u`; an account filter shows that account's attempts whatever `u` says."""
    src = store()
    app = make_app(src, "accesses")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "accesses")
        every = expected(src, "accesses", date=DAY)
        unknown = every.filter(pl.col("error") == "unknown-user")
        assert unknown.height > 0
        assert p.result is not None
        assert p.result.total == every.height - unknown.height
        assert p.result.hidden == unknown.height
        assert f"{unknown.height:,} unknown-user hidden (u)" in plain(p.query_one("#showing",
                                                                                    Static))
        await pilot.press("u")
        await settle(pilot)
        assert p.result.total == every.height and p.result.hidden == 0
        assert "unknown-user" not in plain(p.query_one("#showing", Static))
        await pilot.press("u")
        await settle(pilot)
        assert p.result.total == every.height - unknown.height
        account = unknown["user"][0]
        p.set_filters(p.filters.with_(account=account))
        await settle(pilot)
        mine = expected(src, "accesses", date=DAY, account=account)
        assert p.result.total == mine.height and p.result.hidden == 0
        # the other views have no such key
        await pilot.press("2")
        await settle(pilot)
        before = pane(app, "received").filters
        await pilot.press("u")
        assert pane(app, "received").filters == before


async def test_help_screen_lists_the_bindings() -> None:
    app = make_app(store())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = plain(app.screen.query(Static).last())
        for word in ("Follow", "Pause", "Locate", "PDF", "Prev day", "Unknown users",
                     "Next field", "esc/t"):
            assert word in text
        assert "escape," not in text  # a binding of several keys reads like one key each
        await pilot.press("escape")
        assert isinstance(app.screen, TraceScreen)


async def test_palette_has_a_command_for_every_view_action() -> None:
    app = make_app(store())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        provider = ActionsProvider(app.screen)
        names = [name for name, _, _ in provider._commands()]
        for name in (
            "Export the shown rows as CSV",
            "Toggle follow (stick to newest rows)",
            "Pause / resume live updates",
            "Previous day",
            "Show Sent",
            "Help: all keys",
        ):
            assert name in names
        run = dict((n, a) for n, _, a in provider._commands())["Show Sent"]
        await run()
        await settle(pilot)
        assert app.screen.pane.view == "sent"  # type: ignore[attr-defined]


def test_every_binding_has_an_id_and_none_uses_ctrl_b() -> None:
    from tracemail_tui.screens.help import HelpScreen as H

    classes = [TracemailApp, TraceScreen, ViewPane, ResultsTable, DetailScreen, H,
               BreakdownScreen]
    for cls in classes:
        for b in cls.BINDINGS:
            if cls is ResultsTable and b not in ResultsTable.BINDINGS[:4]:
                continue
            assert isinstance(b, Binding) and b.id, (cls, b)
            assert "ctrl+b" not in b.key


async def test_no_color_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(store())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        assert "Accepted" in app.export_screenshot()


class BrokenStore:
    """A source whose scans fail, like a store whose files vanished."""

    generation = 1

    def scan(self, view: str) -> pl.LazyFrame:
        raise OSError(f"cannot read the {view} partition")


async def test_a_failing_source_is_reported_not_fatal() -> None:
    src = store()
    app = make_app(src)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        p = pane(app, "received")
        p.source = BrokenStore()  # type: ignore[assignment]
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert not p.busy
        assert any("Query failed" in n.message for n in app._notifications)
        assert isinstance(app.screen, TraceScreen)
