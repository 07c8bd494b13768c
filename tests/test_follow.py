"""`tracemail search --follow`: rows as they happen, on real Postfix lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from tracemail_tui.cli.follow import changes

REAL = Path(__file__).parent / "fixtures" / "real"
ROOT = Path(__file__).resolve().parents[1]


def test_changes_prints_new_and_changed_rows_once() -> None:
    seen = pl.DataFrame(schema={"id": pl.String, "_h": pl.UInt64})
    first = pl.DataFrame({"id": ["a", "b"], "status": ["queued", "delivered"]})
    out, seen = changes(seen, first)
    assert out.get_column("id").to_list() == ["a", "b"]
    out, seen = changes(seen, first)
    assert out.height == 0  # nothing new: nothing printed
    later = pl.DataFrame({"id": ["a", "b", "c"], "status": ["delivered", "delivered", "queued"]})
    out, seen = changes(seen, later)
    assert out.rows() == [("a", "delivered"), ("c", "queued")]  # a changed, c is new


def _wait_for(path: Path, wanted: str, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text("utf-8")
        if wanted in text:
            return text
        assert proc.poll() is None, path.with_suffix(".err").read_text("utf-8")
        time.sleep(0.2)
    raise AssertionError(f"{wanted!r} not printed within {timeout} s: {path.read_text('utf-8')}")


def test_follow_prints_rows_as_the_log_grows_and_cleans_up(tmp_path: Path) -> None:
    """The first 100 lines of the real mail.log, then the rest: S02 (alice's bounced mail)
    is printed only once its lines are written; SIGTERM ends it, the scratch store goes."""
    logs, scratch = tmp_path / "logs", tmp_path / "tmp"
    logs.mkdir()
    scratch.mkdir()
    lines = (REAL / "mail.log").read_text("utf-8").splitlines(keepends=True)
    (logs / "mail.log").write_text("".join(lines[:100]), "utf-8")
    out, err = tmp_path / "out.jsonl", tmp_path / "out.err"
    env = {**os.environ, "TRACEMAIL_CONFIG": "/nonexistent.toml", "TMPDIR": str(scratch),
           "PYTHONPATH": str(ROOT)}
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracemail_tui", "search", "sent", str(logs), "--follow",
             "-f", "jsonl", "--for", "120"], stdout=fo, stderr=fe, env=env)
        try:
            before = _wait_for(out, "carol.private@partner.test", proc, 60)
            assert "2C1B3162575" not in before  # S02 is not in the first 100 lines
            with (logs / "mail.log").open("a", encoding="utf-8") as fh:
                fh.write("".join(lines[100:]))
            _wait_for(out, '"queue_id":"2C1B3162575"', proc, 60)
            time.sleep(1.5)  # one more poll: nothing is printed twice
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "a row printed twice without changing"
    s02 = next(r for r in rows if r["queue_id"] == "2C1B3162575")
    assert (s02["status"], s02["recipient"], s02["bounce_notice"]) == (
        "rejected", "reject.me@example.net", "3D953162577")
    assert code == 128 + signal.SIGTERM and err.read_text("utf-8") == ""
    assert list(scratch.iterdir()) == []  # the scratch store is removed


def test_follow_refuses_what_cannot_stream(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tracemail_tui.cli.common import app

    run = CliRunner().invoke
    env = {"TRACEMAIL_CONFIG": "/nonexistent.toml"}
    for args, message in ((["--top", "reason"], "not with --top"),
                          (["-f", "json"], "use jsonl"),
                          (["--store", str(tmp_path / "nope")], ""),
                          ([str(tmp_path / "missing")], "no such file or directory")):
        res = run(app, ["search", "sent", "--follow", *args], env=env)
        assert res.exit_code == 2 and message in res.stderr, res.stderr
    res = run(app, ["search", "sent", str(REAL), "--for", "3"], env=env)
    assert res.exit_code == 2 and "--for goes with --follow" in res.stderr
    res = run(app, ["search", "sent", str(REAL), "--follow", "--year", "2025"], env=env)
    assert res.exit_code == 2 and "do not go with --follow" in res.stderr


def test_follow_a_store_another_process_writes(tmp_path: Path) -> None:
    """`--store DIR`: the rows of a store `tracemail ingest` wrote (read-only), then its
    commits; here it ends after a second (`--for`)."""
    from typer.testing import CliRunner

    from tracemail_tui.cli.common import app

    run = CliRunner().invoke
    env = {"TRACEMAIL_CONFIG": "/nonexistent.toml", "TRACEMAIL_RETENTION_DAYS": "100000"}
    store = tmp_path / "store"
    assert run(app, ["ingest", str(REAL), "--store", str(store)], env=env).exit_code == 0
    res = run(app, ["search", "received", "--store", str(store), "--follow", "--for", "1",
                    "-f", "csv", "--status", "rejected"], env=env)
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("id,time,status,") and len(lines) == 1 + 5  # R06 R07 R11 …
    assert {line.split(",")[2] for line in lines[1:]} == {"rejected"}


def test_old_logs_are_followed_whole(tmp_path: Path) -> None:
    """The scratch store keeps every row: logs from two years ago are not 'past
    retention' for a search (a 30-day retention would have dropped them all)."""
    from typer.testing import CliRunner

    from tracemail_tui.cli.common import app

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "mail.log").write_bytes((REAL / "mail.log").read_bytes())
    old = time.mktime((2024, 12, 1, 12, 0, 0, 0, 0, -1))  # the year comes from the mtime
    os.utime(logs / "mail.log", (old, old))
    res = CliRunner().invoke(app, ["search", "sent", str(logs), "--follow", "--for", "5",
                                   "-f", "jsonl"], env={"TRACEMAIL_CONFIG": "/nonexistent.toml"})
    assert res.exit_code == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 11 and all(r["time"].startswith("2024-11-27") for r in rows)
