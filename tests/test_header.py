"""Header split of every line form seen in the field, on real lines where we have them."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store.parse.header import split_lines

REAL = Path(__file__).parent / "fixtures" / "real"


def _one(line: str, **kw: object) -> dict:
    return split_lines(pl.Series([line]), **kw).row(0, named=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "program", "pid", "host", "msg_start"),
    [
        ("Nov 27 05:39:56 mx01 postfix/smtpd[10034]: connect from unknown[127.0.0.10]",
         "postfix/smtpd", "10034", "mx01", "connect from"),
        ("Nov  7 05:39:56 mx02 postfix/submission/smtpd[55]: A62A116255C: client=x",
         "postfix/submission/smtpd", "55", "mx02", "A62A116255C:"),
        ("Nov 27 05:40:32 mx01 dovecot: imap-login: Login: user=<a@b.c>",
         "dovecot", None, "mx01", "imap-login: Login:"),
        ("Nov 27 05:40:32 imap-login: Info: Login: user=<a@b.c>, method=PLAIN",
         "dovecot", None, "imap1", "imap-login: Login: user"),
        ("Nov 27 05:40:33 pop3(gina@example.com)<10111><xBi2fzthRbZ/AAAg>: Info: Disconnected: x",
         "dovecot", None, "imap1", "pop3(gina@example.com)<10111><xBi2fzthRbZ/AAAg>: Disconnected"),
        ("2026-11-27T05:01:02.123456+01:00 mx01 postfix/smtpd[12]: connect from x",
         "postfix/smtpd", "12", "mx01", "connect"),
        ("2026-11-27 05:40:04 #9883(rspamd_proxy) <3af9e4>; proxy; rspamd_task_write_log: id",
         "rspamd", "9883", "imap1", "<3af9e4>; proxy;"),
        ("Fri Nov 27 05:40:08 2026 -> instream(local): Eicar FOUND",
         "clamd", None, "imap1", "instream(local)"),
        ("[27-Nov-2026 05:01:02 +0000]: <abc> Successful login for m@e.com (ID: 1) from 1.2.3.4",
         "roundcube", None, "imap1", "<abc> Successful"),
    ],
)
def test_forms(line: str, program: str, pid: str | None, host: str, msg_start: str) -> None:
    row = _one(line, host="imap1", year=2026)
    assert (row["program"], row["pid"], row["host"]) == (program, pid, host)
    assert row["msg"].startswith(msg_start)
    assert row["time"].year == 2026 and row["raw"] == line


def test_one_chunk_of_mixed_forms_splits_as_its_lines_alone() -> None:
    """Syslog and Dovecot-file lines in one chunk (the mixed path) give what each line
    gives on its own (the one-form fast paths)."""
    lines = [
        "Nov 27 05:40:32 imap-login: Info: Login: user=<a@b.c>, method=PLAIN",
        "Nov 27 05:39:56 mx01 postfix/smtpd[10034]: connect from unknown[127.0.0.10]",
        "Nov 27 05:40:32 mx01 dovecot: imap-login: Login: user=<a@b.c>",
        "Nov 27 05:40:33 pop3(g@e.com)<10111><xBi2fzthRbZ/AAAg>: Info: Disconnected: x",
        "Nov 27 05:40:34 mx01 postfix/qmgr[9978]: E3ED71624A1: removed",
        "Nov 27 05:40:35 not a syslog line at all",
    ]
    together = split_lines(pl.Series(lines), host="imap1", year=2026).to_dicts()
    assert together == [_one(line, host="imap1", year=2026) for line in lines]


def test_day_padding_and_fraction() -> None:
    assert _one("Nov  7 05:39:56 mx01 postfix/qmgr[1]: X: removed", year=2026)["time"] == \
        dt.datetime(2026, 11, 7, 5, 39, 56)
    row = _one("2026-11-27T05:01:02.123456+01:00 mx01 postfix/qmgr[1]: X: removed")
    assert row["time"] == dt.datetime(2026, 11, 27, 5, 1, 2, 123456)  # local wall clock kept


def test_year_rollover_from_mtime() -> None:
    lines = pl.Series(["Dec 31 23:59:59 mx01 postfix/qmgr[1]: A: removed",
                       "Jan  1 00:00:01 mx01 postfix/qmgr[1]: B: removed"])
    got = split_lines(lines, mtime=dt.datetime(2027, 1, 1, 0, 5))["time"].to_list()
    assert got == [dt.datetime(2026, 12, 31, 23, 59, 59), dt.datetime(2027, 1, 1, 0, 0, 1)]


def test_garbage_is_kept_but_fieldless() -> None:
    df = split_lines(pl.Series(["garbage \ufffd line", "", "Nov 27 05:39:56 mx01 postfix/x[1]: y"]),
                     year=2026)
    assert df["raw"].to_list()[0] == "garbage \ufffd line"
    assert df["program"].to_list() == [None, None, "postfix/x"]
    assert df["host"].to_list()[:2] == [None, None]


def test_real_logs_all_split() -> None:
    for name, host in (("mail.log", None), ("dovecot.log", "mx01"), ("rspamd.log", "mx01"),
                       ("clamav.log", "mx01")):
        lines = pl.Series((REAL / name).read_text("utf-8", "replace").splitlines())
        df = split_lines(lines, host=host, year=2026)
        assert df["program"].null_count() == 0, name
        assert df["host"].null_count() == 0, name
        assert (df["time"].dt.date() == dt.date(2026, 11, 27)).all(), name
    dov = split_lines(pl.Series((REAL / "dovecot.log").read_text().splitlines()), host="mx01")
    assert not dov["msg"].str.contains(": Info: ").any()


@pytest.mark.parametrize(
    ("line", "host", "program", "pid", "msg"),
    [
        # UTF-8 host: every cut after it is a byte offset, not a character count.
        ("Nov 27 05:39:56 mx-ü postfix/smtpd[10034]: connect from unknown[127.0.0.10]",
         "mx-ü", "postfix/smtpd", "10034", "connect from unknown[127.0.0.10]"),
        ("Nov 27 05:39:56 mx-üüü-日本 postfix/qmgr[7]: A1: removed",
         "mx-üüü-日本", "postfix/qmgr", "7", "A1: removed"),
        # UTF-8 program name (tag), with and without a pid.
        ("Nov 27 05:39:56 mx01 prögrämm[77]: hello wörld: x",
         "mx01", "prögrämm", "77", "hello wörld: x"),
        ("Nov 27 05:39:56 mx01 tägß: no pid here",
         "mx01", "tägß", None, "no pid here"),
        ("2026-11-27T05:01:02.123456+01:00 hôte-é postfix/smtpd[12]: connect from x",
         "hôte-é", "postfix/smtpd", "12", "connect from x"),
        # Dovecot's own log file: the user name (client-chosen) holds UTF-8.
        ("Nov 27 05:40:33 imap(jürgen@exämple.com)<10111><xBi2fzthRbZ/AAAg>: Info: "
         "Disconnected: Logged out in=1 out=2",
         "imap1", "dovecot", None,
         "imap(jürgen@exämple.com)<10111><xBi2fzthRbZ/AAAg>: Disconnected: Logged out in=1 out=2"),
        ("2026-11-27 05:40:04 #9883(rspamd_proxy) <3af9e4>; proxy; ünïcode",
         "imap1", "rspamd", "9883", "<3af9e4>; proxy; ünïcode"),
        ("[27-Nov-2026 05:01:02 +0000]: <abc> Successful login for ü@e.com (ID: 1) from 1.2.3.4",
         "imap1", "roundcube", None, "<abc> Successful login for ü@e.com (ID: 1) from 1.2.3.4"),
    ],
)
def test_non_ascii_before_the_cuts(line: str, host: str, program: str, pid: str | None,
                                   msg: str) -> None:
    row = _one(line, host="imap1", year=2026)
    assert (row["host"], row["program"], row["pid"], row["msg"]) == (host, program, pid, msg)
    assert row["time"] is not None and row["raw"] == line
