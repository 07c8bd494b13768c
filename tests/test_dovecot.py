"""Dovecot parser on the real lab lines (log_path form) and their syslog-form twins."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store.parse import dovecot
from tracemail_tui.store.parse.header import split_lines

REAL = Path(__file__).parent / "fixtures" / "real" / "dovecot.log"
REAL_LINES = REAL.read_text(encoding="utf-8").splitlines()


def to_syslog(line: str, host: str = "imap1") -> str:
    """The same Dovecot line as rsyslog would write it into mail.log (no ``Info:``)."""
    stamp, rest = line[:15], line[16:]
    rest = rest.replace(": Info: ", ": ", 1)
    return f"{stamp} {host} dovecot: {rest}"


def parse(lines: list[str], host: str = "mx01") -> dovecot.DovecotEvents:
    return dovecot.parse(split_lines(pl.Series(lines), host=host, year=2026))


@pytest.fixture(scope="module", params=["log_path", "syslog"])
def ev(request: pytest.FixtureRequest) -> dovecot.DovecotEvents:
    if request.param == "log_path":
        return parse(REAL_LINES)
    return parse([to_syslog(x, "mx01") for x in REAL_LINES])


def test_every_real_line_understood(ev: dovecot.DovecotEvents) -> None:
    assert ev.unparsed == 0
    assert sum(ev.kinds.values()) == len(REAL_LINES)


def test_logins_and_tls(ev: dovecot.DovecotEvents) -> None:
    got = {r["user"]: r for r in ev.logins.iter_rows(named=True)}
    assert set(got) == {"alice@example.com", "gina@example.com", "bob@example.com",
                        "henry@example.org", "dave@example.org"}
    a01 = got["alice@example.com"]
    assert (a01["proto"], a01["rip"], a01["lip"], a01["method"], a01["tls"], a01["session"]) == (
        "imap", "127.0.0.30", "127.0.0.1", "PLAIN", True, "K5Kkfzth461/AAAe")
    a03 = got["bob@example.com"]
    assert (a03["tls"], a03["secured"]) == (False, True)
    assert got["dave@example.org"]["proto"] == "managesieve"
    assert got["gina@example.com"]["proto"] == "pop3"


def test_failures_and_reasons(ev: dovecot.DovecotEvents) -> None:
    f = {(r["session"], r["error"]): r["user"] for r in ev.failures.iter_rows(named=True)}
    assert f[("w5rYfzthu7R/AAAf", "auth-failed")] == "alice@example.com"
    assert f[("U5PQgDthd55/AAAe", "user-disabled")] == "frank@example.org"  # nologin
    assert f[("H7ThgDth6cN/AAAe", "user-disabled")] == "ivan@example.org"
    assert f[("Z7dXgTthc75/AAAf", "plaintext-disallowed")] is None
    assert f[("TjhpgTthid9/AAAs", "many-connections")] == "henry@example.org"
    assert ev.connections.height == 0
    auth = {r["session"]: r["error"] for r in ev.auth.iter_rows(named=True)}
    assert auth["w5rYfzthu7R/AAAf"] == "auth-failed"
    assert auth["jg02gDthU6l/AAAf"] == "unknown-user"
    assert auth["s136gDthDYR/AAAe"] == "ip-notallowed"
    # the deny-passdb hit names nobody: joined to the next "(user disabled)" line
    assert auth["H7ThgDth6cN/AAAe"] == "user-disabled"
    sasl = ev.auth.filter(pl.col("session").is_null())
    assert sasl.height == 2 and sasl["user"].to_list() == ["alice@example.com"] * 2


def test_ids(ev: dovecot.DovecotEvents) -> None:
    ids = dict(ev.ids.select("session", "client").iter_rows())
    assert ids["K5Kkfzth461/AAAe"] == "Microsoft Outlook 16.0.17928.20114"
    assert ids["fD3HfzthDcB/AAAB"] == "Thunderbird 128.5.0"
    assert ids["TjhpgTthid9/AAAs"] == "iPhone Mail 21E236"


def test_logout_counters(ev: dovecot.DovecotEvents) -> None:
    lo = {r["session"]: r for r in ev.logouts.iter_rows(named=True)}
    a01 = lo["K5Kkfzth461/AAAe"]
    assert (a01["bytes_in"], a01["bytes_out"], a01["deleted"], a01["expunged"], a01["trashed"]) == (
        642, 1503, 1, 1, 1)
    a02 = lo["xBi2fzthRbZ/AAAg"]  # top=2/1985, retr=1/1329, del=1/2, size=2016
    assert (a02["bytes_in"], a02["bytes_out"], a02["deleted"], a02["pop_top"], a02["pop_retr"]) == (
        None, 1985 + 1329, 1, 2, 1)
    a11 = lo["EEF6gTthNd9/AAAB"]
    assert (a11["proto"], a11["bytes_in"], a11["bytes_out"]) == ("managesieve", 19, 84)


@pytest.mark.parametrize(
    ("user", "msgid", "folder", "fwd", "vacation", "rule"),
    [
        ("alice@example.com", "<r01.6acd47.21d421@partner.test>", "INBOX", None, False, None),
        ("alice@example.com", "<r02.6acd47.9dfa48@partner.test>", "News", None, False,
         'fileinto "News"'),
        ("bob@example.com", "<r03.6acd47.7b6ed8@partner.test>", "Lists", None, False,
         'fileinto "Lists"'),
        ("carol@example.org", "<r04.6acd47.f03e05@partner.test>", None,
         "carol.private@partner.test", False, 'redirect "carol.private@partner.test"'),
        ("dave@example.org", "<r05.6acd47.df35e1@partner.test>", "INBOX", None, True, "vacation"),
        ("bob@example.com", "<r08.6acd47.1df793@remote.test>", "Junk", None, False,
         'fileinto "Junk"'),
        ("alice@example.com", "<r12.6acd47.228290@partner.test>", "INBOX", None, False, None),
        ("gina@example.com", "<r13.6acd47.6e7eb6@partner.test>", "INBOX", None, False, None),
        ("henry@example.org", "<r14.6acd47.6a103b@partner.test>", "INBOX", None, False, None),
    ],
)
def test_deliveries(ev: dovecot.DovecotEvents, user: str, msgid: str, folder: str | None,
                    fwd: str | None, vacation: bool, rule: str | None) -> None:
    d = ev.deliveries.filter((pl.col("user") == user) & (pl.col("message_id") == msgid))
    assert d.height == 1
    row = d.row(0, named=True)
    assert (row["folder"], row["forwarded_to"], row["auto_reply"], row["filter_rule"]) == (
        folder, fwd, vacation, rule)
    assert row["discarded"] is False


def test_delivery_session_ids_match_postfix(ev: dovecot.DovecotEvents) -> None:
    sessions = set(ev.deliveries["session"].to_list())
    # the ids Postfix's lmtp "status=sent (250 2.0.0 <rcpt> SESSION Saved)" carries
    mail = (REAL.parent / "mail.log").read_text(encoding="utf-8")
    saved = set(re.findall(r"250 2\.0\.0 <[^>]+> (\S+) Saved", mail))
    assert saved and saved <= sessions
    r12 = ev.deliveries.filter(pl.col("session") == "MM5kGrkXCWs5JwAAg+zDdQ").row(0, named=True)
    assert r12["subject"].startswith("[bold red]URGENT[/] ?[31m")  # kept literally
    assert r12["size"] == 777


def test_mailbox_events(ev: dovecot.DovecotEvents) -> None:
    mb = ev.mailbox
    a01 = mb.filter(pl.col("session") == "K5Kkfzth461/AAAe")
    assert a01["event"].to_list() == ["copy", "expunge", "delete", "expunge", "save"]
    copy = a01.row(0, named=True)
    assert (copy["folder"], copy["from_folder"], copy["uid"]) == ("Trash", "INBOX", 1)
    ren = mb.filter(pl.col("event") == "mailbox_rename").row(0, named=True)
    assert (ren["from_folder"], ren["folder"]) == ("Projects", "Archive/2026")
    assert mb.filter(pl.col("event") == "mailbox_delete")["folder"].to_list() == ["Archive/2026"]
    pop = mb.filter(pl.col("protocol") == "pop3").row(0, named=True)
    assert (pop["event"], pop["message_id"]) == ("expunge", "<r13.6acd47.6e7eb6@partner.test>")
