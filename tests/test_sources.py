"""Finding and reading log files: rotation order, .gz, chunks, invalid UTF-8, hosts."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from pathlib import Path

import polars as pl

from tracemail_tui.store import sources

REAL = Path(__file__).parent / "fixtures" / "real"
SYSLOG = b"Nov 27 05:39:56 mx07 postfix/qmgr[1]: A62A116255C: removed\n"
DOVECOT = b"Nov 27 05:39:56 imap-login: Info: Login: user=<a@b.c>, rip=1.2.3.4, session=<x>\n"


def test_rotated_files_oldest_first(tmp_path: Path) -> None:
    for name in ("mail.log", "mail.log.1", "mail.log.2.gz", "mail.log.10.gz", "other.log"):
        (tmp_path / name).write_bytes(gzip.compress(SYSLOG) if name.endswith(".gz") else SYSLOG)
    names = [p.name for p in sources.expand([tmp_path])]
    assert names == ["mail.log.10.gz", "mail.log.2.gz", "mail.log.1", "mail.log", "other.log"]
    assert sources.rotation_base(Path("mail.log.2.gz")) == "mail.log"


def test_rotation_names_of_logrotate_dateext_and_postfix_logrotate(tmp_path: Path) -> None:
    """The same families and order as the tailer (logfiles.classify): one set of rules."""
    names = ("mail.log", "mail.log.20261126-031500", "mail.log.20261125-031500.gz",
             "mail.log-20261124.gz", "dovecot.log")
    for name in names:
        (tmp_path / name).write_bytes(gzip.compress(SYSLOG) if name.endswith(".gz") else SYSLOG)
    assert [p.name for p in sources.expand([tmp_path])] == [
        "dovecot.log", "mail.log-20261124.gz", "mail.log.20261125-031500.gz",
        "mail.log.20261126-031500", "mail.log"]
    assert {sources.rotation_base(Path(n)) for n in names[:4]} == {"mail.log"}


def test_gz_and_chunks_and_invalid_utf8(tmp_path: Path) -> None:
    body = SYSLOG * 50 + b"Nov 27 05:39:57 mx07 postfix/smtpd[2]: bad \xff\xfe bytes\n" + SYSLOG
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(body))
    src = sources.sources([tmp_path / "mail.log.1.gz"])[0]
    chunks = list(sources.read_chunks(src, chunk_bytes=300))
    lines = pl.concat(chunks)
    assert len(chunks) > 5 and lines.height == 52
    bad = lines.filter(pl.col("msg").str.contains("bad"))["msg"][0]
    assert bad == "bad \ufffd\ufffd bytes"


def test_host_from_sibling_syslog_file() -> None:
    by_name = {s.path.name: s for s in sources.sources([REAL])}
    assert by_name["dovecot.log"].host == "mx01" and by_name["rspamd.log"].host == "mx01"


def test_host_from_directory_name_and_overrides(tmp_path: Path) -> None:
    d = tmp_path / "imap2"
    d.mkdir()
    (d / "dovecot.log").write_bytes(DOVECOT)
    assert sources.sources([d])[0].host == "imap2"
    assert sources.sources([d], host="forced")[0].host == "forced"
    assert sources.sources([d], hosts={str(d): "cfg"})[0].host == "cfg"
    flat = tmp_path / "logs"
    flat.mkdir()
    (flat / "dovecot.log").write_bytes(DOVECOT)
    assert sources.sources([flat])[0].host is None


def test_year_from_mtime_or_override(tmp_path: Path) -> None:
    f = tmp_path / "mail.log"
    f.write_bytes(SYSLOG)
    stamp = dt.datetime(2031, 3, 1).timestamp()
    os.utime(f, (stamp, stamp))
    t = next(sources.read_chunks(sources.sources([f])[0]))["time"][0]
    assert t == dt.datetime(2030, 11, 27, 5, 39, 56)  # November read in March: last year
    t = next(sources.read_chunks(sources.sources([f], year=2024)[0]))["time"][0]
    assert t.year == 2024


def test_chunks_that_look_compressed_are_read_as_text() -> None:
    """Polars' line reader sniffs gzip/zlib/zstd magic bytes: a hostile log starting with
    them must still be read as lines (zlib-looking bytes were silently dropped)."""
    from tracemail_tui.store.sources import _decode

    for data in (b"x\x01\x00\x00\n", b"\x1f\x8bxx\r\nnext\n", b"(\xb5/\xfdab\nc\n", b"x\x9c\n"):
        got = _decode(data).to_list()
        assert got and got == [ln.rstrip("\r") for ln in
                               data.decode("utf-8", "replace").split("\n") if ln], data
