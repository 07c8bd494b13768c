"""locate: replay of the real mailbox events; the ground truth of the lab run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store.correlate.locate import locate, normalize_account
from tracemail_tui.store.parse import dovecot
from tracemail_tui.store.parse.header import split_lines
from tracemail_tui.store.schema import LOCATE_STATES

REAL_DIR = Path(__file__).parent / "fixtures" / "real"
REAL_LINES = (REAL_DIR / "dovecot.log").read_text(encoding="utf-8").splitlines()
ROOT = Path(__file__).parent.parent


def mailbox_of(lines: list[str]) -> pl.DataFrame:
    return dovecot.parse(split_lines(pl.Series(lines), host="mx01", year=2026)).mailbox


@pytest.fixture(scope="module")
def mailbox() -> pl.DataFrame:
    return mailbox_of(REAL_LINES)


@pytest.mark.parametrize(
    ("scenario", "message_id", "account", "state", "folder"),
    [
        ("R01", "<r01.6acd47.21d421@partner.test>", "alice@example.com", "in-folder", "INBOX"),
        ("R02", "<r02.6acd47.9dfa48@partner.test>", "alice+news@example.com", "in-folder", "News"),
        ("R03", "<r03.6acd47.7b6ed8@partner.test>", "bob@example.com", "in-folder", "Lists"),
        ("R08", "<r08.6acd47.1df793@remote.test>", "bob@example.com", "in-folder", "Junk"),
        ("R12", "<r12.6acd47.228290@partner.test>", "ALICE@EXAMPLE.COM", "in-folder", "Trash"),
        ("R13", "<r13.6acd47.6e7eb6@partner.test>", "gina@example.com", "downloaded-pop", None),
        ("S02", "<20261127054017.3D953162577@mx01.example.com>", "alice@example.com", "deleted",
         None),
        ("R04", "<r04.6acd47.f03e05@partner.test>", "carol@example.org", "unknown", None),
        ("R14", "<r14.6acd47.6a103b@partner.test>", "henry@example.org", "in-folder", "INBOX"),
    ],
)
def test_ground_truth(mailbox: pl.DataFrame, scenario: str, message_id: str, account: str,
                      state: str, folder: str | None) -> None:
    got = locate(mailbox, message_id, account)
    assert (got["state"], got["folder"]) == (state, folder), scenario
    assert got["state"] in LOCATE_STATES
    times = [h["time"] for h in got["history"]]
    assert times == sorted(times)


def test_history_of_a_move(mailbox: pl.DataFrame) -> None:
    got = locate(mailbox, "r12.6acd47.228290@partner.test", "alice@example.com")
    assert got["message_id"] == "<r12.6acd47.228290@partner.test>"
    assert [(h["event"], h["folder"]) for h in got["history"]] == [
        ("deliver", "INBOX"), ("move", "Trash")]
    move = got["history"][1]
    assert (move["time"], move["from_folder"], move["access_id"]) == (
        "2026-11-27T05:40:32", "INBOX", "a-mx01-K5Kkfzth461/AAAe")


def test_deleted_then_expunged_history(mailbox: pl.DataFrame) -> None:
    got = locate(mailbox, "<20261127054017.3D953162577@mx01.example.com>", "alice@example.com")
    assert [h["event"] for h in got["history"]] == ["deliver", "delete", "expunge"]


def test_other_account_sees_nothing(mailbox: pl.DataFrame) -> None:
    got = locate(mailbox, "<r01.6acd47.21d421@partner.test>", "bob@example.com")
    assert (got["state"], got["history"]) == ("unknown", [])


def test_multi_recipient_is_per_account(mailbox: pl.DataFrame) -> None:
    # R14 went to bob, gina (:R2) and henry (:R3): one arrival each, bob also flagged it
    bob = locate(mailbox, "<r14.6acd47.6a103b@partner.test>", "bob@example.com")
    assert [h["event"] for h in bob["history"]] == ["deliver", "flag_change"]
    gina = locate(mailbox, "<r14.6acd47.6a103b@partner.test>", "gina@example.com")
    assert [h["event"] for h in gina["history"]] == ["deliver"]


def test_normalize_account() -> None:
    assert normalize_account(" Alice+News@Example.COM ") == "alice@example.com"


def _line(t: str, proc: str, text: str) -> str:
    return f"Nov 27 {t} mx01 dovecot: {proc}: {text}"


def test_flag_only_rename_folder_delete_and_pop_retr_without_dele() -> None:
    imap = "imap(zoe@example.com)<7><S1>"
    lmtp = "lmtp(zoe@example.com)<8><L1>"
    pop = "pop3(zoe@example.com)<9><P1>"
    m1, m2, m3 = "<m1@x>", "<m2@x>", "<m3@x>"
    lines = [
        _line("06:00:00", lmtp, f"msgid={m1}: saved mail to INBOX"),
        _line("06:00:00", lmtp.replace("L1", "L2"), f"msgid={m2}: saved mail to Work"),
        _line("06:00:00", lmtp.replace("L1", "L3"), f"msgid={m3}: saved mail to INBOX"),
        _line("06:01:00", imap, f"delete: box=INBOX, uid=1, msgid={m1}, size=10"),
        _line("06:02:00", imap, "Mailbox renamed: Work -> Old/Work"),
        _line("06:03:00", imap, f"copy from Old/Work: box=Keep, uid=1, msgid={m2}, size=10"),
        _line("06:04:00", imap, "Mailbox deleted: Old/Work"),
        _line("06:05:00", pop, "Disconnected: Logged out top=0/0, retr=1/10, del=0/1, size=10"),
    ]
    mb = mailbox_of(lines)
    one = locate(mb, m1, "zoe@example.com")  # \Deleted, never expunged
    assert (one["state"], one["folder"]) == ("deleted", "INBOX")
    two = locate(mb, m2, "zoe@example.com")
    assert (two["state"], two["folder"]) == ("in-folder", "Keep")
    assert [h["event"] for h in two["history"]] == [
        "deliver", "mailbox_rename", "copy", "mailbox_delete"]
    three = locate(mb, m3, "zoe@example.com")  # RETR without DELE: still there
    assert (three["state"], three["folder"]) == ("in-folder", "INBOX")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracemail_tui", "locate", *args], cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )


def test_cli_json_and_text() -> None:
    got = _cli("<r12.6acd47.228290@partner.test>", str(REAL_DIR), "--account",
               "alice@example.com", "--host", "mx01", "--year", "2026", "--format", "json")
    assert got.returncode == 0, got.stderr
    data = json.loads(got.stdout)
    assert (data["state"], data["folder"]) == ("in-folder", "Trash")
    text = _cli("r13.6acd47.6e7eb6@partner.test", str(REAL_DIR), "-a", "gina@example.com",
                "--host", "mx01")
    assert text.returncode == 0 and "downloaded-pop" in text.stdout
    assert "pop3-delete" in text.stdout


def test_cli_errors_are_one_line_exit_2() -> None:
    got = _cli("<x@y>", str(REAL_DIR))
    assert got.returncode == 2 and got.stderr.count("\n") == 1 and "--account" in got.stderr
    bad = _cli("<x@y>", "/nonexistent/dir", "-a", "a@b.c")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_accepts_lazy_frames_and_stores(mailbox: pl.DataFrame) -> None:
    from tracemail_tui.store.query import MemoryStore

    mid, acct = "<r12.6acd47.228290@partner.test>", "alice@example.com"
    want = locate(mailbox, mid, acct)
    assert locate(mailbox.lazy(), mid, acct) == want
    assert locate(MemoryStore({"mailbox": mailbox}), mid, acct) == want
