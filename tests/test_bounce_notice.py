"""Bounce notices: "was the sender told?" and "what is this MAILER-DAEMON mail?".

All on lines real Postfix 3.7 wrote: S02 (alice's mail refused by the remote, the notice
delivered to her INBOX), R18 (petra's mail to jack bounced for quota, the notice sent to
petra's server) and R27 (the copy of mia's Sieve redirect refused, the notice to petra).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from export_data import pdf_text
from typer.testing import CliRunner

from tracemail_tui.cli import app
from tracemail_tui.export import explain as ex
from tracemail_tui.export import related_text as rt
from tracemail_tui.store import engine, related

FIXTURES = Path(__file__).parent / "fixtures"
REAL, R18, R27 = FIXTURES / "real", FIXTURES / "lab-r18", FIXTURES / "lab-r27"


def _row(res: engine.Result, view: str, qid: str) -> dict:  # type: ignore[type-arg]
    return res[view].filter(pl.col("queue_id") == qid).row(0, named=True)


def _find(res: engine.Result, view: str, row: dict) -> related.Related:  # type: ignore[type-arg]
    return related.find(lambda name: res[name].lazy(), view, row)


def test_a_remote_bounce_is_linked_to_the_notice_in_the_senders_inbox() -> None:
    """S02: `2C1B3162575: sender non-delivery notification: 3D953162577`."""
    res = engine.run([REAL])
    sent = _row(res, "sent", "2C1B3162575")
    notice = _row(res, "received", "3D953162577")
    assert (sent["status"], sent["bounce_notice"], sent["bounce_of"]) == (
        "rejected", "3D953162577", None)
    assert (notice["recipient"], notice["sender"], notice["folder"], notice["bounce_of"]) == (
        "alice@example.com", None, "INBOX", "2C1B3162575")
    # Only a bounced row names a notice: nothing else in the corpus does.
    linked = pl.concat([res[v].select("queue_id", "bounce_notice") for v in ("received", "sent")])
    assert linked.filter(pl.col("bounce_notice").is_not_null()).rows() == [
        ("2C1B3162575", "3D953162577")]

    found = _find(res, "sent", sent)
    assert [n["id"] for n in found.notices] == [notice["id"]] and found.notices_sent == ()
    assert found.first() == ("received", found.notices[0])  # what `r` opens
    said = ex.explain("sent", sent, related=found)
    assert rt.NOTICE_TEXT.format(
        to="alice@example.com", time="2026-11-27T05:40:17", qid="3D953162577",
        fate="delivered to INBOX", id=notice["id"]) in said

    back = _find(res, "received", notice)
    assert [b["id"] for b in back.bounced] == [sent["id"]] and back.bounced_received == ()
    said = ex.explain("received", notice, related=back)
    assert any(p.startswith("This is a bounce notice from our mail server: it tells "
                            "alice@example.com that the message to reject.me@example.net "
                            "(queue id 2C1B3162575") and "550 5.1.1" in p for p in said)


def test_a_quota_bounce_tells_whether_the_remote_sender_got_the_notice() -> None:
    """R18: jack's mailbox is full; the notice to petra@partner.test is a sent row of its
    own (no sender: MAILER-DAEMON), which the remote server took."""
    res = engine.run([R18])
    jack = _row(res, "received", "791991686FD")
    assert (jack["delivery"], jack["dsn"], jack["bounce_notice"]) == (
        "bounced", "5.2.2", "8A606168707")
    notice = _row(res, "sent", "8A606168707")
    assert (notice["status"], notice["recipient"], notice["sender"], notice["bounce_of"]) == (
        "delivered", "petra@partner.test", None, "791991686FD")
    found = _find(res, "received", jack)
    assert found.notices == () and [n["id"] for n in found.notices_sent] == [notice["id"]]
    said = ex.explain("received", jack, related=found)
    assert ("Our server sent petra@partner.test a bounce notice about it at "
            "2026-11-27T17:54:44 (queue id 8A606168707): the sender's server took it "
            f"(127.0.0.2) (result {notice['id']}).") in said
    back = _find(res, "sent", notice)
    assert back.bounced == () and [b["id"] for b in back.bounced_received] == [jack["id"]]
    assert any("the message to jack@example.org (queue id 791991686FD" in p and
               "Quota exceeded" in p for p in ex.explain("sent", notice, related=back))


def test_the_refused_copy_of_a_forward_says_the_original_sender_was_told() -> None:
    res = engine.run([R27])
    mia = res["received"].row(0, named=True)
    said = ex.explain("received", mia, related=_find(res, "received", mia))
    copy = next(p for p in said if p.startswith("The forwarded copy"))
    assert copy.endswith(rt.COPY_NOTICE.format(qid="F2E90168736"))
    assert _row(res, "sent", "F00D1168737")["bounce_notice"] == "F2E90168736"


def test_fates_of_a_notice() -> None:
    """A notice that is still queued or was refused says so: then the sender was not told."""
    row = {"bounce_notice": "N1", "status": "rejected"}
    base = {"recipient": "a@x.test", "time": None, "queue_id": "N1", "id": "s-1"}
    queued = related.Related(notices_sent=({**base, "status": "queued", "reason": "451 later"},))
    assert rt.related_sentences("sent", row, queued, temporary=False) == [
        "Our server sent a@x.test a bounce notice about it at — (queue id N1): not delivered "
        "yet; our server keeps retrying (last answer: 451 later) (result s-1)."]
    refused = related.Related(notices_sent=({**base, "status": "rejected", "reason": "550 no"},))
    (text,) = rt.related_sentences("sent", row, refused, temporary=False)
    assert "refused (last answer: 550 no), so the sender was not told" in text
    # Looked up, nothing shown (another customer's row, or not in these logs).
    assert rt.related_sentences("sent", row, related.Related(), temporary=False) == [
        rt.NOTICE_UNSHOWN.format(qid="N1")]


@pytest.mark.parametrize("extra", [[], ["--redact"]])
def test_report_tells_the_notice_and_scope_hides_another_customers_row(
        tmp_path: Path, extra: list[str]) -> None:
    jack = _row(engine.run([R18]), "received", "791991686FD")
    out = tmp_path / "r18.pdf"
    run = CliRunner().invoke
    res = run(app, ["report", "received", jack["id"], str(R18), "-o", str(out), *extra],
              env={"TRACEMAIL_CONFIG": "/nonexistent.toml"})
    assert res.exit_code == 0, res.output
    text = " ".join(pdf_text(out.read_bytes()).split())
    assert "a bounce notice about it at 2026-11-27T17:54:44 (queue id 8A606168707): the " \
           "sender's server took it" in text
    assert ("petra@partner.test a bounce notice" in text) == (not extra)  # redacted: pseudonym
    # Scoped to example.org, the notice (a row about partner.test) is not told.
    res = run(app, ["--scope", "example.org", "report", "received", jack["id"], str(R18),
                    "-o", str(out)], env={"TRACEMAIL_CONFIG": "/nonexistent.toml"})
    assert res.exit_code == 0, res.output
    text = " ".join(pdf_text(out.read_bytes()).split())
    assert "the sender's server took it" not in text
    assert rt.NOTICE_UNSHOWN.format(qid="8A606168707") in text
