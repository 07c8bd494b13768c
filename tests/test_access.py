"""Access rows from the real Dovecot lines: scenarios A01–A12, chunking, field variants."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store.correlate.access import AccessCorrelator, correlate, latest
from tracemail_tui.store.parse import dovecot, roundcube
from tracemail_tui.store.parse.header import split_lines
from tracemail_tui.store.schema import ACCESS_ERRORS, ACCESSES

REAL = Path(__file__).parent / "fixtures" / "real" / "dovecot.log"
REAL_LINES = REAL.read_text(encoding="utf-8").splitlines()


def to_syslog(line: str, host: str) -> str:
    return f"{line[:15]} {host} dovecot: {line[16:].replace(': Info: ', ': ', 1)}"


def lines_frame(lines: list[str], host: str = "mx01") -> pl.DataFrame:
    return split_lines(pl.Series(lines), host=host, year=2026)


def rows_of(lines: list[str]) -> pl.DataFrame:
    return correlate(dovecot.parse(lines_frame(lines)))


@pytest.fixture(scope="module", params=["log_path", "syslog"])
def rows(request: pytest.FixtureRequest) -> pl.DataFrame:
    syslog = [to_syslog(x, "mx01") for x in REAL_LINES]
    lines = REAL_LINES if request.param == "log_path" else syslog
    return rows_of(lines)


def by_session(rows: pl.DataFrame, session: str) -> dict:
    got = rows.filter(pl.col("session") == session)
    assert got.height == 1, session
    return got.row(0, named=True)


def test_schema_and_ids(rows: pl.DataFrame) -> None:
    assert rows.schema == pl.Schema(ACCESSES)
    assert rows["id"].n_unique() == rows.height == 13
    assert all(i.startswith("a-mx01-") for i in rows["id"])
    failed = rows.filter(pl.col("status") == "failed")
    assert set(failed["error"]) <= set(ACCESS_ERRORS)
    assert rows.filter(pl.col("status") == "success")["error"].null_count() == 5


def test_a01_imap_outlook(rows: pl.DataFrame) -> None:
    r = by_session(rows, "K5Kkfzth461/AAAe")
    assert (r["status"], r["user"], r["domain"], r["protocol"], r["remote_ip"], r["local_ip"]) == (
        "success", "alice@example.com", "example.com", "imap", "127.0.0.30", "127.0.0.1")
    assert r["client"] == "Microsoft Outlook 16.0.17928.20114"
    assert (r["deleted"], r["expunged"], r["trashed"], r["bytes_in"], r["bytes_out"]) == (
        1, 1, 1, 642, 1503)
    assert (r["tls"], r["method"], r["server"]) == (True, "PLAIN", "mx01")
    assert r["id"] == "a-mx01-K5Kkfzth461/AAAe" and r["logout_time"] is not None


def test_a02_pop3(rows: pl.DataFrame) -> None:
    r = by_session(rows, "xBi2fzthRbZ/AAAg")
    assert (r["status"], r["protocol"], r["user"], r["tls"]) == (
        "success", "pop3", "gina@example.com", True)
    # POP3 logs no input bytes; output = TOP bytes + RETR bytes
    assert (r["bytes_in"], r["bytes_out"], r["deleted"]) == (None, 1985 + 1329, 1)


def test_a03_thunderbird_secured(rows: pl.DataFrame) -> None:
    r = by_session(rows, "fD3HfzthDcB/AAAB")
    assert (r["status"], r["client"], r["tls"], r["remote_ip"]) == (
        "success", "Thunderbird 128.5.0", False, "127.0.0.1")


@pytest.mark.parametrize(
    ("scenario", "session", "user", "error", "protocol"),
    [
        ("A04", "w5rYfzthu7R/AAAf", "alice@example.com", "auth-failed", "imap"),
        ("A05", "jg02gDthU6l/AAAf", "nobody@example.com", "unknown-user", "imap"),
        ("A06", "U5PQgDthd55/AAAe", "frank@example.org", "user-disabled", "imap"),
        ("A07", "H7ThgDth6cN/AAAe", "ivan@example.org", "user-disabled", "imap"),
        ("A08", "s136gDthDYR/AAAe", "erin@example.com", "ip-notallowed", "imap"),
        ("A09", "Z7dXgTthc75/AAAf", "carol@example.org", "plaintext-disallowed", "imap"),
        ("A10", "TjhpgTthid9/AAAs", "henry@example.org", "many-connections", "imap"),
        ("A12", "QNSLgTthi6l/AAAg", "gina@example.com", "auth-failed", "pop3"),
    ],
)
def test_failures(rows: pl.DataFrame, scenario: str, session: str, user: str, error: str,
                  protocol: str) -> None:
    r = by_session(rows, session)
    assert (r["status"], r["error"], r["user"], r["protocol"]) == ("failed", error, user, protocol)
    assert r["logout_time"] is None and r["bytes_in"] is None


def test_failed_attempt_time_is_the_auth_verdict(rows: pl.DataFrame) -> None:
    # A04: the auth verdict (05:40:40) comes before the login process reports the failure
    # (05:40:41, after anvil's penalty delay): the attempt was made at 05:40:40
    assert by_session(rows, "w5rYfzthu7R/AAAf")["time"].second == 40
    # A07: the deny-passdb hit (05:40:53) names nobody; joined to its failure (05:40:54)
    assert by_session(rows, "H7ThgDth6cN/AAAe")["time"].second == 53


def test_a09_plaintext_is_not_tls(rows: pl.DataFrame) -> None:
    r = by_session(rows, "Z7dXgTthc75/AAAf")
    assert (r["tls"], r["remote_ip"]) == (False, "127.0.0.31")


def test_a10_two_sessions_same_ip(rows: pl.DataFrame) -> None:
    henry = rows.filter(
        (pl.col("user") == "henry@example.org") & (pl.col("remote_ip") == "127.0.0.44"))
    assert sorted(henry["status"].to_list()) == ["failed", "success"]
    ok = henry.filter(pl.col("status") == "success").row(0, named=True)
    assert (ok["client"], ok["bytes_in"], ok["bytes_out"]) == ("iPhone Mail 21E236", 32, 823)


def test_a11_managesieve(rows: pl.DataFrame) -> None:
    r = by_session(rows, "EEF6gTthNd9/AAAB")
    assert (r["status"], r["protocol"], r["user"], r["bytes_in"], r["bytes_out"]) == (
        "success", "managesieve", "dave@example.org", 19, 84)


def test_sasl_auth_lines_are_not_rows(rows: pl.DataFrame) -> None:
    # S07's auth lines have no session: the SMTP AUTH row comes from Postfix's warning
    assert rows.filter(pl.col("remote_ip") == "127.0.0.31")["session"].null_count() == 0
    assert rows.filter(pl.col("protocol") == "smtp").height == 0


@pytest.mark.parametrize("size", [1, 2, 5, 13, 40])
def test_chunked_feed_equals_one_shot(size: int) -> None:
    frame = lines_frame(REAL_LINES)
    whole = correlate(dovecot.parse(frame))
    corr = AccessCorrelator()
    outs = [corr.feed(dovecot.parse(frame.slice(i, size))) for i in range(0, frame.height, size)]
    assert latest(outs).equals(whole)
    assert corr.open_sessions == 0


def test_open_session_is_carried_and_updated() -> None:
    login = [x for x in REAL_LINES if "K5Kkfzth461/AAAe" in x and "Logged out" not in x]
    logout = [x for x in REAL_LINES if "K5Kkfzth461/AAAe" in x and "Logged out" in x]
    corr = AccessCorrelator()
    first = corr.feed(dovecot.parse(lines_frame(login)))
    assert first.row(0, named=True)["logout_time"] is None
    assert first["client"].to_list() == ["Microsoft Outlook 16.0.17928.20114"]
    assert corr.open_sessions == 1
    second = corr.feed(dovecot.parse(lines_frame(logout)))
    r = second.row(0, named=True)
    assert (r["id"], r["status"], r["client"], r["trashed"]) == (
        first["id"][0], "success", "Microsoft Outlook 16.0.17928.20114", 1)
    assert r["logout_time"] is not None and corr.open_sessions == 0


def test_submission_is_smtp_and_older_forms() -> None:
    lines = [
        "Nov 27 06:00:01 mx02 dovecot: submission-login: Login: user=<Alice@Example.com>, "
        "method=PLAIN, rip=192.0.2.1, lip=192.0.2.2, mpid=5, TLS, session=<AbCd>",
        "Nov 27 06:00:09 mx02 dovecot: submission(alice@example.com)<5><AbCd>: Disconnected: "
        "Logged out in=100 out=200",
        # Dovecot 2.2 forms
        "Nov 27 06:01:00 mx02 dovecot: imap-login: Disconnected (auth failed, 3 attempts in 12 "
        "secs): user=<bob@example.com>, method=PLAIN, rip=198.51.100.9, lip=192.0.2.2, TLS, "
        "session=<Zz9>",
        "Nov 27 06:01:05 mx02 dovecot: pop3-login: Aborted login (tried to use disallowed "
        "plaintext auth): user=<>, rip=198.51.100.9, lip=192.0.2.2, session=<Yy8>",
        "Nov 27 06:01:06 mx02 dovecot: imap-login: Disconnected (no auth attempts in 0 secs): "
        "user=<>, rip=198.51.100.7, lip=192.0.2.2, session=<Xx7>",
        "Nov 27 06:01:07 mx02 dovecot: imap-login: Disconnected: Connection closed: "
        "SSL_accept() failed: error:0A00006C:SSL routines::bad key share (no auth attempts in 0 "
        "secs): user=<>, rip=198.51.100.7, lip=192.0.2.2, TLS handshaking: SSL_accept() failed: "
        "error:0A00006C:SSL routines::bad key share, session=<Ww6>",
        # 2.3.21+ "Login aborted" form
        "Nov 27 06:01:08 mx02 dovecot: imap-login: Login aborted: Connection closed (auth failed, "
        "1 attempts in 2 secs) (auth_failed): user=<carol@example.org>, method=PLAIN, "
        "rip=198.51.100.5, lip=192.0.2.2, TLS, session=<Vv5>",
    ]
    ev = dovecot.parse(lines_frame(lines))
    assert ev.unparsed == 0
    rows = correlate(ev)
    sub = by_session(rows, "AbCd")
    assert (sub["protocol"], sub["user"], sub["bytes_in"], sub["bytes_out"], sub["server"]) == (
        "smtp", "alice@example.com", 100, 200, "mx02")
    assert by_session(rows, "Zz9")["error"] == "auth-failed"
    pt = by_session(rows, "Yy8")
    assert (pt["error"], pt["user"], pt["protocol"]) == ("plaintext-disallowed", None, "pop3")
    assert by_session(rows, "Vv5")["error"] == "auth-failed"
    # connections that never tried to log in are not accesses, but are counted
    assert rows.filter(pl.col("session").is_in(["Xx7", "Ww6"])).height == 0
    assert sorted(ev.connections["why"].to_list()) == ["no-auth-attempts", "tls-handshake-failed"]


def test_sessionless_failures_get_stable_ids() -> None:
    line = ("Nov 27 06:02:00 mx03 dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 "
            "secs): user=<u{}@example.com>, method=PLAIN, rip=198.51.100.9, lip=192.0.2.2")
    frame = lines_frame([line.format(i) for i in range(3)])
    ids = correlate(dovecot.parse(frame))["id"].to_list()
    assert ids == [f"a-mx03-20261127060200-{i}" for i in range(3)]
    corr = AccessCorrelator()
    chunked = [corr.feed(dovecot.parse(frame.slice(i, 1))) for i in range(3)]
    assert latest(chunked)["id"].to_list() == ids


def test_hostile_user_kept_literally() -> None:
    evil = "[bold]x\x1b[31m>, rip=6.6.6.6, lip=6.6.6.6, session=<fake"
    line = (f"Nov 27 06:03:00 mx01 dovecot: imap-login: Disconnected: Aborted login by logging "
            f"out (auth failed, 1 attempts in 2 secs): user=<{evil}>, method=PLAIN, "
            f"rip=198.51.100.9, lip=192.0.2.2, TLS, session=<Real1>")
    r = by_session(rows_of([line]), "Real1")
    assert (r["user"], r["remote_ip"], r["error"]) == (evil, "198.51.100.9", "auth-failed")


def test_webmail_rows() -> None:
    lines = [
        "[27-Nov-2026 05:01:02 +0000]: <abcd1234> Successful login for alice@example.com (ID: 3) "
        "from 192.0.2.7 in session abcd1234efgh5678",
        "Nov 27 05:01:09 web1 roundcube: <k2j3h4g5> Failed login for Bob@Example.com from "
        "10.0.0.5 (X-Real-IP: 192.0.2.8,X-Forwarded-For: 192.0.2.8) in session k2j3h4g5zz "
        "(error: 0)",
    ]
    web = roundcube.parse(lines_frame(lines, host="web1"))
    rows = correlate(web)
    assert web.unparsed == 0 and rows.schema == pl.Schema(ACCESSES)
    ok, bad = rows.row(0, named=True), rows.row(1, named=True)
    assert (ok["protocol"], ok["status"], ok["user"], ok["remote_ip"], ok["session"]) == (
        "webmail", "success", "alice@example.com", "192.0.2.7", "abcd1234")
    assert ok["id"] == "a-web1-rcabcd1234-20261127050102-0"
    assert (bad["status"], bad["error"], bad["user"], bad["remote_ip"], bad["domain"]) == (
        "failed", "auth-failed", "bob@example.com", "192.0.2.8", "example.com")


def test_webmail_failure_takes_the_imap_verdict() -> None:
    dv = [
        "Nov 27 01:10:19 imap1 dovecot: auth: passwd-file(max@oak.test,10.0.0.31,<HN1>): "
        "unknown user",
        "Nov 27 01:10:21 imap1 dovecot: imap-login: Disconnected: Aborted login by logging out "
        "(auth failed, 1 attempts in 2 secs): user=<max@oak.test>, method=PLAIN, rip=10.0.0.31, "
        "lip=10.0.0.21, secured, session=<HN1>",
    ]
    rc = ["[27-Nov-2026 01:10:22 +0000]: <76epfsx3> Failed login for Max@oak.test from "
          "198.51.100.230 in session 76epfsx3owaxcwdd (error: 0)",
          "[27-Nov-2026 01:19:22 +0000]: <86epfsx3> Failed login for max@oak.test from "
          "198.51.100.230 in session 86epfsx3owaxcwdd (error: 0)"]
    corr = AccessCorrelator()
    imap = corr.feed(dovecot.parse(lines_frame(dv, host="imap1")))
    web = corr.feed(roundcube.parse(lines_frame(rc, host="webmail1")))
    assert imap["error"].to_list() == ["unknown-user"]
    # the second one is too late to be caused by that IMAP failure: Roundcube's own word
    assert web["error"].to_list() == ["unknown-user", "auth-failed"]
    assert web["remote_ip"].to_list() == ["198.51.100.230"] * 2


def test_proxied_session() -> None:
    lines = [
        "Nov 27 07:00:00 px1 dovecot: imap-login: proxy(fay@example.com): started proxying to "
        "10.0.0.2:143: user=<fay@example.com>, method=PLAIN, rip=198.51.100.3, lip=192.0.2.1, "
        "TLS, session=<Px1>",
        "Nov 27 07:05:00 px1 dovecot: imap-login: proxy(fay@example.com): disconnecting "
        "198.51.100.3 (Disconnected by client: EOF(0s idle, in=321, out=6543)): "
        "user=<fay@example.com>, method=PLAIN, rip=198.51.100.3, lip=192.0.2.1, TLS, "
        "session=<Px1>",
    ]
    ev = dovecot.parse(lines_frame(lines, host="px1"))
    assert ev.unparsed == 0
    r = by_session(correlate(ev), "Px1")
    assert (r["status"], r["user"], r["bytes_in"], r["bytes_out"], r["tls"]) == (
        "success", "fay@example.com", 321, 6543, True)
    assert r["logout_time"].minute == 5


def test_login_without_session_id_is_still_a_row() -> None:
    line = ("Nov 27 06:02:00 mx03 dovecot: imap-login: Login: user=<kim@example.com>, "
            "method=PLAIN, rip=198.51.100.9, lip=192.0.2.2, mpid=77, TLS")
    rows = correlate(dovecot.parse(lines_frame([line, line.replace("kim", "lee")])))
    assert rows["id"].to_list() == ["a-mx03-20261127060200-0", "a-mx03-20261127060200-1"]
    assert rows["status"].to_list() == ["success"] * 2
    assert rows["user"].to_list() == ["kim@example.com", "lee@example.com"]


def test_dovecot_22_logout_without_session_joins_the_open_login() -> None:
    login = ("Nov 27 06:10:00 old1 dovecot: imap-login: Login: user=<Max@example.com>, "
             "method=PLAIN, rip=198.51.100.9, lip=192.0.2.2, mpid=7001, TLS, session=<Old22>")
    logout = ("Nov 27 06:20:00 old1 dovecot: imap(max@example.com): Disconnected: Logged out "
              "in=55 out=6666")
    corr = AccessCorrelator()
    first = corr.feed(dovecot.parse(lines_frame([login])))
    assert first.row(0, named=True)["logout_time"] is None
    r = corr.feed(dovecot.parse(lines_frame([logout]))).row(0, named=True)
    assert (r["id"], r["status"], r["bytes_in"], r["bytes_out"]) == ("a-old1-Old22", "success",
                                                                     55, 6666)
    assert r["logout_time"].minute == 20 and corr.open_sessions == 0
