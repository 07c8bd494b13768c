"""Column fitting, cell formatting and escaping of the results table (no Textual)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.tui.data import DAY, store
from tracemail_tui.store.query import Filters
from tracemail_tui.widgets import columns, results
from tracemail_tui.widgets.results_table import FormattingBackend
from tracemail_tui.widgets.safe_text import escape_controls


@pytest.mark.parametrize("view", ["accesses", "received", "sent"])
@pytest.mark.parametrize("width", [79, 119, 159])
def test_fit_never_exceeds_width_and_keeps_outcome(view: str, width: int) -> None:
    fitted = columns.fit(view, width)
    used = sum(w + columns.CELL_PADDING for _, w in fitted)
    assert used <= width
    keys = [s.key for s, _ in fitted]
    assert keys[:2] == ["time", "status"]
    assert len(columns.fit(view, 159)) > len(columns.fit(view, 79))


def test_reason_shows_past_the_80_column_set() -> None:
    """"Why was it rejected / still queued?": the reason is the first column added when
    the terminal is wider than 80 (at 100 columns already)."""
    for view in ("received", "sent"):
        assert "reason" not in [s.key for s, _ in columns.fit(view, 79)]
        assert [s.key for s, _ in columns.fit(view, 99)][5] == "reason"


def test_reason_cell_keeps_the_remote_servers_words() -> None:
    """The relay and the SMTP stage have their places; the cell shows what was said."""
    cell = columns.formatter("reason", pl.String, False)
    said = ("host mx.partner.test[192.0.2.7] said: 451 4.3.0 <defer.later@remote.test>: "
            "Temporary lookup failure (in reply to RCPT TO command)")
    assert cell(said) == "451 4.3.0 <defer.later@remote.test>: Temporary lookup failure"
    deleted = "deleted from the queue by an administrator (postsuper); last attempt: " + said
    assert cell(deleted) == (
        "deleted from the queue by an administrator (postsuper); last attempt: "
        "451 4.3.0 <defer.later@remote.test>: Temporary lookup failure")
    assert cell("Gtube pattern") == "Gtube pattern"
    assert cell("said: \x1b[31m") == "said: \\x1b[31m"
    assert cell(None) is None


def test_escape_controls_makes_escapes_visible() -> None:
    assert escape_controls("a\x1b[31mb\x07\r\n\t\u202e") == "a\\x1b[31mb\\x07\\r\\n\\t\\u202e"
    assert escape_controls("[bold red]x[/]") == "[bold red]x[/]"  # markup is not a control
    # a line/paragraph separator would break a table row; an Arabic letter mark reorders
    assert escape_controls("a\u2028b\u2029c\u061cd") == "a\\u2028b\\u2029c\\u061cd"
    # the same text as the CLI and the PDFs show
    from tracemail_tui.export.text import visible
    hostile = "".join(chr(c) for c in range(0x00, 0xA0)) + "\u202e\ufeff\udcff"
    assert escape_controls(hostile) == visible(hostile)


def test_load_counts_status_independently_and_caps_rows() -> None:
    src = store(300, days=1)
    r = results.load(src, "received", Filters(date=DAY, status="rejected"), 79, cap=5)
    df = src.scan("received").collect()
    assert r.total == df.filter(pl.col("status") == "rejected").height
    assert r.shown == min(5, r.total)
    assert r.counts["accepted"] == df.filter(pl.col("status") == "accepted").height
    assert sum(r.hours) == r.total
    # newest rows last
    assert r.ids.to_list() == (
        df.filter(pl.col("status") == "rejected").sort("time").tail(5)["id"].to_list()
    )


def test_cells_show_icon_and_word_literal_markup_and_escaped_controls() -> None:
    src = store(50, days=1)
    r = results.load(src, "received", Filters(date=DAY), 159)
    backend = FormattingBackend(r.table, [w for _, w in r.columns], r.formatters)
    labels = [s.key for s, _ in r.columns]
    rows = [dict(zip(labels, backend.get_row_at(i), strict=True)) for i in range(r.shown)]
    assert rows[-1]["status"].split(" ", 1)[1] in {"accepted", "quarantined", "rejected"}
    assert rows[-1]["status"][0] in "✓⚑✗"
    subjects = [row["subject"] for row in rows]
    assert "[bold red]URGENT[/] pay now" in subjects
    assert "\\x1b[31mred\\x1b[0m \\x1b]8;;http://evil\\x07link\\x1b]8;;\\x07" in subjects
    assert not any(ch in (s or "") for s in subjects for ch in "\x1b\x07\r\n\u202e")
    assert max(len(s or "") for s in subjects) == 300
    assert rows[-1]["time"].count(":") == 2 and len(rows[-1]["time"]) == 8


def test_default_day_is_today_or_newest_day() -> None:
    src = store(20, days=1)
    assert results.default_day(src, DAY) == DAY
    assert results.default_day(src, DAY + dt.timedelta(days=5)) == DAY
    assert results.default_day(src, DAY - dt.timedelta(days=5)) == DAY - dt.timedelta(days=5)


@pytest.mark.parametrize("needle", ["MARIO", "invoice 2026/1", "[bold", "a.b", "(", "é"])
def test_fast_text_filter_matches_the_query_api(needle: str) -> None:
    from tracemail_tui.store.query import filter_expr

    df = store(300, days=1).scan("received").collect()
    want = df.filter(filter_expr("received", Filters(text=needle)))["id"].to_list()
    index = results.text_index(store(300, days=1), "received", 0)
    got = index.frame.filter(results.text_match(needle))["id"].to_list()
    assert got == want
    r = results.load(store(300, days=1), "received", Filters(text=needle), 79)
    assert r.total == len(want)
