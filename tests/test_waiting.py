"""How long a queued message has waited and when Postfix gives up (`export.waiting`), and
the reading aids next to raw numbers, in the details and the PDF report."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest
from export_data import pdf_text
from typer.testing import CliRunner

from tracemail_tui import adapters
from tracemail_tui.cli.common import app
from tracemail_tui.export import explain as ex
from tracemail_tui.export.pdf_report import write_result_pdf
from tracemail_tui.export.waiting import gloss, human_duration, waiting_text
from tracemail_tui.screens.detail import fields_text
from tracemail_tui.store import engine

REAL = Path(__file__).parent / "fixtures" / "real"


@pytest.fixture(scope="module")
def s03() -> dict:  # type: ignore[type-arg]
    """Lab S03: bob's mail to defer.later@remote.test, refused 451 by the remote, queued."""
    sent = engine.run([REAL]).views["sent"]
    return sent.filter(pl.col("recipient") == "defer.later@remote.test").row(0, named=True)


@pytest.mark.parametrize(("seconds", "text"), [
    (0.06, "0 s"), (45, "45 s"), (60, "1 min"), (754, "12 min 34 s"), (8503.0, "2 h 21 min"),
    (7205, "2 h"), (3 * 86_400 + 4 * 3_600 + 59, "3 d 4 h"), (-5, "0 s"),
])
def test_human_duration_two_units_at_most(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_the_real_queued_message_says_when_it_was_tried_and_when_postfix_gives_up(
        s03: dict) -> None:  # type: ignore[type-arg]
    assert s03["status"] == "queued" and s03["delay"] < 1
    text = waiting_text("sent", s03)
    assert text is not None
    assert text.startswith("Its last delivery attempt was at about 2026-11-27 05:40, moments "
                           "after it was submitted.")
    assert "returned to the sender at about 2026-12-02 05:40" in text
    assert text in ex.explain("sent", s03)
    later = {**s03, "delay": 8503.0}
    assert "at about 2026-11-27 08:02, 2 h 21 min after" in str(waiting_text("sent", later))
    fresh = waiting_text("sent", {**s03, "delay": None})
    assert fresh is not None and fresh.startswith("No delivery attempt is logged yet")


def test_only_waiting_rows_get_the_timing(s03: dict) -> None:  # type: ignore[type-arg]
    assert waiting_text("sent", {**s03, "status": "delivered"}) is None
    assert waiting_text("sent", {**s03, "status": "rejected"}) is None
    when = dt.datetime(2026, 11, 27, 6, 0)
    deferred = {"time": when, "status": "accepted", "delivery": "deferred"}
    assert "at about 2026-12-02 06:00" in str(waiting_text("received", deferred))
    assert waiting_text("received", {**deferred, "delivery": "delivered"}) is None
    # Deleted from the queue by an administrator: nothing waits any more.
    assert waiting_text("received", {**deferred, "delivery": "deleted"}) is None


@pytest.mark.parametrize(("key", "value", "text"), [
    ("delay", 8503.0, "2 h 21 min"), ("delay", 12.5, None), ("size", 21946, "21.4 KB"),
    ("size", 900, None), ("bytes_out", 5 * 1024**3, "5.0 GB"), ("bytes_in", 3_500_000, "3.3 MB"),
    ("size", None, None), ("size", float("nan"), None), ("spam_score", 8503.0, None),
    ("blocked", True, None),
])
def test_glosses_read_raw_numbers(key: str, value: object, text: str | None) -> None:
    assert gloss(key, value) == text


def test_details_and_pdf_keep_the_raw_value_and_add_the_gloss(s03: dict) -> None:  # type: ignore[type-arg]
    row = {**s03, "delay": 8503.0, "size": 21946}
    from rich.console import Console

    console = Console(width=100, record=True, color_system=None)
    console.print(fields_text("sent", row))
    shown = console.export_text()
    assert "8503.0  2 h 21 min" in shown and "21946  21.4 KB" in shown
    out = io.BytesIO()
    write_result_pdf(row, out, view="sent")
    text = " ".join(pdf_text(out.getvalue()).split())
    assert "8503.0 (2 h 21 min)" in text and "21946 (21.4 KB)" in text
    assert "returned to the sender at about 2026-12-02 05:40" in text


def test_a_configured_queue_lifetime_replaces_postfixs_default(
        s03: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    """A server with maximal_queue_lifetime = 2d: `queue_lifetime_days = 2` in the config
    makes the details and the report say when *that* server gives up."""
    text = str(waiting_text("sent", s03, lifetime_days=2))
    assert ("With the queue lifetime of 2 days (maximal_queue_lifetime, as set in "
            "tracemail's config) it is returned to the sender at about 2026-11-29 05:40") in text
    assert "0.5" not in str(waiting_text("sent", s03, lifetime_days=0.5))
    assert "12 h" in str(waiting_text("sent", s03, lifetime_days=0.5))
    # The CLI report reads it from the config (here the environment).
    monkeypatch.setenv("TRACEMAIL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACEMAIL_QUEUE_LIFETIME_DAYS", "2")
    assert text in adapters.explain("sent", s03)  # the app's detail screen
    out = tmp_path / "s03.pdf"
    res = CliRunner().invoke(app, ["report", "sent", s03["id"], str(REAL), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "2026-11-2905:40" in "".join(pdf_text(out.read_bytes()).split())
    monkeypatch.setenv("TRACEMAIL_QUEUE_LIFETIME_DAYS", "a week")
    res = CliRunner().invoke(app, ["report", "sent", s03["id"], str(REAL), "-o", str(out)])
    assert res.exit_code == 2 and "queue_lifetime_days must be a number" in res.output
