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


def by_session(ev: dovecot.DovecotEvents) -> dict[str, dict]:  # type: ignore[type-arg]
    """The delivery rows by LMTP session id."""
    return {r["session"]: r for r in ev.deliveries.iter_rows(named=True)}


def _sys(t: str, body: str, host: str = "imap1") -> str:
    return f"Nov 27 {t} {host} dovecot: {body}"


def test_delivery_variants() -> None:
    lines = [
        # LDA (Dovecot 2.3) with Sieve, explicit keep
        _sys("06:00:01", "lda(ann@example.com)<4050><gtTeEEIBGWTlTwAAPWRvRg>: sieve: "
             "msgid=<k1@x>: keep action: stored mail into mailbox 'INBOX'"),
        # LMTP without Sieve
        _sys("06:00:02", "lmtp(ann@example.com)<41><AbCdEfGhIjKlMnOpQrStUv>: msgid=<k2@x>: "
             "saved mail to Archive/2026"),
        # Dovecot 2.2 LMTP: "lmtp(pid, user): SESSION: ..."
        _sys("06:00:03", "lmtp(12345, Ann@Example.com): Bx2KHxaZ1Fq2OwAAhQd9Aw: msgid=<k3@x>: "
             "saved mail to INBOX"),
        # older Pigeonhole redirect, discard, reject, quota failure, unspecified msgid
        _sys("06:00:04", "lmtp(bo@example.com)<41><S4>: sieve: msgid=<k4@x>: forwarded to "
             "<bo@elsewhere.test>"),
        _sys("06:00:05", "lmtp(bo@example.com)<41><S5>: sieve: msgid=<k5@x>: marked message to "
             "be discarded if not explicitly delivered (discard action)"),
        _sys("06:00:06", "lmtp(bo@example.com)<41><S6>: sieve: msgid=<k6@x>: rejected message "
             "from <spam@bad.test> (reject)"),
        _sys("06:00:07", "lmtp(bo@example.com)<41><S7>: Error: msgid=<k7@x>: save failed to "
             "INBOX: Quota exceeded (mailbox for user is full)"),
        _sys("06:00:08", "lmtp(bo@example.com)<41><S8>: sieve: msgid=unspecified: stored mail "
             "into mailbox 'INBOX'"),
    ]
    ev = parse(lines)
    assert ev.unparsed == 0
    d = by_session(ev)
    k1 = d["gtTeEEIBGWTlTwAAPWRvRg"]
    assert (k1["user"], k1["folder"], k1["filter_rule"], k1["message_id"]) == (
        "ann@example.com", "INBOX", "keep", "<k1@x>")
    assert d["AbCdEfGhIjKlMnOpQrStUv"]["folder"] == "Archive/2026"
    k3 = d["Bx2KHxaZ1Fq2OwAAhQd9Aw"]
    assert (k3["user"], k3["folder"], k3["message_id"]) == ("ann@example.com", "INBOX", "<k3@x>")
    assert (d["S4"]["forwarded_to"], d["S4"]["folder"]) == ("bo@elsewhere.test", None)
    assert (d["S5"]["discarded"], d["S5"]["filter_rule"], d["S5"]["folder"]) == (
        True, "discard", None)
    assert (d["S6"]["filter_rule"], d["S6"]["error"]) == ("reject", "reject")
    assert (d["S7"]["folder"], d["S7"]["error"]) == (
        None, "save failed to INBOX: Quota exceeded (mailbox for user is full)")
    assert (d["S8"]["message_id"], d["S8"]["folder"]) == (None, "INBOX")


def test_hostile_message_id_cannot_fake_the_action() -> None:
    fake = "<a@x>: stored mail into mailbox 'Fake'"
    lines = [
        _sys("06:01:00", f"lmtp(cy@example.com)<41><H1>: sieve: msgid={fake}: redirect action: "
             "forwarded to <real@x.test>"),
        _sys("06:01:01", "lmtp(cy@example.com)<41><H2>: sieve: msgid=<b@x>: saved mail to Fake: "
             "saved mail to INBOX"),
    ]
    d = by_session(parse(lines))
    assert (d["H1"]["folder"], d["H1"]["forwarded_to"], d["H1"]["message_id"]) == (
        None, "real@x.test", fake)
    assert d["H2"]["folder"] == "INBOX"


def test_auth_variants_and_other_lines() -> None:
    lines = [
        _sys("06:02:00", "auth-worker(4321): sql(dan@example.com,198.51.100.2,<A1>): Password "
             "mismatch"),
        _sys("06:02:01", "auth-worker(4321): pam(dan@example.com,198.51.100.2,<A2>): "
             "pam_authenticate() failed: Authentication failure (password mismatch?)"),
        _sys("06:02:02", "auth: ldap(ghost@example.com,2001:db8::7,<A3>): unknown user"),
        _sys("06:02:03", "auth: Debug: auth client connected (pid=4)"),
        _sys("06:02:04", "imap(dan@example.com)<7><A4>: Error: Mailbox INBOX: UID=5: read() "
             "failed"),
        _sys("06:02:05", "imap-login: Warning: Auth process not responding, delayed sending "
             "greeting"),
        _sys("06:02:06", "doveadm: something new in Dovecot 2.4"),
    ]
    ev = parse(lines)
    auth = {r["session"]: (r["driver"], r["user"], r["ip"], r["error"])
            for r in ev.auth.iter_rows(named=True)}
    assert auth["A1"] == ("sql", "dan@example.com", "198.51.100.2", "auth-failed")
    assert auth["A2"] == ("pam", "dan@example.com", "198.51.100.2", "auth-failed")
    assert auth["A3"] == ("ldap", "ghost@example.com", "2001:db8::7", "unknown-user")
    assert ev.kinds["debug"] == 1 and ev.kinds["diagnostic"] == 2
    assert ev.unparsed == 1
    assert ev.unparsed_by_process.row(0, named=True)["process"] == "doveadm"


def test_logout_variants() -> None:
    lines = [
        _sys("06:03:00", "imap(eve@example.com)<7><L1>: Disconnected: Connection closed (IDLE "
             "running for 0.001 + waiting input for 1800.1 secs, 2 B in + 10+10 B out, "
             "state=wait-input) in=120 out=3456 deleted=0 expunged=0 trashed=0 hdr_count=0 "
             "hdr_bytes=0 body_count=0 body_bytes=0"),
        _sys("06:03:01", "imap(eve@example.com)<8><L2>: Disconnected for inactivity in=5 out=6"),
        _sys("06:03:02", "imap(eve@example.com)<9><L3>: Logged out in=7 out=8"),
        _sys("06:03:03", "pop3(eve@example.com)<10><L4>: Disconnected: Logged out top=0/0, "
             "retr=0/0, del=0/5, size=12345"),
        _sys("06:03:04", "imap(eve@example.com)<11><L5>: Disconnected: Logged out bytes=12/34"),
    ]
    ev = parse(lines)
    assert ev.unparsed == 0
    lo = {r["session"]: r for r in ev.logouts.iter_rows(named=True)}
    assert (lo["L1"]["bytes_in"], lo["L1"]["bytes_out"], lo["L1"]["expunged"]) == (120, 3456, 0)
    assert lo["L1"]["reason"].startswith("Connection closed (IDLE")
    assert (lo["L2"]["bytes_in"], lo["L2"]["reason"]) == (5, "Disconnected for inactivity")
    assert (lo["L3"]["bytes_out"], lo["L3"]["deleted"]) == (8, None)
    assert (lo["L4"]["bytes_out"], lo["L4"]["deleted"], lo["L4"]["pop_retr"]) == (0, 0, 0)
    assert (lo["L5"]["bytes_in"], lo["L5"]["bytes_out"]) == (12, 34)


def test_non_ascii_users_and_folders() -> None:
    lines = [
        _sys("06:04:00", "imap(jürgen@bäckerei.de)<7><U1>: copy from Entwürfe: box=Gelöscht, "
             "uid=3, msgid=<ü@x>, size=10, subject=Grüße, subject=x"),
        _sys("06:04:01", "imap-login: Login: user=<jürgen@bäckerei.de>, method=PLAIN, "
             "rip=192.0.2.9, lip=192.0.2.1, mpid=7, TLS, session=<U1>"),
    ]
    ev = parse(lines)
    m = ev.mailbox.row(0, named=True)
    assert (m["user"], m["folder"], m["from_folder"], m["uid"], m["message_id"]) == (
        "jürgen@bäckerei.de", "Gelöscht", "Entwürfe", 3, "<ü@x>")
    assert m["subject"] == "Grüße, subject=x"
    lg = ev.logins.row(0, named=True)
    assert (lg["user"], lg["rip"], lg["session"]) == ("jürgen@bäckerei.de", "192.0.2.9", "U1")


def test_over_quota_delivery_of_the_real_lab() -> None:
    """Lab R18 (Dovecot 2.3.19, quota 1 KB): Pigeonhole logs the failed implicit keep at
    Info level, then a note on the script run; the note is understood, not unparsed."""
    lines = [
        "Nov 27 14:06:57 lmtp(jack@example.org)<11979><iE+oDIGOCWvLLgAAg+zDdQ>: Info: sieve: "
        "msgid=<r18.d69af4.00f673@partner.test>: failed to store into mailbox 'INBOX': "
        "Quota exceeded (mailbox for user is full)",
        "Nov 27 14:06:57 lmtp(jack@example.org)<11979><iE+oDIGOCWvLLgAAg+zDdQ>: Info: sieve: "
        "Execution of script /etc/dovecot/sieve/before.d/10-spam-to-junk.sieve failed with "
        "unsuccessful implicit keep",
    ]
    for form in (lines, [to_syslog(x) for x in lines]):
        ev = parse(form)
        assert (ev.unparsed, ev.ignored) == (0, 1)
        (d,) = ev.deliveries.iter_rows(named=True)
        assert (d["user"], d["folder"], d["message_id"], d["error"]) == (
            "jack@example.org", None, "<r18.d69af4.00f673@partner.test>",
            "failed to store into mailbox 'INBOX': Quota exceeded (mailbox for user is full)")


def test_ignored_counts_quiet_lines_and_bare_connections() -> None:
    lines = [
        _sys("06:05:00", "imap-login: Disconnected (no auth attempts in 0 secs): user=<>, "
             "rip=198.51.100.7, lip=192.0.2.2, session=<Q1>"),
        _sys("06:05:01", "lmtp(41): Connect from local"),
        _sys("06:05:02", "master: Warning: Killed with signal 15 (by pid=1 uid=0 code=kill)"),
    ]
    ev = parse(lines)
    assert (ev.ignored, ev.unparsed, ev.connections.height) == (3, 0, 1)


def test_utf8_before_the_cuts_in_both_forms() -> None:
    """A UTF-8 user in Dovecot's own file and a UTF-8 syslog host: byte cuts stay exact."""
    body = ("imap(jürgen@exämple.com)<10111><xBi2fzthRbZ/AAAg>: Info: Disconnected: "
            "Logged out in=12 out=345 deleted=0 expunged=1 trashed=0")
    for line, host in ((f"Nov 27 05:40:33 {body}", "imap1"),
                       (to_syslog(f"Nov 27 05:40:33 {body}", "mx-ü"), "mx-ü")):
        row = dovecot.split(split_lines(pl.Series([line]), host="imap1", year=2026)).row(
            0, named=True)
        assert (row["host"], row["proc"], row["user"], row["pid"], row["session"]) == (
            host, "imap", "jürgen@exämple.com", "10111", "xBi2fzthRbZ/AAAg")
        assert (row["kind"], row["text"]) == (
            "logout", "Disconnected: Logged out in=12 out=345 deleted=0 expunged=1 trashed=0")
        lo = dovecot.parse(split_lines(pl.Series([line]), host="imap1", year=2026)).logouts
        assert lo.select("host", "user", "bytes_in", "bytes_out", "expunged").row(0) == (
            host, "jürgen@exämple.com", 12, 345, 1)


def test_a_redirect_that_did_not_send() -> None:
    """Pigeonhole's cmd-redirect: the same Message-ID was forwarded to that address before
    (a message delivered twice), or the message carries its own redirect mark (a loop).
    Nothing was sent and, without a keep, nothing stored: discarded, and the rule says why."""
    lines = [
        _sys("06:02:00", "lmtp(cy@example.com)<41><D1>: sieve: msgid=<d1@x>: "
             "discarded duplicate forward to <cy@elsewhere.test>"),
        _sys("06:02:01", "lmtp(cy@example.com)<41><D2>: sieve: msgid=<d2@x>: redirect action: "
             "not forwarding message to <cy@elsewhere.test>: the 'x-sieve-redirected-from' "
             "header indicates a mail loop"),
        _sys("06:02:02", "lmtp(cy@example.com)<41><D3>: sieve: msgid=<d3@x>: redirect action: "
             "discarded duplicate forward to <cy@elsewhere.test>"),
        _sys("06:02:02", "lmtp(cy@example.com)<41><D3>: sieve: msgid=<d3@x>: fileinto action: "
             "stored mail into mailbox 'Copies'"),
    ]
    ev = parse(lines)
    assert ev.unparsed == 0
    d = by_session(ev)
    assert (d["D1"]["discarded"], d["D1"]["forwarded_to"], d["D1"]["filter_rule"]) == (
        True, None, 'redirect "cy@elsewhere.test" (not sent: duplicate)')
    assert (d["D2"]["discarded"], d["D2"]["filter_rule"]) == (
        True, 'redirect "cy@elsewhere.test" (not sent: mail loop)')
    assert (d["D3"]["discarded"], d["D3"]["folder"]) == (False, "Copies")  # a copy was kept


def test_fts_indexing_notes_are_quiet() -> None:
    """indexer-worker's `Indexed N messages in BOX (UIDs a..b)` (i_info, with FTS)."""
    lines = [_sys("06:03:00", "indexer-worker(cy@example.com)<1238><Ix1:abc>: Indexed 10 "
                              "messages in INBOX (UIDs 1..10)")]
    ev = parse(lines)
    assert (ev.ignored, ev.unparsed) == (1, 0)
