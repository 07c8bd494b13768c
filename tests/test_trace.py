"""`tracemail trace MESSAGE_ID`: one message across the views, on the real corpus."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tracemail_tui.cli.common import app

REAL = Path(__file__).parent / "fixtures" / "real"
GROUND = json.loads((REAL / "ground_truth.json").read_text("utf-8"))
ENV = {"TRACEMAIL_CONFIG": "/nonexistent.toml", "TRACEMAIL_RETENTION_DAYS": "100000"}


def mid(sid: str) -> str:
    return next(s["message_id"] for s in GROUND["scenarios"] if s["id"] == sid)


def trace(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["trace", *args], env=env or ENV)
    return res.exit_code, res.stdout, res.stderr


def as_json(sid: str, *where: str, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    code, out, err = trace(mid(sid), *(where or (str(REAL),)), "-f", "json", env=env)
    assert code == 0, err
    return json.loads(out)


def test_a_forward_is_the_received_row_and_the_copy_in_sent() -> None:
    """R04: carol's Sieve redirect; the copy has the same Message-ID, another queue id."""
    got = as_json("R04")
    assert [(r["recipient"], r["delivery"]) for r in got["received"]] == [
        ("carol@example.org", "forwarded")]
    assert [(r["recipient"], r["status"]) for r in got["sent"]] == [
        ("carol.private@partner.test", "delivered")]
    assert got["sent"][0]["queue_id"] != got["received"][0]["queue_id"]
    assert "locate" not in got["received"][0]  # forwarded: no copy kept in a mailbox


def test_where_each_copy_is_now_and_the_bounce_notice() -> None:
    got = as_json("R12")  # moved to Trash by A01
    assert got["received"][0]["locate"]["state"] == "in-folder"
    assert got["received"][0]["locate"]["folder"] == "Trash"
    s02 = as_json("S02")  # refused by the remote; the notice reached alice, then deleted
    assert [r["status"] for r in s02["sent"]] == ["rejected"] and s02["received"] == []
    (notice,) = s02["notices_received"]
    assert (notice["recipient"], notice["bounce_of"], notice["locate"]["state"]) == (
        "alice@example.com", s02["sent"][0]["queue_id"], "deleted")
    s08 = as_json("S08")  # alice → bob: a sent row and a received row
    assert [r["recipient"] for r in s08["received"]] == ["bob@example.com"]
    assert [r["recipient"] for r in s08["sent"]] == ["bob@example.com"]


def test_text_form_and_unknown_message() -> None:
    code, out, _ = trace(mid("S02").strip("<>"), str(REAL))  # without <>
    assert code == 0
    assert out.splitlines()[0] == f"message  {mid('S02')}"
    assert "bounce notice to our user" in out and "<> → alice@example.com" in out
    assert "now: deleted" in out
    code, out, _ = trace("<nope@nowhere>", str(REAL))
    assert code == 0 and "no row of this message" in out
    assert trace("  ", str(REAL))[0] == 2


def test_scope_hides_rows_and_mailboxes_of_other_domains() -> None:
    """Scoped to partner.test, R12 is in scope by its sender, but where the copy is in
    alice's (example.com) mailbox is not partner.test's business."""
    got = as_json("R12", env={**ENV, "TRACEMAIL_SCOPE": "partner.test"})
    (row,) = got["received"]
    assert row["sender"] == "petra@partner.test" and "locate" not in row
    got = as_json("S08", env={**ENV, "TRACEMAIL_SCOPE": "partner.test"})
    assert got["received"] == [] and got["sent"] == []


def test_store_and_logs_agree(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert CliRunner().invoke(app, ["ingest", str(REAL), "--store", str(store)],
                              env=ENV).exit_code == 0
    for sid in ("R04", "R12", "S02"):
        assert as_json(sid, "--store", str(store)) == as_json(sid), sid


@pytest.mark.parametrize("bad", [["-f", "xml"]])
def test_bad_format_is_one_line(bad: list[str]) -> None:
    code, out, err = trace(mid("R04"), str(REAL), *bad)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_json_values_are_plain() -> None:
    """NaN (a score not computed) is null and times are ISO, as in `search -f json`; the
    JSON writer refuses NaN, so nothing invalid can slip out."""
    import datetime as dt

    from tracemail_tui.cli.trace import _plain

    row = {"spam_score": float("nan"), "time": dt.datetime(2026, 11, 27, 5, 40, 9),
           "locate": {"history": [{"time": dt.datetime(2026, 11, 27, 5, 41)}]}}
    assert _plain(row) == {"spam_score": None, "time": "2026-11-27T05:40:09",
                           "locate": {"history": [{"time": "2026-11-27T05:41:00"}]}}


def test_trace_and_details_say_why_a_refused_copy_failed_not_who_refused_it() -> None:
    """R27: mia's Sieve redirect; the remote refused the copy (550). The trace line and the
    details' "same message" line both tell the reason (one helper, `store.trace.where`);
    the relay would only say whose server refused it. A delivered row names its relay."""
    from tracemail_tui.screens.detail import same_message_text
    from tracemail_tui.store import engine
    from tracemail_tui.store.trace import where

    r27 = Path(__file__).parent / "fixtures" / "lab-r27"
    views = engine.run([r27]).views
    (copy,) = views["sent"].filter(pl.col("bounce_of").is_null()).to_dicts()  # not the notice
    assert copy["status"] == "rejected" and copy["relay_host"] and copy["reason"]
    assert where("sent", copy) == copy["reason"]
    assert where("sent", {**copy, "status": "delivered"}) == f"relay {copy['relay_host']}"
    assert where("sent", {**copy, "status": "queued", "reason": None}) == (
        f"relay {copy['relay_host']}")
    (received,) = views["received"].to_dicts()
    assert where("received", received) == "to reject.mia@partner.test"
    assert where("received", {**received, "folder": "INBOX"}) == "folder INBOX"

    code, out, _ = trace(copy["message_id"], str(r27))
    assert code == 0
    (line,) = [t for t in out.splitlines() if copy["id"] in t]
    assert copy["reason"] in line and "relay" not in line
    detail = same_message_text([("sent", copy)]).plain
    assert copy["reason"] in detail and copy["relay_host"] not in detail.replace(
        copy["reason"], "")
