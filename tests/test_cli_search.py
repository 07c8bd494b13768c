"""`tracemail search` / `tracemail stats` end to end through typer's CliRunner."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracemail_tui.cli.common import app

REAL = Path(__file__).parent / "fixtures" / "real"
runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), env=env or {"TRACEMAIL_CONFIG": "/nonexistent.toml"})
    return res.exit_code, res.stdout, res.stderr


def test_json_has_design_fields_iso_times_and_nulls() -> None:
    code, out, _ = invoke("search", "received", str(REAL), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 21
    r = next(r for r in rows if r["queue_id"] == "A62A116255C")
    assert r["time"] == "2026-11-27T05:39:56" and r["folder"] == "INBOX"
    assert r["reason"] is None and r["virus"] is None
    for field in ("id", "status", "sender", "recipient", "domain", "delivery", "spam_score"):
        assert field in r


def test_filters_status_account_domain_date() -> None:
    code, out, _ = invoke("search", "received", str(REAL), "-f", "jsonl", "--status", "rejected")
    assert code == 0
    rows = [json.loads(x) for x in out.splitlines()]
    assert len(rows) == 5 and {r["status"] for r in rows} == {"rejected"}
    code, out, _ = invoke("search", "sent", str(REAL), "-f", "json",
                          "--account", "GINA@example.com")
    assert {r["recipient"] for r in json.loads(out)} == {
        "accept.one@partner.test", "defer.two@remote.test", "bob@example.com"}
    code, out, _ = invoke("search", "accesses", str(REAL), "-f", "json", "--domain", "example.org",
                          "--since", "2026-11-27T05:40:19", "--until", "2026-11-27T05:40:20")
    assert [r["user"] for r in json.loads(out)] == ["henry@example.org"]
    code, out, _ = invoke("search", "sent", str(REAL), "-f", "json", "--date", "2026-11-28")
    assert code == 0 and json.loads(out) == []


def test_account_filter_finds_the_mailboxes_an_alias_expanded_to() -> None:
    """R14: sales@example.org is an alias of henry and gina; "did sales@ get the price list?"
    used to find nothing."""
    code, out, _ = invoke("search", "received", str(REAL), "-f", "json",
                          "--account", "Sales@example.org")
    assert code == 0
    assert sorted((r["recipient"], r["orig_recipient"]) for r in json.loads(out)) == [
        ("gina@example.com", "sales@example.org"), ("henry@example.org", "sales@example.org")]


def test_text_filter_matches_like_the_apps_slash_filter() -> None:
    """`--text`: a queue id from a bounce (any case), a client name, an attacker's IP."""
    code, out, _ = invoke("search", "received", str(REAL), "-f", "json", "-t", "605d5162539")
    assert code == 0
    assert [(r["queue_id"], r["recipient"]) for r in json.loads(out)] == [
        ("605D5162539", "alice@example.com")]
    code, out, _ = invoke("search", "accesses", str(REAL), "-f", "json", "--text", "outlook")
    assert [r["client"] for r in json.loads(out)] == ["Microsoft Outlook 16.0.17928.20114"]
    code, out, _ = invoke("search", "accesses", str(REAL), "-f", "json", "--text", "127.0.0.31",
                          "--status", "failed")
    assert sorted(r["error"] for r in json.loads(out)) == [
        "auth-failed", "auth-failed", "auth-failed", "plaintext-disallowed", "unknown-user"]
    code, out, _ = invoke("search", "sent", str(REAL), "-f", "json", "-t", "no such text")
    assert code == 0 and json.loads(out) == []


def test_csv_and_output_file(tmp_path: Path) -> None:
    target = tmp_path / "sent.csv"
    code, out, _ = invoke("search", "sent", str(REAL), "-f", "csv", "-o", str(target))
    assert code == 0 and out == ""
    text = target.read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 11 and rows[0]["id"].startswith("s-mx01-")


def test_table_escapes_hostile_content(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_bytes(
        b"Nov 27 05:40:09 mx01 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: "
        b"550 5.1.1 <a@b.c>: \x1b]0;pwned\x07 [bold]x[/] \xff\xfe; from=<e\x1b[31m@x.y> "
        b"to=<a@b.c> proto=ESMTP helo=<h>\n"
    )
    code, out, _ = invoke("search", "received", str(log))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07" in out and "[bold]x[/]" in out and "\ufffd" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "nope", str(REAL)], "unknown view"),
        (["search", "sent", "/does/not/exist"], "no such file"),
        (["search", "sent", str(REAL), "--status", "accepted"], "unknown status"),
        (["search", "sent", str(REAL), "--format", "xml"], "unknown format"),
        (["search", "sent", str(REAL), "--date", "27/11/2026"], "--date"),
        (["search", "sent", str(REAL), "--since", "yesterday"], "--since"),
        (["stats", str(REAL), "--format", "yaml"], "unknown format"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str], message: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("tracemail: error:")


def test_no_path_uses_tracemail_logs_or_explains() -> None:
    code, _, err = invoke("search", "sent")
    assert code == 2 and "TRACEMAIL_LOGS" in err
    env = {"TRACEMAIL_CONFIG": "/nonexistent.toml", "TRACEMAIL_LOGS": f"{REAL / 'mail.log'}"}
    code, out, _ = invoke("search", "sent", "-f", "json", env=env)
    assert code == 0 and len(json.loads(out)) == 11


def test_stats_reports_zero_unparsed_for_the_daemons() -> None:
    code, out, _ = invoke("stats", str(REAL), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["lines"] == 852 and data["hosts"] == ["mx01"]
    assert data["first_time"] == "2026-11-27T05:39:52"
    for prog, n in data["unparsed"].items():
        assert not prog.startswith(("postfix", "dovecot", "rspamd")), (prog, n)
    assert data["programs"]["dovecot"] == 92 and data["programs"]["rspamd"] == 531
    code, out, _ = invoke("stats", str(REAL))
    assert code == 0 and "lines read: 852" in out and "postfix/cleanup" in out


def test_stats_samples_show_unparsed_lines_only_when_asked(tmp_path: Path) -> None:
    """`--samples`: up to 3 distinct unparsed lines per program (log content, escaped),
    for Postfix, Dovecot, Rspamd, other programs and unreadable lines; never without."""
    log = tmp_path / "mail.log"
    rspamd_odd = ("2026-11-27 05:01:05 #3237(rspamd_proxy) <40024c>; proxy; "
                  "rspamd_task_write_log: id: <m@x>, something unheard of")
    log.write_text("\n".join([
        "Nov 27 05:01:01 mx01 postfix/smtp[1]: 3F2A1162555: a brand new \x1b[31mform",
        *(f"Nov 27 05:01:0{i} mx01 postfix/smtp[1]: 3F2A1162555: odd {i}" for i in range(2, 6)),
        "Nov 27 05:01:02 mx01 postfix/smtp[1]: 3F2A1162555: odd 2",
        " garbage line without a header",
        "Nov 27 05:01:03 mx01 sshd[9]: Accepted publickey for root",
        "Nov 27 05:01:04 mx01 dovecot: imap(a@b.test)<1><s>: Something new here",
    ]) + "\n", "utf-8")
    (tmp_path / "rspamd.log").write_text(rspamd_odd + "\n", "utf-8")
    code, out, _ = invoke("stats", str(tmp_path), "-f", "json", "--samples")
    assert code == 0
    got = json.loads(out)["unparsed_samples"]
    assert got["postfix/smtp"] == ["3F2A1162555: a brand new \x1b[31mform",
                                   "3F2A1162555: odd 2", "3F2A1162555: odd 3"]
    assert got["dovecot"] == ["imap(a@b.test)<1><s>: Something new here"]
    assert got["sshd"] == ["Accepted publickey for root"]
    assert got["(unreadable header)"] == [" garbage line without a header"]
    assert got["rspamd"] == ["rspamd_task_write_log: id: <m@x>, something unheard of"]
    code, out, _ = invoke("stats", str(tmp_path), "--samples")
    assert "unparsed postfix/smtp:\n  3F2A1162555: a brand new \\x1b[31mform\n" in out
    assert "\x1b" not in out
    code, out, _ = invoke("stats", str(tmp_path), "-f", "json")
    assert "unparsed_samples" not in json.loads(out) and "garbage" not in out
    code, out, _ = invoke("stats", str(REAL), "-f", "json", "--samples")
    assert not any(p.startswith(("postfix", "dovecot", "rspamd"))
                   for p in json.loads(out)["unparsed_samples"])


def test_stats_pickled_before_samples_existed_still_take_them() -> None:
    """A live ingest restores its engine (and its Stats) from a pickle after an upgrade."""
    import pickle

    from tracemail_tui.store.stats import Stats

    old = Stats()
    del old.__dict__["samples"]
    restored = pickle.loads(pickle.dumps(old))
    restored.add_samples({"postfix/smtp": "odd line"})
    assert restored.samples == {"postfix/smtp": ["odd line"]}


def test_rotated_and_gz_files_in_a_directory(tmp_path: Path) -> None:
    lines = (REAL / "mail.log").read_bytes().splitlines(keepends=True)
    host = tmp_path / "logs"
    host.mkdir()
    (host / "mail.log.2.gz").write_bytes(gzip.compress(b"".join(lines[:60])))
    (host / "mail.log.1").write_bytes(b"".join(lines[60:120]))
    (host / "mail.log").write_bytes(b"".join(lines[120:]))
    code, out, _ = invoke("search", "received", str(tmp_path), "-f", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 21 and all(r["server"] == "mx01" for r in rows)


def test_progress_line_only_on_a_terminal_and_cleared_after(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io
    import sys

    from tracemail_tui.cli import search as search_cmd

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(search_cmd, "PROGRESS_EVERY_S", 0.0)
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    with search_cmd._progress_line() as progress:
        assert progress is not None
        progress(50, 200)
        progress(200, 200)
    assert tty.getvalue() == "\rreading logs… 25%\rreading logs… 100%\r\x1b[K"
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with search_cmd._progress_line() as progress:
        assert progress is None
    assert pipe.getvalue() == ""
