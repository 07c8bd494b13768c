"""Roundcube userlogins: file and syslog forms, proxies, error codes, hostile user names."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store import engine
from tracemail_tui.store.parse import roundcube
from tracemail_tui.store.parse.header import split_lines


def parse(lines: list[str]) -> roundcube.WebmailEvents:
    return roundcube.parse(split_lines(pl.Series(lines), host="web1", year=2026))


def test_file_and_syslog_forms_agree() -> None:
    body = ("<abcd1234> Successful login for alice@example.com (ID: 3) from 192.0.2.7 in "
            "session abcd1234efgh5678")
    got = parse([f"[27-Nov-2026 05:01:02 +0000]: {body}",
                 f"Nov 27 05:01:02 web1 roundcube: {body}"])
    assert got.unparsed == 0 and got.logins.height == 2
    a, b = got.logins.rows(named=True)
    assert a == b
    assert (a["status"], a["error"], a["user"], a["remote_ip"], a["session"], a["user_id"]) == (
        "success", None, "alice@example.com", "192.0.2.7", "abcd1234", 3)


@pytest.mark.parametrize(
    ("code", "error"),
    [(0, "auth-failed"), (-2, "storage-error"), (1, "invalid-request"), (3, "cookies-disabled"),
     (4, "rate-limited"), (9, "error-9")],
)
def test_failed_login_codes(code: int, error: str) -> None:
    line = (f"[27-Nov-2026 05:01:09 +0000]: <k2j3h4g5> Failed login for bob@example.com from "
            f"192.0.2.8 in session k2j3h4g5zz (error: {code})")
    row = parse([line]).logins.row(0, named=True)
    assert (row["status"], row["error"], row["user"]) == ("failed", error, "bob@example.com")


def test_behind_a_proxy_the_forwarded_client_counts() -> None:
    local = ("Nov 27 05:01:09 web1 roundcube: <k2j3h4g5> Failed login for bob@example.com from "
             "10.0.0.5 (X-Real-IP: 192.0.2.8,X-Forwarded-For: 192.0.2.8) in session k2 (error: 0)")
    public = ("Nov 27 05:01:10 web1 roundcube: Failed login for bob@example.com from "
              "203.0.113.4 (X-Forwarded-For: 1.2.3.4) in session k3 (error: 0)")
    ips = parse([local, public]).logins["remote_ip"].to_list()
    # a public peer is the client itself: a forwarded header it sent is not trusted
    assert ips == ["192.0.2.8", "203.0.113.4"]


def test_hostile_user_and_other_lines() -> None:
    evil = "x) from 1.1.1.1 in session q (error: 0) \x1b]0;pwned\x07[bold]"
    lines = [
        f"Nov 27 05:01:10 web1 roundcube: <zz112233> Failed login for {evil} from 2.2.2.2 in "
        "session zz112233abc (error: 4)",
        "Nov 27 05:01:11 web1 roundcube: <zz112233> IMAP Error: Login failed for x against "
        "localhost from 2.2.2.2. AUTHENTICATE PLAIN: Authentication failed. in /x.php on line 200",
        "[27-Nov-2026 05:01:12 +0000]: Successful login for old (ID: 9) from 192.0.2.9",
    ]
    got = parse(lines)
    assert got.unparsed == 1  # the errors-log line is counted, not dropped
    first, old = got.logins.rows(named=True)
    assert (first["user"], first["remote_ip"], first["error"], first["session"]) == (
        evil, "2.2.2.2", "rate-limited", "zz112233")
    assert (old["user"], old["session"], old["user_id"]) == ("old", None, 9)


REAL = Path(__file__).parent / "fixtures" / "webmail-roundcube"


def test_real_roundcube_logins_get_dovecots_reason() -> None:
    """Roundcube 1.6.5 against the lab's Dovecot (fixture README): every line parsed, and a
    failed webmail login carries the reason Dovecot gave Roundcube's own IMAP login, not
    Roundcube's catch-all `error: 0`. A disabled account must not read "wrong password"."""
    result = engine.run([REAL], host="imap01")
    assert sum(result.stats.unparsed.values()) == 0, result.stats.unparsed
    web = result.views["accesses"].filter(pl.col("protocol") == "webmail")
    got = [(r["user"], r["status"], r["error"], r["remote_ip"]) for r in web.to_dicts()]
    assert got == [
        ("alice@example.com", "success", None, "127.0.0.1"),
        ("alice@example.com", "failed", "auth-failed", "127.0.0.1"),
        ("nobody@example.com", "failed", "unknown-user", "127.0.0.1"),
        ("bob@example.com", "success", None, "127.0.0.1"),
        ("frank@example.org", "failed", "user-disabled", "127.0.0.1"),
        ("[bold red]x[/] \x1b[31mred\x07=1+2@example.com", "failed", "auth-failed", "127.0.0.1"),
        ("erin@example.com", "failed", "ip-notallowed", "127.0.0.1"),
        ("gina@example.com", "success", None, "192.0.2.7"),  # behind the proxy
    ]
    assert web["session"].to_list()[:2] == ["fdoom0hi", "024h50ps"]
    # Roundcube's own IMAP sessions (one per request) are IMAP accesses from its host.
    imap = result.views["accesses"].filter(pl.col("protocol") == "imap")
    assert imap.filter(pl.col("status") == "success").height == 6
    # Dovecot refused the hostile name itself ("Username character disallowed"); it logs
    # the control characters as "?", so the webmail row cannot be matched to it
    failed = imap.filter(pl.col("status") == "failed")
    assert failed.filter(pl.col("user").str.starts_with("[bold"))["error"].to_list() == [
        "invalid-user-name"]
