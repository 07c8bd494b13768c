"""The CLI → source wiring on real logs: the Parquet store fed live by the ingest thread."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from export_data import pdf_text
from textual.pilot import Pilot
from textual.widgets import Static

from tests.tui.data import frozen_now
from tests.tui.helpers import pane, plain, settle
from tracemail_tui import launch
from tracemail_tui.app import TracemailApp
from tracemail_tui.screens.detail import DetailScreen
from tracemail_tui.store.partitions import ParquetStore

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
BOUNCE = "Undelivered Mail Returned to Sender"

# A new inbound message as Postfix logs it (the lines of the fixture's first message, with
# a new queue id, Message-ID and subject), a few minutes after the fixture's last line.
NEW_QID = "C0FFEE16257F"
NEW_MESSAGE = f"""\
Nov 27 05:45:01 mx01 postfix/smtpd[10234]: connect from unknown[127.0.0.10]
Nov 27 05:45:01 mx01 postfix/smtpd[10234]: {NEW_QID}: client=unknown[127.0.0.10]
Nov 27 05:45:01 mx01 postfix/cleanup[10239]: {NEW_QID}: info: header Subject: Arrived while \
watching from unknown[127.0.0.10]; from=<petra@partner.test> to=<alice@example.com> \
proto=ESMTP helo=<mail.partner.test>
Nov 27 05:45:01 mx01 postfix/cleanup[10239]: {NEW_QID}: message-id=<live.1@partner.test>
Nov 27 05:45:01 mx01 postfix/smtpd[10234]: disconnect from unknown[127.0.0.10] ehlo=2 \
starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7
Nov 27 05:45:01 mx01 postfix/qmgr[9978]: {NEW_QID}: from=<petra@partner.test>, size=650, \
nrcpt=1 (queue active)
Nov 27 05:45:02 mx01 postfix/lmtp[10240]: {NEW_QID}: to=<alice@example.com>, \
relay=mx01.example.com[private/dovecot-lmtp], delay=0.19, delays=0.15/0.01/0.02/0.02, \
dsn=2.0.0, status=sent (250 2.0.0 <alice@example.com> x3apMqwXCWs5JwAAg+zDdQ Saved)
Nov 27 05:45:02 mx01 postfix/qmgr[9978]: {NEW_QID}: removed
"""


@pytest.fixture
def private_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Config and store in tmp: never the user's data dir."""
    monkeypatch.setenv("TRACEMAIL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("TRACEMAIL_STORE", str(tmp_path / "store"))
    return tmp_path / "store"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REAL, tmp_path / "logs"))


@pytest.fixture
def real_session(private_store: Path, logs: Path) -> Iterator[launch.Session]:
    session = launch.open_paths([logs])
    try:
        yield session
    finally:
        session.close()


async def until(pilot: Pilot, cond: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until `cond()` holds (the ingest thread works meanwhile)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.1)
    await settle(pilot)


def total(app: TracemailApp, view: str) -> int:
    result = pane(app, view).result
    return result.total if result is not None else 0


def test_open_paths_rejects_a_missing_path(private_store: Path, tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no such file"):
        launch.open_paths([tmp_path / "nope.log"])


@pytest.mark.anyio
async def test_appended_lines_show_up_as_a_new_row(
    real_session: launch.Session, logs: Path, private_store: Path
) -> None:
    src = real_session.source
    assert isinstance(src, ParquetStore) and src.root == private_store
    app = TracemailApp(src, now=frozen_now, status=real_session.status)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0 and not real_session.status())
        before = total(app, "received")
        assert before == src.scan("received").collect().height
        with open(logs / "mail.log", "a") as fh:  # what Postfix does: append lines
            fh.write(NEW_MESSAGE)
        await until(pilot, lambda: total(app, "received") == before + 1)
        new = src.scan("received").filter(pl.col("queue_id") == NEW_QID).collect()
        assert new.height == 1 and new["subject"][0] == "Arrived while watching"
        assert new["id"][0] in pane(app, "received").result.ids.to_list()  # type: ignore[union-attr]
    assert real_session.error is None


@pytest.mark.anyio
async def test_backfill_progress_is_shown_while_reading(
    real_session: launch.Session,
) -> None:
    app = TracemailApp(real_session.source, now=frozen_now, status=lambda: "reading logs… 45%")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.pause(0.6)  # the status poll
        live = plain(pane(app, "received").query_one("#live", Static))
        assert "reading logs… 45%" in live


def test_a_store_in_use_is_opened_read_only(private_store: Path, logs: Path) -> None:
    writer = ParquetStore(private_store)  # as `tracemail ingest --follow` holds it
    try:
        session = launch.open_paths([logs])
        try:
            assert isinstance(session.source, ParquetStore) and session.source.readonly
            assert "read-only" in session.status()
        finally:
            session.close()
    finally:
        writer.close()


@pytest.mark.anyio
async def test_details_from_the_store_show_raw_lines_and_locate(
    real_session: launch.Session, tmp_path: Path
) -> None:
    src = real_session.source
    app = TracemailApp(src, now=frozen_now, export_dir=tmp_path, status=real_session.status)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0 and not real_session.status())
        rec = src.scan("received").collect()
        row = rec.filter(pl.col("subject") == BOUNCE).row(0, named=True)
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


@pytest.mark.anyio
async def test_details_of_a_sieve_forward_tell_how_the_copy_fared(
    real_session: launch.Session, tmp_path: Path
) -> None:
    """R04: carol's row says "forwarded"; the detail screen and its PDF also say that the
    copy Dovecot sent on (another queue id, in Sent) was delivered."""
    src = real_session.source
    app = TracemailApp(src, now=frozen_now, export_dir=tmp_path, status=real_session.status)
    said = "The forwarded copy to carol.private@partner.test was delivered"
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0 and not real_session.status())
        rec = src.scan("received").collect()
        row = rec.filter(pl.col("recipient") == "carol@example.org").row(0, named=True)
        app.open_detail("received", row["id"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        assert said in " ".join(plain(screen.query_one("#detail-content", Static)).split())
        await pilot.press("p")
        await until(pilot, lambda: any("PDF written" in str(n.message)
                                       for n in app._notifications))
        pdf = next(tmp_path.glob("*.pdf"))
        assert said in " ".join(pdf_text(pdf.read_bytes()).split())
        # `r` opens the copy (a sent row), whose details lead back to carol's row.
        await pilot.press("r")
        await settle(pilot)
        copy = app.screen
        assert isinstance(copy, DetailScreen) and copy is not screen and copy.view == "sent"
        assert copy.row is not None and copy.row["recipient"] == "carol.private@partner.test"
        body = " ".join(plain(copy.query_one("#detail-content", Static)).split())
        assert ("This is the copy that the forwarding rule of carol@example.org sent on: the "
                f"original arrived at {row['time'].isoformat()} (result {row['id']})") in body
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.row_id == row["id"]


@pytest.mark.anyio
async def test_details_of_a_bounce_lead_to_the_notice_in_the_senders_inbox(
    real_session: launch.Session, tmp_path: Path
) -> None:
    """S02: the remote refused alice's mail; her details say the bounce notice reached her
    INBOX, and `r` opens that notice, whose details say which message bounced."""
    src = real_session.source
    app = TracemailApp(src, now=frozen_now, export_dir=tmp_path, status=real_session.status)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0 and not real_session.status())
        row = src.scan("sent").filter(pl.col("queue_id") == "2C1B3162575").collect().row(
            0, named=True)
        app.open_detail("sent", row["id"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        body = " ".join(plain(screen.query_one("#detail-content", Static)).split())
        assert ("Our server sent alice@example.com a bounce notice about it at "
                "2026-11-27T05:40:17 (queue id 3D953162577): delivered to INBOX") in body
        await pilot.press("r")
        await settle(pilot)
        notice = app.screen
        assert isinstance(notice, DetailScreen) and notice.view == "received"
        assert notice.row is not None and notice.row["queue_id"] == "3D953162577"
        body = " ".join(plain(notice.query_one("#detail-content", Static)).split())
        assert ("This is a bounce notice from our mail server: it tells alice@example.com "
                "that the message to reject.me@example.net (queue id 2C1B3162575") in body


@pytest.mark.anyio
async def test_details_list_the_other_rows_of_the_same_message(
    real_session: launch.Session, tmp_path: Path
) -> None:
    """R14: one transaction to bob, ghost (unknown) and sales@ (henry and gina): bob's
    details list the three other recipients' rows; S08's received row lists its sent
    side (alice → bob, mail between our users)."""
    src = real_session.source
    app = TracemailApp(src, now=frozen_now, export_dir=tmp_path, status=real_session.status)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0 and not real_session.status())
        rec = src.scan("received").collect()
        bob = rec.filter((pl.col("recipient") == "bob@example.com")
                         & (pl.col("queue_id") == "AA119162551")).row(0, named=True)
        app.open_detail("received", bob["id"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        assert sorted(r["recipient"] for _, r in screen.same) == [
            "ghost@example.org", "gina@example.com", "henry@example.org"]
        body = " ".join(plain(screen.query_one("#detail-content", Static)).split())
        assert "Same message: 3 other rows" in body
        assert "rejected ghost@example.org" in body.replace("✗ ", "")
        await pilot.press("escape")
        s08 = rec.filter((pl.col("recipient") == "bob@example.com")
                         & pl.col("sender").eq("alice@example.com")).row(0, named=True)
        app.open_detail("received", s08["id"])
        await settle(pilot)
        assert [(v, r["recipient"]) for v, r in app.screen.same] == [  # type: ignore[attr-defined]
            ("sent", "bob@example.com")]


@pytest.mark.anyio
async def test_details_of_a_failed_login_lead_to_the_users_next_login(
    real_session: launch.Session, tmp_path: Path
) -> None:
    """S07: alice's SMTP AUTH failed from the attacker's address; her details say that
    address failed for 3 accounts, and `r` opens alice's successful login a second later."""
    src = real_session.source
    app = TracemailApp(src, now=frozen_now, export_dir=tmp_path, status=real_session.status)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0 and not real_session.status())
        acc = src.scan("accesses").collect().sort("time")
        row = acc.filter(pl.col("error") == "auth-failed").row(0, named=True)
        app.open_detail("accesses", row["id"])
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        body = " ".join(plain(screen.query_one("#detail-content", Static)).split())
        assert "From 127.0.0.31, 5 failed logins for 3 accounts" in body
        await pilot.press("r")
        await settle(pilot)
        nxt = app.screen
        assert isinstance(nxt, DetailScreen) and nxt is not screen and nxt.row is not None
        assert (nxt.row["user"], nxt.row["status"], nxt.row["remote_ip"]) == (
            "alice@example.com", "success", "127.0.0.30")


@pytest.mark.anyio
async def test_demo_fills_all_three_views_and_grows_live() -> None:
    session = launch.open_demo()
    scratch = session.source.root.parent  # type: ignore[attr-defined]
    try:
        app = TracemailApp(session.source, status=session.status)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: total(app, "received") > 0)
            seen = {}
            for key, view in (("1", "accesses"), ("3", "sent"), ("2", "received")):
                await pilot.press(key)
                await until(pilot, lambda v=view: total(app, v) > 0)  # type: ignore[misc]
                seen[view] = total(app, view)
            # The generator appends ~10 lines/s: some view gets a new row within seconds.
            stored = {v: session.source.scan(v).collect().height for v in seen}
            await until(
                pilot,
                lambda: any(session.source.scan(v).collect().height > n for v, n in stored.items()),
            )
            grown = next(
                v for v, n in stored.items() if session.source.scan(v).collect().height > n
            )
            await pilot.press({"accesses": "1", "received": "2", "sent": "3"}[grown])
            await until(pilot, lambda: total(app, grown) > seen[grown])
        assert session.error is None
    finally:
        session.close()
    assert not scratch.exists()  # logs and store removed at exit


@pytest.mark.anyio
async def test_views_move_to_the_newest_day_once_read(real_session: launch.Session) -> None:
    # The logs end on Nov 27; "today" is the 30th: the day picked before the backfill
    # (today: nothing read yet) is empty, so the views move to the logs' day.
    def later() -> dt.datetime:
        return dt.datetime(2026, 11, 30, 12, 0)

    app = TracemailApp(real_session.source, now=later, status=real_session.status)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0)
        assert pane(app, "received").filters.date == dt.date(2026, 11, 27)


@pytest.mark.anyio
async def test_an_ingest_warning_reaches_the_status_line(
    real_session: launch.Session, logs: Path
) -> None:
    """A log file truncated under the tailer is read again and *said*, not only logged."""
    app = TracemailApp(real_session.source, now=frozen_now, status=real_session.status)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: total(app, "received") > 0 and not real_session.status())
        log = logs / "mail.log"
        log.write_text(log.read_text()[:200].rsplit("\n", 1)[0] + "\n")  # truncated
        await until(pilot, lambda: "truncated" in real_session.status())
        await pilot.pause(0.6)  # the status poll
        live = plain(pane(app, "received").query_one("#live", Static))
        assert live.startswith("● follow  ⚠ logs/mail.log was truncated")  # state first
    assert real_session.error is None


def test_session_status_shows_warnings_escaped_cut_and_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = launch.Session(ParquetStore.__new__(ParquetStore), note="note")
    now = [1000.0]
    monkeypatch.setattr(launch.time, "monotonic", lambda: now[0])
    assert session.status() == "note"
    session.warn("cannot read /var/log/mx1/\x1b[31mm[b].log: Permission denied")
    assert session.status() == "⚠ cannot read mx1/\\x1b[31mm[b].log: Permission denied"
    session.warn("cannot read /" + "x" * 200 + "/mail.log: Permission denied")
    status = session.status()
    assert status.startswith("⚠ cannot read /xxx") and "…" in status
    assert status.endswith("x/mail.log: Permission denied (+1 more)")
    assert len(status) <= 2 + launch.STATUS_CHARS + len(" (+1 more)") < 70
    now[0] += launch.WARNING_SHOWN_S + 1
    assert session.status() == "note"
    session.error = "boom [red]"
    assert session.status() == "ingest stopped: boom [red]"


@pytest.mark.anyio
async def test_status_text_is_shown_literally_never_as_markup() -> None:
    from tests.tui.data import store

    hostile = "ingest stopped: [bold red]x[/bold red] [link=http://evil.test]y[/link] [/]"
    app = TracemailApp(store(), now=frozen_now, status=lambda: hostile)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(pilot)
        await pilot.pause(0.6)  # the status poll
        live = plain(pane(app, "received").query_one("#live", Static))
        assert hostile in live
