"""Rows of other keys that finish a result's story (store/related.py): the copy a Sieve
redirect sent on (lab R04, R27), the retry after a temporary refusal (lab R28, R29)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from export_data import pdf_text
from typer.testing import CliRunner

from tracemail_tui.cli import app
from tracemail_tui.export import explain as ex
from tracemail_tui.export import related_text as rt
from tracemail_tui.store import engine, related
from tracemail_tui.store.correlate.locate import locate
from tracemail_tui.store.related import Related, forward_copies, targets

REAL = Path(__file__).parent / "fixtures" / "real"

# Lab R27 (Postfix 3.7, Dovecot 2.3): mia's Sieve redirects to an address the remote
# refuses. The lines of its two queue ids and of its LMTP session, as the lab wrote them.
R27 = Path(__file__).parent / "fixtures" / "lab-r27"
# Lab R28 + R29: greylisted at RCPT (450 4.7.1), then the same message again, accepted.
R28 = Path(__file__).parent / "fixtures" / "lab-r28"


def test_the_refused_copy_of_a_redirect_is_found_and_told() -> None:
    """mia's row says "forwarded"; the copy bounced. The report used to stop at "a
    forwarding rule sent it on": the reader believed the forward worked."""
    res = engine.run([R27])
    row = res["received"].row(0, named=True)
    assert (row["recipient"], row["delivery"], row["forwarded_to"]) == (
        "mia@example.org", "forwarded", "reject.mia@partner.test")
    copies = forward_copies(res["sent"].lazy(), row)
    assert [(c["queue_id"], c["status"], c["dsn"]) for c in copies] == [
        ("F00D1168737", "rejected", "5.1.1")]
    said = ex.explain("received", row, related=Related(forwards=tuple(copies)))
    assert any(p.startswith("The forwarded copy to reject.mia@partner.test was refused (last "
                            "answer: host 127.0.0.2[127.0.0.2] said: 550 5.1.1") for p in said)
    # Seen from Sent, the copy leads back to mia's row.
    back = related.find(lambda name: res[name].lazy(), "sent", res["sent"].filter(
        pl.col("queue_id") == "F00D1168737").row(0, named=True))
    assert [o["id"] for o in back.originals] == [row["id"]] and back.first() == (
        "received", back.originals[0])
    # Another message's id, or a recipient the rule did not name, is not this forward.
    assert forward_copies(res["sent"].lazy(), row | {"message_id": "<other@x>"}) == []
    assert forward_copies(res["sent"].lazy(), row | {"forwarded_to": "a@b.test"}) == []


def test_report_of_a_forward_says_how_the_copy_fared(tmp_path: Path) -> None:
    """`tracemail report`: R04's copy was delivered, R27's refused, both from the logs."""
    run = CliRunner().invoke
    for logs, queue_id, wanted in (
        (REAL, "3760B16256D", "The forwarded copy to carol.private@partner.test was delivered"),
        (R27, "DEE23168735", "The forwarded copy to reject.mia@partner.test was refused"),
    ):
        rows = engine.run([logs])["received"].filter(pl.col("queue_id") == queue_id)
        out = tmp_path / f"{queue_id}.pdf"
        res = run(app, ["report", "received", rows["id"][0], str(logs), "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert wanted in " ".join(pdf_text(out.read_bytes()).split())


def test_a_forward_without_a_local_copy_is_not_a_lost_message() -> None:
    """R04's locate finds only the redirect: "the logs do not show where the message is
    now" read as if the message were lost."""
    res = engine.run([REAL])
    row = res["received"].filter(pl.col("recipient") == "carol@example.org").row(0, named=True)
    found = locate(res["mailbox"], row["message_id"], row["recipient"])
    assert found["state"] == "unknown" and [h["event"] for h in found["history"]] == ["redirect"]
    said = ex.explain("received", row, found)
    assert ex.LOCATE_TEXT["forwarded-only"] in said and ex.LOCATE_TEXT["unknown"] not in said
    kept = ex.explain("received", row | {"delivery": "delivered", "folder": "INBOX"}, found)
    assert ex.LOCATE_TEXT["unknown"] in kept


def test_a_temporary_refusal_is_followed_by_its_retry(tmp_path: Path) -> None:
    """R28's report used to end at "the sending server normally tries again": whether it
    did, and got through, was a search away. Now the report and the detail screen say."""
    res = engine.run([R28])
    rows = res["received"].sort("time")
    first, retry = rows.row(0, named=True), rows.row(1, named=True)
    assert (first["status"], first["dsn"], first["queue_id"]) == ("rejected", "4.7.1", None)
    assert (retry["status"], retry["folder"]) == ("accepted", "INBOX")
    found = related.find(lambda name: res[name].lazy(), "received", first)
    assert [r["id"] for r in found.retries] == [retry["id"]] and found.forwards == ()
    said = ex.explain("received", first, related=found)
    assert rt.RETRY_TEXT["through"].format(
        status="accepted", time="2026-11-27T17:55:07", id=retry["id"]) in said
    assert not any(p.startswith("What to do: wait") for p in said)
    # The accepted row has nothing to look for; a refusal that was never retried says so.
    assert related.find(lambda name: res[name].lazy(), "received", retry) == related.Related()
    alone = ex.explain("received", first, related=related.Related())
    assert rt.RETRY_TEXT["none"] in alone and alone[-1].startswith("What to do: wait")
    refused_again = related.Related(retries=({**first, "id": "r-2", "status": "rejected"},))
    assert ("The sending server tried again once and was refused again (at "
            "2026-11-27T17:54:59).") in ex.explain("received", first, related=refused_again)
    twice = related.Related(retries=refused_again.retries * 2)
    assert ("The sending server tried again 2 times and was refused each time (the last at "
            "2026-11-27T17:54:59).") in ex.explain("received", first, related=twice)
    # From the command line, the PDF report says it too.
    out = tmp_path / "r28.pdf"
    res_cli = CliRunner().invoke(app, ["report", "received", first["id"], str(R28), "-o",
                                       str(out)])
    assert res_cli.exit_code == 0, res_cli.output
    assert f"got through: accepted at 2026-11-27T17:55:07 (result {retry['id']})" in " ".join(
        pdf_text(out.read_bytes()).split())


def test_a_failed_login_says_whether_the_user_got_in_and_who_else_failed_there() -> None:
    """Real lab lines (S07, A04, A05, A09, A12): "why can't alice log in?" used to stop at
    "wrong password". Three failures for alice came from the attacker's address, which also
    tried an unknown user and carol; alice's own client got in a second later."""
    res = engine.run([REAL])
    acc = res["accesses"]

    def said(user: str, error: str) -> list[str]:
        row = acc.filter((pl.col("user") == user) & (pl.col("error") == error)).sort(
            "time").row(0, named=True)
        return ex.explain("accesses", row, related=related.find(
            lambda name: res[name].lazy(), "accesses", row))

    alice = said("alice@example.com", "auth-failed")
    assert ("alice@example.com logged in successfully afterwards: smtp at 2026-11-27T05:40:29 "
            "from 127.0.0.30 (result a-mx01-20261127054029-10055-82A1816257B).") in alice
    guessing = rt.BURST_TEXT["guessing"].format(ip="127.0.0.31", n=5, k=3)
    assert guessing in alice and guessing in said("nobody@example.com", "unknown-user")
    gina = said("gina@example.com", "auth-failed")  # her phone, once: no burst
    assert rt.LOGIN_TEXT["none"].format(user="gina@example.com") in gina
    assert not any(p.startswith("From 127.0.0.32") for p in gina)
    # Two failures of one account from one address are not "guessing".
    row = acc.filter(pl.col("user") == "gina@example.com").sort("time").row(-1, named=True)
    same = related.Related(burst=({**row, "id": "a-2"},))
    assert rt.BURST_TEXT["one"].format(ip="127.0.0.32", n=2, k=1) in ex.explain(
        "accesses", row, related=same)
    # The lookup stops at MAX_BURST rows: the count says so rather than a wrong number.
    flood = related.Related(burst=tuple({**row, "id": f"a-{i}", "user": f"u{i}@x.test"}
                                        for i in range(related.MAX_BURST)))
    assert any(p.startswith(f"From 127.0.0.32, over {related.MAX_BURST} failed logins")
               for p in ex.explain("accesses", row, related=flood))
    # A successful login has nothing around it to look for.
    ok = acc.filter(pl.col("status") == "success").row(0, named=True)
    assert related.find(lambda name: res[name].lazy(), "accesses", ok) == related.Related()


def test_forward_targets() -> None:
    assert targets("A@x.test, b@y.test") == ["a@x.test", "b@y.test"]
    assert targets(None) == [] and targets("no address") == []
