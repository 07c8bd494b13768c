"""Symlinks out of log dirs, private file modes, bounded PDF text."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tracemail_tui import fileperm
from tracemail_tui.export.pdf_doc import MAX_TEXT, NEUTRAL_RUN, printable
from tracemail_tui.store import engine, sources

LINE = b"Nov 27 05:39:56 mx07 postfix/qmgr[1]: A62A116255C: removed\n"


def test_symlinks_out_of_a_log_dir_are_not_followed(tmp_path: Path) -> None:
    logs, outside = tmp_path / "logs", tmp_path / "outside"
    (logs / "mx07").mkdir(parents=True)
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.log").write_bytes(b"Nov 27 05:39:56 other postfix/qmgr[1]: X: removed\n")
    (outside / "deep" / "mail.log").write_bytes(LINE)
    (logs / "mx07" / "mail.log").write_bytes(LINE)
    (logs / "mx07" / "evil.log").symlink_to(outside / "secret.log")
    (logs / "mx07" / "shadow").symlink_to("/etc/shadow")
    (logs / "linked-dir").symlink_to(outside / "deep", target_is_directory=True)
    (logs / "current").symlink_to(logs / "mx07" / "mail.log")  # inside the dir: fine
    found = sources.expand([logs])
    assert sorted(p.relative_to(logs).as_posix() for p in found) == ["current", "mx07/mail.log"]
    result = engine.run([logs])
    assert result.stats.hosts == {"mx07"} and result.stats.lines == 2
    # A file named explicitly is the operator's choice and is read.
    assert sources.expand([logs / "mx07" / "evil.log"]) == [logs / "mx07" / "evil.log"]


def test_secure_open_creates_0600_and_tightens(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with fileperm.secure_open(tmp_path / "new.csv", "w") as fh:
            fh.write("x")
        existing = tmp_path / "old.csv"
        existing.write_text("old")
        existing.chmod(0o666)
        fileperm.write_private(existing, b"new")
        made = fileperm.private_dir(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600 and existing.read_bytes() == b"new"
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    with pytest.raises(ValueError):
        fileperm.secure_open(tmp_path / "x", "r")


def test_secure_open_leaves_devices_alone() -> None:
    before = stat.S_IMODE(os.stat("/dev/null").st_mode)
    with fileperm.secure_open("/dev/null", "w") as fh:
        fh.write("x")
    assert stat.S_IMODE(os.stat("/dev/null").st_mode) == before


def test_pdf_text_is_bounded_but_says_so() -> None:
    text = printable("a" + "<" * 5000 + "b")
    assert text.startswith("a" + "<" * NEUTRAL_RUN + "…[+4800]") and text.endswith("b")
    long = printable("word " * 10_000)
    assert len(long) < MAX_TEXT + 100 and long.endswith("more characters not shown]")
    assert printable("Grüße \x1b[31m") == "Grüße \\x1b[31m"  # short text untouched


@pytest.mark.parametrize("msg", [
    "imap-login: Login: use🍕🍕🍕.c>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8, session=<abc>",
    "imap-login: Aborted login (no auth attempts): user=<aaaaé>, rip=1",
    "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<é>, ü",
    "imap(é)<1><ü>: Info: Disconnected: Logged out in=1 out=2 ¿",
    "lmtp(a@b)<1><s>: Info: sieve: msgid=<é>: saved mail to ü",
    "imap(a@b)<1><s>: Info: copy from é: box=ü, uid=1, msgid=<ä>, size=1",
])
def test_dovecot_cuts_never_split_a_character(tmp_path: Path, msg: str) -> None:
    """A byte-offset cut meant for other rows fell inside a multi-byte character and
    stopped the whole run with "invalid utf8" (found by bench/fuzz.py)."""
    log = tmp_path / "mail.log"
    log.write_text(f"Nov 27 05:39:56 mx01 dovecot: {msg}\n" * 3 + LINE.decode(), "utf-8")
    result = engine.run([log])
    assert result.stats.lines == 4



def test_ingest_discovery_does_not_follow_symlinks_out(tmp_path: Path) -> None:
    """`tracemail ingest` finds files with its own walker: the same rule applies."""
    from tracemail_tui.store.logfiles import discover

    logs, outside = tmp_path / "logs", tmp_path / "outside"
    logs.mkdir()
    outside.mkdir()
    (outside / "mail.log").write_bytes(LINE)
    (logs / "mail.log").write_bytes(LINE)
    (logs / "dovecot.log").symlink_to(outside / "mail.log")
    (logs / "mail.log.1").symlink_to(logs / "mail.log")  # inside: fine
    found = sorted(Path(f.path).name for f in discover((str(logs),)))
    assert found == ["mail.log", "mail.log.1"]
