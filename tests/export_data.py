"""Hand-made view rows and evidence for the export tests, taken from the real-log scenarios
(`tests/fixtures/real/README.md`): the values are what the engine must produce for them."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import polars as pl
from pypdf import PdfReader

from tracemail_tui.store import schema

REAL = Path(__file__).parent / "fixtures" / "real"
D = dt.datetime


def pdf_text(data: bytes) -> str:
    """The text of a PDF, read back with pypdf (pages joined by a line break)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)

# R12's subject as sent (ESC and BEL bytes, Rich markup, HTML) — from ground_truth.json.
HOSTILE_SUBJECT = "[bold red]URGENT[/] \x1b[31mred alert\x1b[0m \x1b]0;pwned\x07 <script>x</script>"
CHINESE_SUBJECT = "季度报告：请查收附件 ✔"
EMOJI_SUBJECT = "Party 😀 tonight 📧"
BIDI_SUBJECT = "invoice \u202egnp.exe"


def r12() -> dict[str, Any]:
    """R12: hostile subject to ALICE@EXAMPLE.COM, accepted into INBOX (later moved to Trash)."""
    return {
        "id": "r-mx01-20261127054009-605D5162539-1", "time": D(2026, 11, 27, 5, 40, 9),
        "status": "accepted", "reason": None, "sender": "petra@partner.test",
        "recipient": "alice@example.com", "domain": "example.com", "subject": HOSTILE_SUBJECT,
        "size": 571, "message_id": "r12.6acd47.228290@partner.test", "queue_id": "605D5162539",
        "server": "mx01", "client_host": "unknown", "client_ip": "127.0.0.10",
        "delivery": "delivered", "folder": "INBOX", "forwarded_to": None, "auto_reply": False,
        "filter_rule": None, "spam_action": "no action", "spam_score": 0.9, "virus": None,
        "dsn": "2.0.0", "subject_source": "dovecot", "orig_recipient": None,
        "helo": "mail.partner.test",
    }


def r12_locate() -> dict[str, Any]:
    """Where R12 is after A01 moved it (copy to Trash, expunge from INBOX)."""
    return {
        "message_id": "r12.6acd47.228290@partner.test", "account": "alice@example.com",
        "state": "in-folder", "folder": "Trash",
        "history": [
            {"time": D(2026, 11, 27, 5, 40, 9), "event": "save", "folder": "INBOX"},
            {"time": D(2026, 11, 27, 5, 40, 32), "event": "copy", "folder": "Trash"},
            {"time": D(2026, 11, 27, 5, 40, 32), "event": "expunge", "folder": "INBOX"},
        ],
    }


def r06() -> dict[str, Any]:
    """R06: nobody@example.com rejected at RCPT (NOQUEUE) — mostly nulls."""
    return {
        "id": "r-mx01-20261127053958-NOQUEUE-10034-1", "time": D(2026, 11, 27, 5, 39, 58),
        "status": "rejected",
        "reason": "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in "
        "virtual mailbox table",
        "sender": "someone@remote.test", "recipient": "nobody@example.com",
        "domain": "example.com", "subject": None, "size": None, "message_id": None,
        "queue_id": None, "server": "mx01", "client_host": "unknown", "client_ip": "127.0.0.11",
        "delivery": None, "folder": None, "forwarded_to": None, "auto_reply": None,
        "filter_rule": None, "spam_action": None, "spam_score": None, "virus": None,
        "dsn": "5.1.1", "helo": "smtp.remote.test",
    }


def r08() -> dict[str, Any]:
    """R08: spam filed into Junk (quarantined), with a negative-looking score variant."""
    row = r12() | {
        "id": "r-mx01-20261127054004-BEB6C16249E-1", "time": D(2026, 11, 27, 5, 40, 4, 150000),
        "status": "quarantined", "sender": "deals@remote.test", "recipient": "bob@example.com",
        "subject": "=cmd|' /C calc'!A0", "message_id": "r08.6acd47.1df793@remote.test",
        "queue_id": "BEB6C16249E", "client_ip": "127.0.0.11", "folder": "Junk",
        "spam_action": "add header", "spam_score": -0.5, "helo": "smtp.remote.test",
        "subject_source": "postfix",
    }
    return row


def received_rows() -> list[dict[str, Any]]:
    """Five received rows covering nulls, unicode, formulas and a negative score."""
    chinese = r12() | {"id": "r-mx01-20261127-AAA1-1", "subject": CHINESE_SUBJECT,
                       "forwarded_to": "carol.private@partner.test, x@partner.test",
                       "auto_reply": True}
    emoji = r12() | {"id": "r-mx01-20261127-AAA2-1", "subject": EMOJI_SUBJECT,
                     "reason": 'say "hi"\nsecond line, with comma', "spam_score": -12.25}
    return [r12(), r06(), r08(), chinese, emoji]


def received_frame() -> pl.DataFrame:
    return schema.conform("received", pl.DataFrame(received_rows(), infer_schema_length=None))


def s02() -> dict[str, Any]:
    """S02: alice's mail bounced by the remote with 550 5.1.1."""
    return {
        "id": "s-mx01-20261127-2C1B3162575-1", "time": D(2026, 11, 27, 5, 40, 17),
        "status": "rejected",
        "reason": "host 127.0.0.2[127.0.0.2] said: 550 5.1.1 <reject.me@example.net>: "
        "Recipient address rejected: User unknown in lab sink (in reply to RCPT TO command)",
        "sender": "alice@example.com", "recipient": "reject.me@example.net",
        "domain": "example.com", "account": "alice@example.com", "subject": "Meeting notes",
        "size": 513, "message_id": "s02.6acd47.d914ba@example.com", "queue_id": "2C1B3162575",
        "server": "mx01", "relay_host": "127.0.0.2", "relay_ip": "127.0.0.2", "relay_port": 2525,
        "dsn": "5.1.1", "delay": 0.07, "spam_action": "no action", "spam_score": -0.1,
        "virus": None, "blocked": False, "client_ip": "127.0.0.30",
    }


def a01() -> dict[str, Any]:
    """A01: alice over IMAP+STARTTLS with Outlook; moved R12, expunged the NDR."""
    return {
        "id": "a-mx01-K5Kkfzth461/AAAe", "time": D(2026, 11, 27, 5, 40, 32),
        "logout_time": D(2026, 11, 27, 5, 40, 32), "status": "success", "error": None,
        "user": "alice@example.com", "domain": "example.com", "protocol": "imap",
        "client": "Microsoft Outlook 16.0.17928.20114", "server": "mx01",
        "local_ip": "127.0.0.1", "remote_ip": "127.0.0.30", "session": "K5Kkfzth461/AAAe",
        "bytes_in": 642, "bytes_out": 1503, "deleted": 1, "expunged": 1, "trashed": 1,
        "tls": True, "method": "PLAIN",
    }


def a04() -> dict[str, Any]:
    """A04: wrong password for alice over IMAP."""
    return a01() | {
        "id": "a-mx01-w5rYfzthu7R/AAAf", "time": D(2026, 11, 27, 5, 40, 41),
        "logout_time": None, "status": "failed", "error": "auth-failed", "client": None,
        "remote_ip": "127.0.0.31", "session": "w5rYfzthu7R/AAAf", "bytes_in": None,
        "bytes_out": None, "deleted": None, "expunged": None, "trashed": None,
    }


_SYSLOG_TIME = re.compile(r"^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)")


def evidence(*needles: str) -> pl.DataFrame:
    """Real log lines (all fixture logs) containing any of `needles`, as a LINES frame."""
    rows = []
    for name, program in (("mail.log", "postfix"), ("dovecot.log", "dovecot"),
                          ("rspamd.log", "rspamd")):
        for line in (REAL / name).read_text("utf-8").splitlines():
            if not any(n in line for n in needles):
                continue
            match = _SYSLOG_TIME.match(line)
            time = (D.strptime("2026 " + match.group(1), "%Y %b %d %H:%M:%S") if match
                    else D.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
            prog = line.split()[4].split("[")[0] if name == "mail.log" else program
            rows.append({"time": time, "server": "mx01", "program": prog, "raw": line})
    return schema.conform("lines", pl.DataFrame(rows, schema=schema.LINES))


def r12_evidence() -> pl.DataFrame:
    """The real log lines behind R12 (Postfix, Dovecot LMTP + IMAP, Rspamd)."""
    return evidence("605D5162539", "r12.6acd47")
