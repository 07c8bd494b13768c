"""The CLI → source wiring on real logs: engine run, evidence, locate, the live demo."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from textual.widgets import Static

from tests.tui.data import frozen_now
from tests.tui.helpers import pane, plain, settle
from tracemail_tui import launch
from tracemail_tui.app import TracemailApp
from tracemail_tui.screens.detail import DetailScreen

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"


def test_open_paths_rejects_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no such file"):
        launch.open_paths([tmp_path / "nope.log"])


@pytest.mark.anyio
async def test_details_on_real_logs_show_raw_lines_and_locate(tmp_path: Path) -> None:
    session = launch.open_paths([REAL])
    src = session.source
    rec = src.scan("received").collect()
    row = rec.filter(pl.col("subject") == "Undelivered Mail Returned to Sender").row(0, named=True)
    app = TracemailApp(src, now=frozen_now, export_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert pane(app, "received").result.total == rec.height  # type: ignore[union-attr]
        app.open_detail("received", row["id"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        body = plain(screen.query_one("#detail-content", Static))
        assert f"{row['queue_id']}: removed" in body  # the qmgr line behind the row
        await pilot.press("l")
        await settle(pilot)
        assert screen.located is not None and screen.located["state"] == "deleted"
        assert "Where it is now" in plain(screen.query_one("#detail-content", Static))


def test_demo_grows_live() -> None:
    session = launch.open_demo()
    try:
        src = session.source
        before = src.generation
        deadline = time.monotonic() + 20
        while src.generation == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert src.generation > before
        total = sum(src.scan(v).collect().height for v in ("accesses", "received", "sent"))
        assert total > 0
    finally:
        session.close()
