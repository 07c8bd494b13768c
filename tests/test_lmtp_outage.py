"""Lab R30 (real Postfix, Dovecot, Rspamd lines): Dovecot's LMTP was down, so Postfix
deferred the delivery; the queue run after the outage delivered it. dave's vacation rule
did not reply (it had answered this sender before)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.export.explain import explain
from tracemail_tui.store import engine
from tracemail_tui.store.parse import dovecot, dovecot_mail
from tracemail_tui.store.parse.header import split_lines

R30 = Path(__file__).parent / "fixtures" / "lab-r30"
DEFERRAL = "status=deferred (connect to mx01.example.com[private/dovecot-lmtp]"


def delivery(text: str) -> dict:  # type: ignore[type-arg]
    """One LMTP delivery line through the header split and Dovecot's line split."""
    line = f"Nov 27 05:00:00 mx01 dovecot: lmtp(d@x.test)<1><s1>: {text}"  # syslog: no Info:
    frame = split_lines(pl.Series("raw", [line], pl.String), year=2026)
    return dovecot_mail.delivery_lines(dovecot.split(frame)).row(0, named=True)


def rows(paths: list[Path]) -> list[dict]:  # type: ignore[type-arg]
    return engine.run(paths).views["received"].to_dicts()


def test_after_the_outage_the_row_is_delivered_and_says_no_auto_reply_was_sent() -> None:
    result = engine.run([R30])
    assert sum(result.stats.unparsed.values()) == 0, result.stats.unparsed
    (row,) = result.views["received"].to_dicts()
    assert (row["recipient"], row["status"], row["delivery"], row["folder"], row["dsn"]) == (
        "dave@example.org", "accepted", "delivered", "INBOX", "2.0.0")
    assert row["reason"] is None and row["auto_reply"] is False
    assert row["filter_rule"] == "vacation (not sent: duplicate)"
    said = " ".join(explain("received", row))
    assert "The automatic reply (vacation rule) was not sent: Dovecot had already answered " \
           "this sender" in said
    assert "returned to the sender" not in said  # delivered: nothing waits


def test_during_the_outage_the_row_is_deferred_with_postfix_reason(tmp_path: Path) -> None:
    """The lines up to the deferral, as a live tail saw them during the outage."""
    lines = (R30 / "mail.log").read_text("utf-8").splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if DEFERRAL in line) + 1
    (tmp_path / "mail.log").write_text("".join(lines[:cut]), "utf-8")
    (row,) = rows([tmp_path / "mail.log"])
    assert (row["status"], row["delivery"], row["dsn"], row["folder"]) == (
        "accepted", "deferred", "4.4.1", None)
    assert row["reason"] == ("connect to mx01.example.com[private/dovecot-lmtp]: "
                             "No such file or directory")
    said = explain("received", row)
    assert any("returned to the sender at about 2026-12-02 23:15" in p for p in said), said


@pytest.mark.parametrize(("text", "reason"), [
    ("discarded duplicate vacation response to <a@b.test>", "duplicate"),
    ("discarded vacation reply to <>", "null sender"),
    ("discarded vacation reply to own address <d@x.test>", "own address"),
    ("discarded vacation reply to own address <d@x.test> (as specified using :addresses "
     "argument)", "own address"),
    ("discarding vacation response to mailinglist recipient <l@b.test>", "mailing list"),
    ("discarding vacation response to auto-submitted message from <a@b.test>",
     "auto-submitted"),
    ("discarding vacation response to precedence=bulk message from <a@b.test>", "precedence"),
    ("discarding vacation response to message from <a@b.test> ('OOF' flag found in "
     "x-auto-response-suppress header)", "auto-response-suppress"),
    ("not sending vacation response to system address <mailer-daemon@b.test>",
     "system address"),
    ("discarding vacation response for implicitly delivered message; no known (envelope) "
     "recipient address found in message headers (recipient=<d@x.test>, and no additional "
     "':addresses' are specified)", "not addressed to the recipient"),
    ("not sending vacation reply (skipped)", "skipped"),
])
def test_every_pigeonhole_reason_not_to_reply_is_understood(text: str, reason: str) -> None:
    """Pigeonhole's act_vacation_commit: each way the vacation action sends no reply."""
    got = delivery(f"sieve: msgid=<m@x>: vacation action: {text}")
    assert (got["action"], got["arg"], got["message_id"]) == ("vacation_skip", reason, "<m@x>")


def test_a_hostile_message_id_does_not_fake_a_vacation_skip() -> None:
    text = ("sieve: msgid=<x: vacation action: discarded duplicate vacation response to <a@b>>: "
            "stored mail into mailbox 'INBOX'")
    got = delivery(text)
    assert (got["action"], got["arg"]) == ("store", "INBOX")


def test_every_reason_not_to_reply_has_a_sentence() -> None:
    from tracemail_tui.export.sieve_text import VACATION_SKIP_TEXT, sieve_not_sent

    assert {label for _, label in dovecot_mail.VACATION_SKIPS} == set(VACATION_SKIP_TEXT)
    assert sieve_not_sent({"filter_rule": "vacation"}) is None  # a reply was sent
    assert sieve_not_sent({"filter_rule": 'fileinto "Work", vacation (not sent: '
                                             'mailing list)'}) == (
        "The automatic reply (vacation rule) was not sent: the message came from a mailing "
        "list.")


def test_a_forward_not_sent_again_is_told() -> None:
    from tracemail_tui.export.sieve_text import sieve_not_sent

    row = {"filter_rule": 'redirect "cy@elsewhere.test" (not sent: duplicate)',
           "delivery": "discarded", "status": "accepted"}
    said = sieve_not_sent(row)
    assert said == ("The forward to cy@elsewhere.test was not sent: Dovecot had already "
                    "forwarded this message (same Message-ID) to that address, so it did not "
                    "send it again.")
    assert said in explain("received", row)


def test_the_mailbox_history_names_the_reply_not_sent() -> None:
    events = engine.run([R30]).views["mailbox"]
    assert "vacation-not-sent" in events.get_column("event").to_list()
    assert not any("_skip" in e for e in events.get_column("event").drop_nulls().to_list())
