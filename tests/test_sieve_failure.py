"""Lab R33 (real Postfix, Dovecot, Rspamd lines): nina's Sieve rule files invoices into a
folder she deleted; Dovecot creates no folders on delivery for her, so the fileinto fails
and Pigeonhole keeps the message in INBOX. The mail log says only "Execution of script …
failed, but implicit keep was successful"; the failed action is in her own Sieve log."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pypdf
from typer.testing import CliRunner

from tracemail_tui.cli.common import app
from tracemail_tui.export.explain import explain
from tracemail_tui.export.redact import PATH_REMOVED, Redactor
from tracemail_tui.export.sieve_text import SIEVE_FAILED_TEXT
from tracemail_tui.store import engine, schema
from tracemail_tui.store.parse import dovecot, dovecot_mail
from tracemail_tui.store.parse.header import split_lines

R33 = Path(__file__).parent / "fixtures" / "lab-r33"
NOTE = ("sieve: Execution of script /var/vmail/example.org/nina/.dovecot.sieve failed, but "
        "implicit keep was successful (user logfile /var/vmail/example.org/nina/"
        ".dovecot.sieve.log may reveal additional details)")


def lmtp(*texts: str) -> pl.DataFrame:
    """LMTP lines of one delivery session through the header split and Dovecot's split."""
    raw = [f"Nov 28 01:16:23 mx01 dovecot: lmtp(nina@example.org)<9><s1>: {t}" for t in texts]
    return dovecot.split(split_lines(pl.Series("raw", raw, pl.String), year=2026))


def test_the_row_is_in_inbox_and_says_the_script_failed() -> None:
    result = engine.run([R33])
    assert sum(result.stats.unparsed.values()) == 0, result.stats.unparsed
    (row,) = result.views["received"].to_dicts()
    assert (row["recipient"], row["status"], row["delivery"], row["folder"]) == (
        "nina@example.org", "accepted", "delivered", "INBOX")
    assert row["filter_rule"] == schema.SIEVE_FAILED
    said = explain("received", row)
    assert SIEVE_FAILED_TEXT.format(in_folder=" in “INBOX”") in said
    assert said[-1].startswith("What to do: have the user check the filter rules")


def test_a_delivery_without_the_note_has_no_such_rule() -> None:
    (row,) = dovecot_mail.deliveries(lmtp(
        "sieve: msgid=<a@b>: stored mail into mailbox 'INBOX'")).to_dicts()
    assert row["filter_rule"] is None
    (row,) = dovecot_mail.deliveries(lmtp(
        "sieve: msgid=<a@b>: stored mail into mailbox 'INBOX'", NOTE)).to_dicts()
    assert (row["folder"], row["filter_rule"], row["message_id"]) == (
        "INBOX", schema.SIEVE_FAILED, "<a@b>")


def test_a_message_id_cannot_fake_the_note() -> None:
    """The note names no Message-ID and is matched at both ends of the line."""
    fake = "<x: Execution of script s failed, but implicit keep was successful>"
    (row,) = dovecot_mail.deliveries(lmtp(
        f"sieve: msgid={fake}: stored mail into mailbox 'INBOX'")).to_dicts()
    assert (row["folder"], row["filter_rule"], row["message_id"]) == ("INBOX", None, fake)
    tail = dovecot_mail.delivery_lines(lmtp(
        "sieve: msgid=<m>: Execution of script s failed, but implicit keep was successful"))
    assert tail["action"].to_list() == [None]  # no known form: counted as unparsed


def test_the_note_is_no_mailbox_event() -> None:
    events = dovecot_mail.mailbox(lmtp(
        "sieve: msgid=<a@b>: stored mail into mailbox 'INBOX'", NOTE))
    assert events.select("event", "folder", "message_id").rows() == [
        ("deliver", "INBOX", "<a@b>")]


def test_redaction_removes_the_mailbox_path_that_names_the_user(tmp_path: Path) -> None:
    text = Redactor(b"k").text(NOTE)
    assert "nina" not in text and "/var/vmail" not in text
    assert text.count(PATH_REMOVED) == 2
    (row,) = engine.run([R33]).views["received"].to_dicts()
    out = tmp_path / "r33.pdf"
    res = CliRunner().invoke(app, ["report", "received", row["id"], str(R33), "--redact",
                                   "-o", str(out)],
                             env={"TRACEMAIL_CONFIG": "/nonexistent.toml",
                                  "TRACEMAIL_REDACT_KEY": "test-key"})
    assert res.exit_code == 0, res.output
    pdf = "".join(page.extract_text() for page in pypdf.PdfReader(out).pages)
    assert "Execution of script" in pdf and PATH_REMOVED in pdf
    assert "nina" not in pdf.lower() and "vmail" not in pdf


def test_paths_that_are_not_files_stay() -> None:
    keep = ["relay=mx01.example.com[private/dovecot-lmtp], delays=0.11/0.01/0/0.01",
            "disconnect from unknown[192.0.2.9] ehlo=1 auth=0/1 commands=4/6",
            "MIME_GOOD(-0.10){text/plain;}", "see https://www.spamhaus.org/query/ip for details"]
    r = Redactor(b"k")
    assert [r.text(t).replace("192.0.2.0/24", "192.0.2.9") for t in keep] == keep
