"""Lab S11 (real Postfix, Dovecot, Rspamd lines): mail the remote kept deferring until the
queue lifetime ran out. qmgr's ``status=expired, returned to sender`` names no recipient;
the still-deferred recipients are then no longer queued, and the sender got a notice."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tracemail_tui.export.explain import explain
from tracemail_tui.export.waiting import QUEUE_EXPIRED_TEXT, queue_expired
from tracemail_tui.store import engine, schema
from tracemail_tui.store.parse.header import split_lines

S11 = Path(__file__).parent / "fixtures" / "lab-s11"
R30 = Path(__file__).parent / "fixtures" / "lab-r30"
QID, NOTICE = "1222216875B", "6FCEE16875C"
EXPIRED = "status=expired, returned to sender"
LAST_ERROR = ("host 127.0.0.2[127.0.0.2] said: 451 4.3.0 <defer.expire@remote.test>: Temporary "
              "lookup failure, try again later (lab sink) (in reply to RCPT TO command)")


def mail_lines(fixture: Path = S11) -> list[str]:
    return (fixture / "mail.log").read_text("utf-8").splitlines()


def frame(lines: list[str]) -> pl.DataFrame:
    return split_lines(pl.Series("raw", lines, pl.String), host="mx01", year=2026)


def sent_rows(lines: list[str]) -> list[dict]:  # type: ignore[type-arg]
    return engine.Engine().feed(frame(lines)).rows["sent"].to_dicts()


def test_expired_recipient_is_rejected_with_the_last_error_and_names_the_notice() -> None:
    result = engine.run([S11])
    assert sum(result.stats.unparsed.values()) == 0, result.stats.unparsed
    (row,) = result.views["sent"].to_dicts()
    assert (row["recipient"], row["status"], row["dsn"], row["queue_id"], row["account"]) == (
        "defer.expire@remote.test", "rejected", "4.3.0", QID, "henry@example.org")
    assert row["reason"] == f"{schema.QUEUE_EXPIRED}; last attempt: {LAST_ERROR}"
    assert row["bounce_notice"] == NOTICE
    (notice,) = result.views["received"].to_dicts()
    assert (notice["recipient"], notice["bounce_of"], notice["folder"]) == (
        "henry@example.org", QID, "INBOX")


def test_the_explanation_says_it_gave_up_and_does_not_promise_retries() -> None:
    (row,) = engine.run([S11]).views["sent"].to_dicts()
    said = explain("sent", row)
    assert said[0] == QUEUE_EXPIRED_TEXT["sent"]
    assert ("The last delivery attempt ended with status code 4.3.0 (a temporary problem on "
            "the receiving system).") in said
    assert said[-1].startswith("What to do: the receiving server refused it temporarily")
    text = " ".join(said)
    for wrong in ("returned to the sender at about", "keeps retrying", "fix the address"):
        assert wrong not in text, wrong


def test_before_the_expiry_it_is_queued_and_says_when_postfix_gives_up() -> None:
    """What a live tail showed before the lifetime ran out: the first attempt, then the
    second (the expiry is logged right after it)."""
    lines = mail_lines()
    for cut in (i for i, line in enumerate(lines) if "status=deferred" in line):
        (row,) = sent_rows(lines[:cut + 1])
        assert (row["status"], row["dsn"], row["reason"], row["bounce_notice"]) == (
            "queued", "4.3.0", LAST_ERROR, None)
        assert any("returned to the sender at about 2026-12-03 01:05" in p
                   for p in explain("sent", row))


def test_the_expiry_in_a_later_chunk_turns_the_live_row() -> None:
    lines = mail_lines()
    cut = next(i for i, line in enumerate(lines) if EXPIRED in line)
    eng = engine.Engine()
    first = eng.feed(frame(lines[:cut])).rows["sent"].to_dicts()
    later = eng.feed(frame(lines[cut:])).rows["sent"].to_dicts()
    assert [r["status"] for r in first] == ["queued"]
    assert [(r["id"], r["status"], r["bounce_notice"]) for r in later] == [
        (first[0]["id"], "rejected", NOTICE)]


def test_a_recipient_delivered_before_the_expiry_stays_delivered() -> None:
    lines = mail_lines()
    at = next(i for i, line in enumerate(lines) if EXPIRED in line)
    ok = (f"Nov 28 01:05:50 mx01 postfix/smtp[19523]: {QID}: to=<ok@partner.test>, "
          "relay=127.0.0.2[127.0.0.2]:2525, delay=0.07, delays=0.06/0/0/0, dsn=2.0.0, "
          "status=sent (250 2.0.0 Ok)")
    rows = {r["recipient"]: r for r in sent_rows([*lines[:at], ok, *lines[at:]])}
    assert rows["ok@partner.test"]["status"] == "delivered"
    assert rows["ok@partner.test"]["bounce_notice"] is None
    assert rows["defer.expire@remote.test"]["status"] == "rejected"
    assert not queue_expired(rows["ok@partner.test"])


def test_received_mail_that_expired_is_bounced_not_deferred() -> None:
    """R30's message had Dovecot's LMTP stayed down: qmgr's expiry (same form as S11's)
    after the deferral. The mailbox texts ("mailbox full") would mislead."""
    lines = mail_lines(R30)
    cut = next(i for i, line in enumerate(lines) if "status=deferred" in line) + 1
    qid = lines[cut - 1].split(": ")[1]
    gone = f"Nov 27 23:20:00 mx01 postfix/qmgr[9]: {qid}: from=<petra@partner.test>, {EXPIRED}"
    (row,) = engine.Engine().feed(frame([*lines[:cut], gone])).rows["received"].to_dicts()
    assert (row["status"], row["delivery"], row["dsn"]) == ("accepted", "bounced", "4.4.1")
    assert row["reason"].startswith(schema.QUEUE_EXPIRED + "; last attempt: connect to ")
    said = explain("received", row)
    assert QUEUE_EXPIRED_TEXT["received"] in said
    assert not any("mailbox full" in p or "returned to the sender at about" in p for p in said)
