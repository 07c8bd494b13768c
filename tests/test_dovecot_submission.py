"""Dovecot's submission service relays a user's mail to Postfix (real lines, see
`fixtures/lab-submission`): the mail is the user's outbound mail, not inbound mail from
the relaying host."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store import engine
from tracemail_tui.store.parse.header import split_lines

SUB = Path(__file__).parent / "fixtures" / "lab-submission"


def raw(name: str) -> list[str]:
    return (SUB / name).read_text("utf-8").splitlines()


def frame(lines: list[str]) -> pl.DataFrame:
    return split_lines(pl.Series("raw", lines, pl.String), host="mx01", year=2026)


@pytest.fixture(scope="module")
def full() -> engine.Result:
    return engine.run([SUB])


def test_relayed_mail_is_the_users_sent_mail(full: engine.Result) -> None:
    assert sum(full.stats.unparsed.values()) == 0, full.stats.unparsed
    sent = full["sent"].sort("time", "recipient")
    assert sent.select("recipient", "status", "account", "relay_host").rows() == [
        ("bob@example.com", "delivered", "alice@example.com", "mx01.example.com"),
        ("bob@example.com", "delivered", "alice@example.com", "mx01.example.com"),
        ("friend@partner.test", "delivered", "alice@example.com", "127.0.0.2")]
    # Internal mail is received too; the outside recipient is not "received" by us.
    received = full["received"]
    assert received.get_column("recipient").to_list() == ["bob@example.com"] * 2
    assert set(received.get_column("folder")) == {"INBOX"}


def test_the_submission_sessions_are_accesses(full: engine.Result) -> None:
    acc = full["accesses"].sort("time")
    assert acc.select("protocol", "status", "error").rows() == [
        ("smtp", "success", None), ("smtp", "failed", "auth-failed"),
        ("smtp", "success", None), ("smtp", "success", None)]
    first = acc.row(0, named=True)
    assert (first["bytes_in"], first["bytes_out"]) == (202, 120)
    assert first["logout_time"] == dt.datetime(2026, 11, 27, 23, 29, 19)


@pytest.mark.parametrize("views", [{"sent"}, {"received"}])
def test_a_mail_only_search_keeps_the_relay_lines(full: engine.Result,
                                                  views: set[str]) -> None:
    """`search sent` skips Dovecot's session lines before parsing, not these."""
    (view,) = views
    got = engine.run([SUB], views=views)[view].sort("id")
    assert got.equals(full[view].sort("id"))


@pytest.mark.parametrize("seed", [1, 2])
def test_order_and_chunks_do_not_matter(full: engine.Result, seed: int) -> None:
    rnd = random.Random(seed)
    lines = raw("dovecot.log") + raw("mail.log")
    rnd.shuffle(lines)
    cuts = sorted(rnd.sample(range(1, len(lines)), 4))
    frames = [frame(lines[a:b]) for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    got = engine.run_lines(frames)
    for view in ("received", "sent"):
        assert got[view].sort("id").equals(full[view].sort("id")), view


def test_a_relay_of_another_time_does_not_claim_a_reused_queue_id(tmp_path: Path) -> None:
    """Short queue ids come back: a relay line an hour away is another message's."""
    lines = raw("dovecot.log")
    shifted = [ln.replace("23:29:48", "22:29:48") if "Successfully relayed" in ln else ln
               for ln in lines]
    (tmp_path / "dovecot.log").write_text("\n".join(shifted) + "\n", "utf-8")
    (tmp_path / "mail.log").write_text((SUB / "mail.log").read_text("utf-8"), "utf-8")
    res = engine.run([tmp_path])
    assert "friend@partner.test" in res["received"].get_column("recipient").to_list()
    assert res["sent"].get_column("recipient").to_list() == ["bob@example.com"]  # S1 only


def test_the_queue_id_is_read_from_postfix_reply_at_the_end() -> None:
    from tracemail_tui.store.parse import dovecot

    line = ("Nov 27 23:29:48 submission(a@x.test)<1><S9>: Info: Successfully relayed message: "
            "from=<\"queued as FAKE1'\"@x.test>, size=1, id=I, nrcpt=1, "
            "reply=`250 2.0.0 Ok: 314 bytes queued as 5F8241686A1'")
    ev = dovecot.parse(frame([line]))
    assert ev.relays.select("qid", "user", "session").rows() == [
        ("5F8241686A1", "a@x.test", "S9")]
    assert ev.unparsed == 0


def test_an_engine_saved_by_the_previous_version_still_joins_relays(
        full: engine.Result) -> None:
    """The live ingest pickles its engine and restores it after an upgrade: a state from
    before relays existed has no `_relays`; restoring gives it an empty one."""
    import pickle

    old = engine.Engine()
    del old.__dict__["_relays"]
    restored = pickle.loads(pickle.dumps(old))
    got = engine.run([SUB], engine=restored)
    assert got["sent"].sort("id").equals(full["sent"].sort("id"))
