"""PDF reports, read back with pypdf: fields, log lines, explanations, Unicode, hostile text."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from export_data import (
    BIDI_SUBJECT,
    CHINESE_SUBJECT,
    EMOJI_SUBJECT,
    a01,
    a04,
    evidence,
    pdf_text,
    r06,
    r12,
    r12_locate,
    received_frame,
    s02,
)
from pypdf import PdfReader
from typer.testing import CliRunner

import tracemail_tui
from tracemail_tui.cli import report as report_cli
from tracemail_tui.cli.common import app
from tracemail_tui.export import explain as ex
from tracemail_tui.export.fields import design_fields
from tracemail_tui.export.pdf_list import write_list_pdf
from tracemail_tui.export.pdf_report import event_text, write_result_pdf
from tracemail_tui.export.redact import Redactor
from tracemail_tui.export.text import show
from tracemail_tui.store import schema

R12_LINES = ("605D5162539", "r12.6acd47")


def squash(text: str) -> str:
    """Whitespace removed: table cells and log lines wrap wherever the width ends."""
    return "".join(text.split())


def result_pdf(row: dict[str, Any], view: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    write_result_pdf(row, out, view=view, **kwargs)
    return out.getvalue()


def assert_contains(haystack: str, needle: str) -> None:
    assert squash(needle) in squash(haystack), f"missing from PDF: {needle!r}"


def test_received_report_has_every_field_lines_locate_and_explanation() -> None:
    row, lines, locate = r12(), evidence(*R12_LINES), r12_locate()
    query = {"domain": "example.com", "date": "2026-11-27", "status": "accepted"}
    text = pdf_text(result_pdf(row, "received", lines=lines, locate=locate, query=query))
    assert "Report: received message" in text
    assert "✔ accepted" in text
    for name in design_fields("received"):
        assert_contains(text, name)
        assert_contains(text, show(row[name]))  # null → "—", hostile text escaped
    for raw in lines.get_column("raw"):
        assert_contains(text, raw)  # wrapped, never cut
    for paragraph in ex.explain("received", row, locate):
        assert_contains(text, paragraph)
    for value in ("in-folder", "Trash", "expunge", "example.com", "2026-11-27",
                  f"tracemail {tracemail_tui.__version__}", "generated"):
        assert_contains(text, value)
    assert "page 1 of" in text


def test_hostile_subject_comes_out_literally() -> None:
    text = pdf_text(result_pdf(r12(), "received"))
    # Rich markup is text, escapes are shown, never interpreted
    assert_contains(text, r"[bold red]URGENT[/] \x1b[31mred alert\x1b[0m \x1b]0;pwned\x07")
    assert_contains(text, "<script>x</script>")
    assert "\x1b" not in text and "\x07" not in text


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (CHINESE_SUBJECT, "季度报告：请查收附件 ✔"),
        (EMOJI_SUBJECT, "Party 😀 tonight [U+1F4E7]"),  # no glyph anywhere → placeholder
        (BIDI_SUBJECT, r"invoice \u202egnp.exe"),  # bidi override made visible
        ("Grüße aus Köln – Angebot für Q4 ✉ (Ünïcödé)", "Grüße aus Köln – Angebot für Q4 ✉"),
    ],
)
def test_unicode_subjects_render(subject: str, expected: str) -> None:
    text = pdf_text(result_pdf(r12() | {"subject": subject}, "received"))
    assert_contains(text, expected)


def test_rejected_received_explains_dsn_and_nulls() -> None:
    text = pdf_text(result_pdf(r06(), "received"))
    assert "✖ rejected" in text
    assert_contains(text, "the recipient address does not exist")
    assert_contains(text, "Status code 5.1.1: Permanent failure")
    assert_contains(text, "Not located")
    assert text.count("—") >= 8  # each null field shown as an em dash


def test_sent_and_access_reports() -> None:
    sent = pdf_text(result_pdf(s02(), "sent", lines=evidence("2C1B3162575")))
    assert "✖ rejected" in sent and "Report: sent message" in sent
    for paragraph in ex.explain("sent", s02()):
        assert_contains(sent, paragraph)
    assert_contains(sent, "status=bounced")
    for name in design_fields("sent"):
        assert_contains(sent, show(s02()[name]))

    failed = pdf_text(result_pdf(a04(), "accesses", lines=evidence("w5rYfzthu7R")))
    assert "✖ failed (auth-failed)" in failed
    assert_contains(failed, ex.ACCESS_ERRORS["auth-failed"])
    assert_contains(failed, "Password mismatch")
    ok = pdf_text(result_pdf(a01(), "accesses"))
    assert "✔ success" in ok and "Microsoft Outlook 16.0.17928.20114" in ok
    assert "Where the message is now" not in ok


def test_queue_deletions_are_explained_as_such() -> None:
    """A message an administrator deleted from the queue (postsuper -d) was not bounced,
    nobody is notified, and nothing retries: the report must not say otherwise."""
    sent = {**s02(), "status": "rejected", "dsn": "4.3.0", "reason": schema.QUEUE_DELETED
            + "; last attempt: host mx[192.0.2.1] said: 451 4.3.0 try later"}
    text = pdf_text(result_pdf(sent, "sent"))
    assert_contains(text, ex.QUEUE_DELETED_TEXT)
    assert_contains(text, "Before the deletion, the last delivery attempt ended with status "
                          "code 4.3.0 (a temporary problem on the receiving system).")
    for wrong in ("bounced by the receiving server", "will retry by itself", "send again."):
        assert squash(wrong) not in squash(text)
    held = {**r06(), "status": "quarantined", "delivery": "deleted", "dsn": None,
            "reason": "lab policy hold"}
    paragraphs = ex.explain("received", held)
    assert ex.DELIVERY_TEXT["deleted"] in paragraphs
    assert not any("release it" in p for p in paragraphs)
    assert not ex.deleted_from_queue("sent", s02())


def test_temporary_refusal_is_not_told_as_final() -> None:
    """A 450 at RCPT (lab R23's "unverified address", greylisting) is a "rejected" row, but
    the sender's server retries: the report says so, and not "never stored"."""
    greylisted = {**r06(), "dsn": "4.7.1",
                  "reason": "Recipient address rejected: Greylisted, try again later"}
    paragraphs = ex.explain("received", greylisted)
    assert paragraphs[0] == ex.TEMPORARY_REFUSAL_TEXT
    assert any(p.startswith("What to do: wait;") for p in paragraphs)
    assert ex.explain("received", r06())[0] == ex.STATUS_TEXT["received"]["rejected"]


def test_a_forward_that_did_not_go_through_is_not_a_mailbox_problem() -> None:
    """Lab R26: leo@ is an alias of an outside address whose server deferred the copy. The
    report used to say "delivery to the mailbox is delayed (e.g. mailbox full)"."""
    leo = {**r12(), "recipient": "leo@example.org", "delivery": "deferred", "folder": None,
           "forwarded_to": "defer.leo@remote.test", "dsn": "4.3.0",
           "reason": "host 127.0.0.2[127.0.0.2] said: 451 4.3.0 try again later"}
    text = pdf_text(result_pdf(leo, "received"))
    assert_contains(text, ex.FORWARD_TEXT["deferred"].format(to="defer.leo@remote.test"))
    assert squash("mailbox full") not in squash(text)
    bounced = ex.explain("received", leo | {"delivery": "bounced", "dsn": "5.1.1"})
    assert ex.FORWARD_TEXT["bounced"].format(to="defer.leo@remote.test") in bounced
    assert ex.DELIVERY_TEXT["deferred"] in ex.explain("received", leo | {"forwarded_to": None})


def test_every_access_error_has_an_explanation() -> None:
    for error in schema.ACCESS_ERRORS:
        paragraphs = ex.explain("accesses", a04() | {"error": error})
        assert ex.ACCESS_ERRORS[error] in paragraphs
    for view, statuses in schema.STATUSES.items():
        for status in statuses:
            assert ex.STATUS_TEXT[view][status] in ex.explain(view, {"status": status})


def test_paper_sizes() -> None:
    a4 = PdfReader(io.BytesIO(result_pdf(r12(), "received", paper="a4"))).pages[0].mediabox
    letter = PdfReader(io.BytesIO(result_pdf(r12(), "received", paper="letter"))).pages[0].mediabox
    assert (round(a4.width), round(a4.height)) == (595, 842)
    assert (round(letter.width), round(letter.height)) == (612, 792)
    with pytest.raises(ValueError, match="paper"):
        result_pdf(r12(), "received", paper="a3")


def test_long_log_line_wraps_without_loss() -> None:
    long_line = "Nov 27 05:40:09 mx01 postfix/cleanup[1]: X: " + "".join(
        f"token{i:04d}" for i in range(120)
    )
    lines = pl.DataFrame(
        {"time": [r12()["time"]], "server": ["mx01"], "program": ["postfix/cleanup"],
         "raw": [long_line]}, schema=schema.LINES,
    )
    text = pdf_text(result_pdf(r12(), "received", lines=lines))
    assert_contains(text, long_line)
    assert event_text(long_line).endswith("…")  # the timeline says it shortened


def test_event_text_strips_each_prefix() -> None:
    lines = evidence(*R12_LINES).get_column("raw").to_list()
    events = [event_text(line, limit=400) for line in lines]
    assert "605D5162539: client=unknown[127.0.0.10]" in events
    assert any(e.startswith("lmtp: save: box=INBOX") for e in events)
    assert any(e.startswith("id: <r12.6acd47.228290@partner.test>, qid:") for e in events)


def test_redacted_report_hides_addresses_ips_and_subject() -> None:
    redactor = Redactor(b"k")
    data = result_pdf(r12(), "received", lines=evidence(*R12_LINES), locate=r12_locate(),
                      query={"account": "alice@example.com", "text": "127.0.0.10"},
                      redact=redactor)
    text = pdf_text(data)
    for original in ("alice@example.com", "ALICE@EXAMPLE.COM", "petra@partner.test",
                     "PETRA@PARTNER.TEST", "127.0.0.10", "URGENT", "Petra Partner"):
        assert original not in text
    assert_contains(text, redactor.address("alice@example.com"))
    assert_contains(text, "127.0.0.0/24")
    assert_contains(text, "redacted")


def test_list_report_counts_caps_and_rows() -> None:
    df = received_frame()
    out = io.BytesIO()
    shown = write_list_pdf(df, out, view="received", query={"domain": "example.com"},
                           max_rows=3)
    text = pdf_text(out.getvalue())
    assert shown == 3
    assert "Showing 3 of 5 results" in text
    assert "✔ accepted" in text and "⚠ quarantined" in text and "✖ rejected" in text
    assert "total" in text and "5" in text
    assert "petra@partner.test" in text and "nobody@example.com" in text
    assert "季度报告" not in text  # 4th row is beyond the cap
    full = io.BytesIO()
    write_list_pdf(df, full, view="received", paper="letter")
    full_text = pdf_text(full.getvalue())
    assert "Showing" not in full_text and "季度报告" in full_text


def test_list_report_redacted() -> None:
    out = io.BytesIO()
    write_list_pdf(received_frame(), out, view="received", redact=Redactor(b"k"),
                   query={"account": "alice@example.com"})
    text = pdf_text(out.getvalue())
    for original in ("alice@example.com", "petra@partner.test", "季度报告", "Party"):
        assert original not in text


# --- CLI -------------------------------------------------------------------------------

def test_cli_report_writes_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_load(_result: Any, view: str, result_id: str) -> report_cli.ResultBundle:
        assert (view, result_id) == ("received", r12()["id"])
        return report_cli.ResultBundle(r12(), evidence(*R12_LINES), r12_locate())

    monkeypatch.setattr(report_cli, "load_result", fake_load)
    monkeypatch.setenv("TRACEMAIL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TRACEMAIL_REDACT_KEY", "cli-key")
    target = tmp_path / "r.pdf"
    logs = Path(__file__).parent / "fixtures" / "real"
    result = CliRunner().invoke(app, ["report", "received", r12()["id"], str(logs), "-o",
                                      str(target), "--paper", "letter", "--redact"])
    assert result.exit_code == 0, result.output
    text = pdf_text(target.read_bytes())
    assert "alice@example.com" not in text
    assert_contains(text, Redactor.from_config().address("alice@example.com"))


def test_cli_report_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEMAIL_CONFIG", str(tmp_path / "none.toml"))
    logs = str(Path(__file__).parent / "fixtures" / "real")
    runner = CliRunner()
    missing = str(tmp_path / "no-such-dir")
    result = runner.invoke(app, ["report", "received", "x", missing, "-o", str(tmp_path / "a.pdf")])
    assert result.exit_code == 2 and "no such file" in result.output
    result = runner.invoke(app, ["report", "inbox", "x", logs, "-o", str(tmp_path / "a.pdf")])
    assert result.exit_code == 2 and "unknown view" in result.output
    monkeypatch.setattr(report_cli, "load_result", lambda *_: None)
    result = runner.invoke(app, ["report", "sent", "s-1", logs, "-o", str(tmp_path / "a.pdf")])
    assert result.exit_code == 2 and "no sent result" in result.output
    assert not (tmp_path / "a.pdf").exists()


def test_edge_values_never_crash_or_vanish() -> None:
    token = "x" * 700
    row = r12() | {"forwarded_to": token, "subject": "S" * 583 + " \x00\udcff end"}
    raw = "y" * 900 + "\x00"
    lines = pl.DataFrame({"time": [None], "server": [None], "program": [None], "raw": [raw]},
                         schema=schema.LINES)
    text = pdf_text(result_pdf(row, "received", lines=lines))
    assert_contains(text, token)  # an unbreakable token is split, not cut
    assert_contains(text, "y" * 900 + r"\x00")
    assert_contains(text, r"\x00\udcff end")  # NUL and a lone surrogate shown as escapes
    partial = pdf_text(result_pdf({"id": "a-1", "status": "failed", "error": "odd-thing"},
                                  "accesses"))
    assert "✖ failed (odd-thing)" in partial and "odd-thing" in partial
    empty = io.BytesIO()
    assert write_list_pdf(schema.empty("sent"), empty, view="sent") == 0
    assert "No results." in pdf_text(empty.getvalue())


def test_cli_report_on_real_logs_with_the_engine(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end once the engine is in the build: R12 from the real lab logs."""
    engine = pytest.importorskip("tracemail_tui.store.engine")
    monkeypatch.setenv("TRACEMAIL_CONFIG", str(tmp_path / "none.toml"))
    target = tmp_path / "r12.pdf"
    logs = str(Path(__file__).parent / "fixtures" / "real")
    views = engine.run([logs])
    rid = views["received"].filter(pl.col("queue_id") == "605D5162539")["id"].item()
    result = CliRunner().invoke(app, ["report", "received", rid, logs, "-o", str(target)])
    assert result.exit_code == 0, result.output
    text = pdf_text(target.read_bytes())
    assert "✔ accepted" in text
    assert_contains(text, "alice@example.com")
    assert_contains(text, "r12.6acd47.228290@partner.test")
    if hasattr(engine, "evidence"):
        assert_contains(text, "605D5162539: client=unknown[127.0.0.10]")
