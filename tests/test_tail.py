"""The tailer on temp files: append, rotation, copytruncate, gzip, truncation, restarts."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from tracemail_tui.store import logfiles
from tracemail_tui.store.tail import Batch, Checkpoint, Tailer

REAL = Path(__file__).parent / "fixtures" / "real"


def lines_of(batches: list[Batch]) -> list[str]:
    return [ln for b in batches for ln in b.lines]


def poll(t: Tailer) -> list[str]:
    return lines_of(list(t.poll()))


def write(path: Path, text: str | bytes, mode: str = "a") -> None:
    data = text.encode() if isinstance(text, str) else text
    with open(path, mode + "b") as f:
        f.write(data)


def seq(a: int, b: int) -> str:
    return "".join(f"line {i}\n" for i in range(a, b))


def want(a: int, b: int) -> list[str]:
    return [f"line {i}" for i in range(a, b)]


def age(path: Path, seconds: float = 60) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_appended_lines_and_partial_last_line(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, "first\nsec")
    t = Tailer([tmp_path])
    assert poll(t) == ["first"]
    assert poll(t) == []  # the partial line waits for its newline
    write(log, "ond\nthird\n")
    assert poll(t) == ["second", "third"]
    assert poll(t) == []


def test_real_lines_and_offsets(tmp_path: Path) -> None:
    src = (REAL / "mail.log").read_bytes()
    log = tmp_path / "mail.log"
    log.write_bytes(src)
    batches = list(Tailer([log], batch_bytes=4096).poll())
    assert lines_of(batches) == src.decode().splitlines()
    assert all(len(b.data) <= 4096 for b in batches)
    # Each line starts at the offset the batch says it does.
    for b in batches:
        for off, line in zip(b.line_offsets(), b.lines, strict=True):
            assert src[off : off + len(line.encode())].decode() == line
    assert batches[-1].end == len(src) == batches[-1].checkpoint.offset


def test_invalid_utf8_is_replaced_not_dropped(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, b"ok \xff\xfe bad\r\nnext\n")
    assert poll(Tailer([log])) == ["ok \ufffd\ufffd bad", "next"]


def test_rename_rotation_finishes_old_file_first(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 5))
    t = Tailer([tmp_path])
    assert poll(t) == want(0, 5)
    write(log, seq(5, 8))  # not yet read when logrotate renames it
    log.rename(tmp_path / "mail.log.1")
    write(log, seq(10, 12))
    write(tmp_path / "mail.log.1", seq(8, 10))  # the daemon still writes the old inode
    assert poll(t) == want(0, 12)[5:]
    assert t.stats.rotations == 1
    write(log, seq(12, 13))
    assert poll(t) == want(12, 13)


def test_copytruncate(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 10))
    t = Tailer([tmp_path])
    assert poll(t) == want(0, 10)
    write(log, seq(10, 15))  # written after our last read, before the copy
    shutil.copyfile(log, tmp_path / "mail.log.1")
    os.truncate(log, 0)
    write(log, seq(15, 20))
    assert poll(t) == want(10, 20)
    assert t.stats.truncations == 1


def test_copy_made_but_not_yet_truncated(tmp_path: Path) -> None:
    """Between logrotate's copy and its truncate both files hold the same lines."""
    log = tmp_path / "mail.log"
    write(log, seq(0, 3))
    t = Tailer([tmp_path])
    assert poll(t) == want(0, 3)
    write(log, seq(3, 6))
    shutil.copyfile(log, tmp_path / "mail.log.1")
    assert poll(t) == want(3, 6)  # once, though two files hold them
    os.truncate(log, 0)
    write(log, seq(6, 7))
    assert poll(t) == want(6, 7)


def test_truncation_and_rewrite_between_polls(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 3))
    t = Tailer([log])
    assert poll(t) == want(0, 3)
    os.truncate(log, 0)
    assert poll(t) == []
    write(log, seq(3, 5))
    assert poll(t) == want(3, 5)
    # Truncated and rewritten *longer* than before, same inode: the first line tells.
    write(log, "other start\n" + seq(5, 20), mode="w")
    assert poll(t) == ["other start", *want(5, 20)]
    assert t.stats.truncations == 2


def test_backfill_order_with_gzip(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "mail.log.2.gz", "wb") as f:
        f.write(seq(0, 4).encode())
    write(tmp_path / "mail.log.1", seq(4, 8))
    write(tmp_path / "mail.log", seq(8, 10))
    write(tmp_path / "dovecot.log", "dv\n")
    write(tmp_path / "unrelated.txt", "no\n")
    age(tmp_path / "mail.log.2.gz")
    got = [(Path(b.path).name, b.lines) for b in Tailer([tmp_path]).poll()]
    assert got == [
        ("dovecot.log", ["dv"]),
        ("mail.log.2.gz", want(0, 4)),
        ("mail.log.1", want(4, 8)),
        ("mail.log", want(8, 10)),
    ]


def test_rotated_file_compressed_after_reading_is_not_read_again(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 5))
    t = Tailer([tmp_path])
    assert poll(t) == want(0, 5)
    log.rename(tmp_path / "mail.log.1")
    write(log, seq(5, 6))
    assert poll(t) == want(5, 6)
    # logrotate's delayed compression: mail.log.1 -> mail.log.2.gz
    with gzip.open(tmp_path / "mail.log.2.gz", "wb") as f:
        f.write((tmp_path / "mail.log.1").read_bytes())
    (tmp_path / "mail.log.1").unlink()
    age(tmp_path / "mail.log.2.gz")
    assert poll(t) == []
    # ... nor after a restart from the checkpoints.
    saved = json.loads(json.dumps([c.to_dict() for c in t.checkpoints()]))
    t2 = Tailer([tmp_path], checkpoints=[Checkpoint.from_dict(d) for d in saved])
    assert poll(t2) == []


def test_gzip_compressed_before_the_tail_was_read(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 5))
    t = Tailer([tmp_path])
    assert poll(t) == want(0, 5)
    cps = t.checkpoints()
    t.close()
    write(log, seq(5, 9))
    with gzip.open(tmp_path / "mail.log.1.gz", "wb") as f:
        f.write(log.read_bytes())
    log.unlink()
    write(log, seq(9, 10))
    age(tmp_path / "mail.log.1.gz")
    assert poll(Tailer([tmp_path], checkpoints=cps)) == want(5, 10)


def test_fresh_gzip_waits_until_logrotate_is_done(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "mail.log.1.gz", "wb") as f:
        f.write(seq(0, 2).encode())
    t = Tailer([tmp_path])
    assert poll(t) == []  # mtime is now: it may still be being written
    age(tmp_path / "mail.log.1.gz")
    assert poll(t) == want(0, 2)
    assert poll(t) == []


def test_restart_mid_stream_from_checkpoints(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 100))
    t = Tailer([log], batch_bytes=256)
    it = t.poll()
    first = [next(it), next(it)]  # consumer stops (crash) after two batches
    saved = first[-1].checkpoint
    write(log, seq(100, 110))
    t2 = Tailer([log], checkpoints=[saved], batch_bytes=256)
    assert lines_of(first) + poll(t2) == want(0, 110)


def test_bounded_batches_under_a_burst(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 200_000))
    t = Tailer([log], batch_bytes=64 << 10)
    n = 0
    last = -1
    for b in t.poll():
        assert len(b.data) <= 64 << 10
        assert b.lines[0] == f"line {last + 1}"
        last = int(b.lines[-1].split()[1])
        n += len(b.lines)
    assert n == 200_000 and t.stats.lines == 200_000


def test_line_longer_than_a_batch_is_emitted(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, "x" * 3000 + "\nshort\n")
    got = poll(Tailer([log], batch_bytes=1024))
    assert "".join(got[:-1]) == "x" * 3000 and got[-1] == "short"


def test_unreadable_file_is_counted_and_warned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "mail.log", "a\n")
    write(tmp_path / "dovecot.log", "b\n")
    real_open = os.open

    def deny(path: str, *args: object) -> int:
        if str(path).endswith("mail.log"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args)  # type: ignore[arg-type]

    warnings: list[str] = []
    monkeypatch.setattr(os, "open", deny)
    t = Tailer([tmp_path], on_warning=warnings.append)
    assert poll(t) == ["b"]
    assert poll(t) == []
    assert t.stats.unreadable == 2 and len(warnings) == 1  # counted each time, warned once
    assert "mail.log" in warnings[0] and "Permission denied" in warnings[0]
    monkeypatch.setattr(os, "open", real_open)
    assert poll(t) == ["a"]  # readable again: picked up


def test_directory_that_disappears_and_comes_back(tmp_path: Path) -> None:
    d = tmp_path / "logs"
    d.mkdir()
    write(d / "mail.log", seq(0, 2))
    t = Tailer([d])
    assert poll(t) == want(0, 2)
    shutil.rmtree(d)
    assert poll(t) == []
    assert logfiles.watch_targets((str(d),)) == (str(tmp_path),)
    d.mkdir()
    write(d / "mail.log", seq(2, 4))
    assert poll(t) == want(2, 4)


def test_include_exclude_and_rotation_families(tmp_path: Path) -> None:
    for name in (
        "mail.log",
        "mail.log-20261126",
        "mail.log-20261125.gz",
        "dovecot-imap.log",
        "rspamd.log",
        "mail.log.3.bz2",
        "notes.txt",
        "userlogins",
        "postfix.log.20261126-031500.gz",
        "syslog",
    ):
        write(tmp_path / name, "x\n")
    names = [Path(f.path).name for f in logfiles.discover((str(tmp_path),))]
    assert names == [
        "dovecot-imap.log",
        "mail.log-20261125.gz",
        "mail.log-20261126",
        "mail.log",
        "postfix.log.20261126-031500.gz",
        "rspamd.log",
        "userlogins",
    ]
    only = logfiles.discover((str(tmp_path),), include=("rspamd.log",))
    assert [Path(f.path).name for f in only] == ["rspamd.log"]


def test_postfix_logrotate_names_are_one_family(tmp_path: Path) -> None:
    """`postfix logrotate` renames Postfix's own maillog_file to mail.log.YYYYMMDD-HHMMSS
    and gzips it: those files are read (the default include names `mail.log`), oldest
    first, before the live file."""
    with gzip.open(tmp_path / "mail.log.20261125-031500.gz", "wb") as f:
        f.write(seq(0, 2).encode())
    write(tmp_path / "mail.log.20261126-031500", seq(2, 4))
    write(tmp_path / "mail.log", seq(4, 6))
    age(tmp_path / "mail.log.20261125-031500.gz")
    got = [(Path(b.path).name, b.lines) for b in Tailer([tmp_path]).poll()]
    assert got == [
        ("mail.log.20261125-031500.gz", want(0, 2)),
        ("mail.log.20261126-031500", want(2, 4)),
        ("mail.log", want(4, 6)),
    ]


def test_postfix_logrotate_while_following_reads_nothing_twice(tmp_path: Path) -> None:
    """Rename, new live file, then gzip of the renamed one (a new inode, same first line)."""
    log = tmp_path / "mail.log"
    write(log, seq(0, 3))
    t = Tailer([tmp_path])
    assert poll(t) == want(0, 3)
    rotated = tmp_path / "mail.log.20261127-131500"
    log.rename(rotated)
    write(rotated, seq(3, 4))  # written by postlogd before it reopened the file
    write(log, seq(4, 5))
    assert poll(t) == want(3, 5)
    with gzip.open(tmp_path / "mail.log.20261127-131500.gz", "wb") as f:
        f.write(rotated.read_bytes())
    rotated.unlink()
    age(tmp_path / "mail.log.20261127-131500.gz")
    write(log, seq(5, 6))
    assert poll(t) == want(5, 6)


def test_follow_with_watchfiles(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 1))
    stop = threading.Event()
    t = Tailer([tmp_path])
    got: list[str] = []

    def writer() -> None:
        for i in range(1, 4):
            time.sleep(0.05)
            write(log, seq(i, i + 1))
        log.rename(tmp_path / "mail.log.1")
        write(log, seq(4, 6))

    th = threading.Thread(target=writer)
    th.start()
    deadline = time.monotonic() + 10
    for b in t.follow(stop, debounce_ms=50, step_ms=10, timeout_ms=200):
        got += b.lines
        if len(got) >= 6 or time.monotonic() > deadline:
            stop.set()
    th.join()
    assert got == want(0, 6)


def test_truncated_while_not_running_is_read_again_and_reported(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    write(log, seq(0, 10))
    t = Tailer([log])
    assert poll(t) == want(0, 10)
    saved = t.checkpoints()
    write(log, seq(0, 3), mode="w")  # same first line, shorter: truncated and rewritten
    warned: list[str] = []
    t2 = Tailer([log], checkpoints=saved, on_warning=warned.append)
    assert poll(t2) == want(0, 3)
    assert t2.stats.truncations == 1
    assert len(warned) == 1 and "was truncated" in warned[0]
    # Truncated under a running tailer: reported once, not once per code path.
    write(log, seq(0, 1), mode="w")
    assert poll(t2) == want(0, 1)
    assert t2.stats.truncations == 2 and len(warned) == 2
