"""`tracemail ingest` / `store info|prune|forget` end to end on the real fixture logs."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from export_data import pdf_text
from typer.testing import CliRunner

from tracemail_tui.cli import app
from tracemail_tui.cli.store_cmds import open_store

GENERATED = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")

REAL = Path(__file__).parent / "fixtures" / "real"


@pytest.fixture(autouse=True)
def _keep_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixtures are from 2026-11-27: keep them whatever today's date is."""
    monkeypatch.setenv("TRACEMAIL_RETENTION_DAYS", "100000")


def test_ingest_info_forget_prune(tmp_path: Path) -> None:
    logs, store = tmp_path / "logs", tmp_path / "store"
    logs.mkdir()
    for name in ("mail.log", "dovecot.log"):
        shutil.copy(REAL / name, logs / name)
    run = CliRunner().invoke
    res = run(app, ["ingest", str(logs), "--store", str(store)])
    assert res.exit_code == 0, res.output
    assert "ingested 278 lines" in res.output
    # Again: nothing new, nothing read twice.
    res = run(app, ["ingest", str(logs), "--store", str(store)])
    assert "ingested 0 lines" in res.output
    info = json.loads(run(app, ["store", "info", "--store", str(store), "--format", "json"]).output)
    assert info["rows"]["lines"] == 278 and len(info["days"]) == 1
    res = run(app, ["store", "forget", "alice@example.com", "--store", str(store)])
    mentions = [
        ln
        for name in ("mail.log", "dovecot.log")
        for ln in (REAL / name).read_text().lower().splitlines()
        if "alice@example.com" in ln or "alice+news@example.com" in ln
    ]
    assert res.exit_code == 0 and f"lines {len(mentions)}" in res.output
    raw = open_store(store).scan("lines").collect()["raw"]
    assert not raw.str.contains("alice@example.com").any()
    res = run(app, ["store", "prune", "--before", "9999-01-01", "--store", str(store)])
    assert f"removed 1 days: {info['days'][0]}" in res.output
    assert open_store(store).scan("lines").collect().height == 0


def test_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    run = CliRunner().invoke
    res = run(app, ["store", "info", "--store", str(tmp_path / "none")])
    assert res.exit_code == 2 and "no tracemail store" in res.output
    res = run(app, ["ingest", str(tmp_path / "missing"), "--store", str(tmp_path / "s")])
    assert res.exit_code == 2 and "no such file" in res.output
    res = run(app, ["store", "prune", "--before", "yesterday", "--store", str(tmp_path)])
    assert res.exit_code == 2 and "bad date" in res.output


def test_rows_past_retention_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEMAIL_RETENTION_DAYS", "1")
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(REAL / "mail.log", logs / "mail.log")
    old = 1_600_000_000  # 2020: year-less stamps read as 2020, long past retention
    os.utime(logs / "mail.log", (old, old))
    res = CliRunner().invoke(app, ["ingest", str(logs), "--store", str(tmp_path / "s")])
    assert res.exit_code == 0
    assert "rows older than the 1-day retention window were not stored" in res.output


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[Path, Path]:
    """The real fixture logs in a directory, and a store `tracemail ingest` made of them."""
    logs, store = tmp_path / "logs", tmp_path / "store"
    logs.mkdir()
    for name in ("mail.log", "dovecot.log", "rspamd.log", "clamav.log"):
        shutil.copy(REAL / name, logs / name)
    assert CliRunner().invoke(app, ["ingest", str(logs), "--store", str(store)]).exit_code == 0
    return logs, store


def test_search_store_equals_search_logs(ingested: tuple[Path, Path]) -> None:
    logs, store = ingested
    run = CliRunner().invoke
    for view in ("accesses", "received", "sent"):
        from_logs = run(app, ["search", view, str(logs), "-f", "json"])
        from_store = run(app, ["search", view, "--store", str(store), "-f", "json"])
        assert from_store.exit_code == 0, from_store.output
        assert json.loads(from_store.output) == json.loads(from_logs.output)
        assert len(json.loads(from_store.output)) > 0
    # --text narrows both sources alike
    every = json.loads(run(app, ["search", "received", str(logs), "-f", "json"]).output)
    narrowed = [json.loads(run(app, ["search", "received", *where, "-t", "PARTNER.test",
                                     "-f", "json"]).output)
                for where in ([str(logs)], ["--store", str(store)])]
    assert narrowed[0] == narrowed[1] and 0 < len(narrowed[0]) < len(every)
    both = run(app, ["search", "sent", str(logs), "--store", str(store)])
    assert both.exit_code == 2 and "not both" in both.output
    # --top and --where (a reason pattern) count and narrow both sources alike
    for args in (["--top", "reason", "-f", "json"],
                 ["--where", "reason=host … said: 451 4.3.0 <…>: Temporary lookup failure, "
                  "try again later (lab sink) (in reply to RCPT TO command)", "-f", "json"]):
        got = [json.loads(run(app, ["search", "sent", *where, *args]).output)
               for where in ([str(logs)], ["--store", str(store)])]
        assert got[0] == got[1] and len(got[0]) > 1


def test_locate_store_equals_locate_logs(ingested: tuple[Path, Path]) -> None:
    """`locate --store`: where a message is now from 30 days of history, without reading
    the logs again; the same answer as from the logs."""
    logs, store = ingested
    run = CliRunner().invoke
    states = []
    for mid, account in (("r12.6acd47.228290@partner.test", "alice@example.com"),
                         ("<r14.6acd47.6a103b@partner.test>", "gina@example.com"),
                         ("<r01.6acd47.21d421@partner.test>", "bob@example.com")):
        from_logs = run(app, ["locate", mid, "-a", account, str(logs), "-f", "json"])
        from_store = run(app, ["locate", mid, "-a", account, "--store", str(store), "-f", "json"])
        assert from_store.exit_code == 0, from_store.output
        assert json.loads(from_store.output) == json.loads(from_logs.output)
        states.append(json.loads(from_store.output)["state"])
    assert states[0] != "unknown" and states[1] != "unknown" and states[2] == "unknown"
    both = run(app, ["locate", "x@y", "-a", "a@b.c", str(logs), "--store", str(store)])
    assert both.exit_code == 2 and "not both" in both.output


def test_report_store_equals_report_logs(tmp_path: Path,
                                        ingested: tuple[Path, Path]) -> None:
    """`report --store`: the PDF of one result from the store (its rows, raw lines and
    mailbox events) says what the report from the logs says, but for where it came from."""
    logs, store = ingested
    run = CliRunner().invoke
    rows = json.loads(run(app, ["search", "received", str(logs), "-f", "json"]).output)
    rid = next(r["id"] for r in rows if r["queue_id"] == "605D5162539")  # R12
    texts = {}
    for how, where in (("logs", [str(logs)]), ("store", ["--store", str(store)])):
        res = run(app, ["report", "received", rid, *where, "-o", str(tmp_path / f"{how}.pdf")])
        assert res.exit_code == 0, res.output
        texts[how] = pdf_text((tmp_path / f"{how}.pdf").read_bytes())
    assert "605D5162539: client=unknown[127.0.0.10]" in texts["store"]  # a raw log line
    assert "Trash" in texts["store"]  # where it is now (locate)
    def body(text: str, where: Path) -> list[str]:
        # The generation minute sits in the page footers and may differ between the
        # two reports; blank it rather than drop the footer lines.
        return [GENERATED.sub("generated <time>", ln) for ln in text.splitlines()
                if str(where) not in ln and not ln.startswith("generated ")]

    assert body(texts["store"], store) == body(texts["logs"], logs)
    missing = run(app, ["report", "received", "r-nope", "--store", str(store), "-o",
                        str(tmp_path / "x.pdf")])
    assert missing.exit_code == 2 and "in the store" in missing.output


def test_store_and_logs_give_the_same_order_when_rows_share_a_second(tmp_path: Path) -> None:
    """Rows of one second are ordered by id in both, not by whichever arrived first."""
    from tracemail_tui.gen import generate

    logs, store = tmp_path / "logs", tmp_path / "store"
    generate(logs, seed=11, lines=20_000, days=0.05)  # dense: many rows per second
    run = CliRunner().invoke
    assert run(app, ["ingest", str(logs), "--store", str(store)]).exit_code == 0
    for view in ("accesses", "received", "sent"):
        from_logs = json.loads(run(app, ["search", view, str(logs), "-f", "json"]).output)
        from_store = json.loads(run(app, ["search", view, "--store", str(store), "-f", "json"])
                                .output)
        times = [r["time"] for r in from_logs]
        assert len(times) > len(set(times)), "no shared seconds: the test proves nothing"
        assert [r["id"] for r in from_store] == [r["id"] for r in from_logs], view
        assert from_store == from_logs, view
