"""tracemail against logs written by real Postfix, Dovecot, Rspamd and ClamAV daemons.

The `lab` fixture (conftest.py) runs the mail lab once; each test then reads the lab's
logs with the real command line (`python -m tracemail_tui search|locate ... --format json`)
and checks one scenario against the outcome that `tests/fixtures/real/README.md`
("How the scenarios map to tracemail's statuses") gives for it (expected.py).
Message ids, queue ids and times differ on every run: they come from the
ground_truth.json the scenarios wrote.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path

import polars as pl
import pytest

from tests.integration.expected import (
    ACCESSES,
    LOCATE,
    RECEIVED,
    SENT,
    VOCABULARY,
    fill,
)
from tests.integration.harness import (
    brief,
    check,
    locate,
    lower,
    mail_row,
    mid,
    one,
    pick,
    scenario,
    search,
    tracemail,
)
from tests.integration.labrun import LabRun
from tracemail_tui.export.explain import explain
from tracemail_tui.store.related import Related, forward_copies, later_attempts

pytestmark = pytest.mark.integration


# ------------------------------------------------------------------------ received --
@pytest.mark.parametrize("sid", list(RECEIVED))
def test_received(lab: LabRun, sid: str) -> None:
    sc = scenario(lab, sid)
    rows = search(lab, "received")
    for rcpt, expect in RECEIVED[sid]:
        label = f"{sid} received {rcpt}"
        row = mail_row(rows, sc, rcpt, label)
        check(row, fill(expect, sc), label)
        subject = row.get("subject")
        if subject is not None:  # log content is hostile: never raw control bytes
            assert not any(c in subject for c in "\x1b\x07\r\n"), f"{label}: subject {subject!r}"


def test_received_rejects_have_no_folder(lab: LabRun) -> None:
    """A rejected message was never stored or forwarded anywhere."""
    bad = [
        r
        for r in search(lab, "received")
        if r.get("status") == "rejected"
        and (r.get("folder") or r.get("delivery") or r.get("forwarded_to"))
    ]
    assert not bad, " | ".join(brief(r) for r in bad[:3])


def test_client_rejected_at_connect(lab: LabRun) -> None:
    """R24: refused at CONNECT, before any sender or recipient: one rejected row that says
    who was refused and why (it used to be an empty "accepted" row)."""
    sc = scenario(lab, "R24")
    assert sc["observed"]["connect"].startswith("554 "), sc["observed"]
    rows = pick(search(lab, "received"), sc, client_ip="127.0.0.66")
    row = one(rows, "R24", pick(search(lab, "received"), None, client_ip="127.0.0.66"))
    check(row, {"status": "rejected", "reason": "Client host rejected: lab blocklist",
                "dsn": "5.7.1", "recipient": None, "sender": None, "delivery": None},
          "R24")


@pytest.mark.parametrize(("sid", "ip", "reason", "dsn"), [
    ("R34", "127.0.0.13", "Protocol error", "5.5.1"),  # talked before the greeting
    ("R35", "127.0.0.12", "Service currently unavailable", "5.3.2"),  # deny-listed
])
def test_postscreen_refusals(lab: LabRun, sid: str, ip: str, reason: str, dsn: str) -> None:
    """R34, R35: two bots refused by one postscreen process at the same moment, both for
    alice: one row each, with its own client (they were one row when postscreen's rejects
    of one second shared a key)."""
    sc = scenario(lab, sid)
    rows = search(lab, "received")
    row = one(pick(rows, sc, client_ip=ip), sid, pick(rows, None, client_ip=ip))
    check(row, {"status": "rejected", "reason": reason, "dsn": dsn,
                "recipient": "alice@example.com", "sender": "spam@remote.test",
                "helo": "bot.remote.test", "queue_id": None, "delivery": None}, sid)
    both = pick(rows, sc, recipient="alice@example.com", sender="spam@remote.test")
    assert sorted(r["client_ip"] for r in both) == ["127.0.0.12", "127.0.0.13"], both


def test_a_refused_sieve_forward_is_found(lab: LabRun) -> None:
    """R27: the copy mia's Sieve redirect sent on bounced (550 from the remote). It is a
    message of its own (pickup, another queue id); the detail screen and the PDF report
    find it from mia's row (store/related.py) and say it was refused."""
    sc = scenario(lab, "R27")
    found = mail_row(search(lab, "received"), sc, "mia@example.org", "R27")
    row = {**found, "time": dt.datetime.fromisoformat(found["time"])}  # a copy: rows are cached
    sent = pl.DataFrame(search(lab, "sent"), infer_schema_length=None).with_columns(
        pl.col("time").str.to_datetime())
    copies = forward_copies(sent.lazy(), row)
    assert [(c["recipient"], c["status"], c["dsn"]) for c in copies] == [
        ("reject.mia@partner.test", "rejected", "5.1.1")], copies
    assert copies[0]["queue_id"] != row["queue_id"]
    said = explain("received", row, related=Related(forwards=tuple(copies)))
    assert any(p.startswith("The forwarded copy to reject.mia@partner.test was refused")
               for p in said), said


def test_a_temporary_refusal_finds_the_retry_that_got_through(lab: LabRun) -> None:
    """R28 was greylisted (450 4.7.1 at RCPT), R29 is the same message again, accepted.
    The report of R28 must not leave the reader guessing whether it got through."""
    rows = search(lab, "received")
    first = mail_row(rows, scenario(lab, "R28"), "gina@example.com", "R28")
    retry = mail_row(rows, scenario(lab, "R29"), "gina@example.com", "R29")
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("time").str.to_datetime())
    row = {**first, "time": dt.datetime.fromisoformat(first["time"])}
    later = later_attempts(frame.lazy(), row)
    assert [r["id"] for r in later] == [retry["id"]], later
    said = explain("received", row, related=Related(retries=tuple(later)))
    assert f"got through: accepted at {retry['time']} (result {retry['id']})" in " ".join(said)


@pytest.mark.parametrize(("sid", "view", "rcpt", "notice_view", "told"), [
    ("S02", "sent", "reject.me@example.net", "received", "alice@example.com"),
    ("R18", "received", "jack@example.org", "sent", "petra@partner.test"),
    ("S11", "sent", "defer.expire@remote.test", "received", "henry@example.org"),
    ("R36", "received", "olga@example.org", "sent", "petra@partner.test"),
])
def test_a_bounce_names_the_notice_the_sender_got(
        lab: LabRun, sid: str, view: str, rcpt: str, notice_view: str, told: str) -> None:
    """Postfix's `QID: sender non-delivery notification: NOTICE`: the bounced row names
    the notice's queue id, and the notice's row (no sender: MAILER-DAEMON) names the
    bounced message's. S02's notice went to alice's INBOX, R18's to petra's server, S11's
    (returned when the queue lifetime ran out) to henry's INBOX, R36's (unknown to Dovecot)
    to petra's server."""
    row = mail_row(search(lab, view), scenario(lab, sid), rcpt, sid)
    assert row["bounce_notice"], f"{sid}: no bounce notice on {brief(row)}"
    notices = [r for r in search(lab, notice_view)
               if r["queue_id"] == row["bounce_notice"] and r["server"] == row["server"]]
    assert [(n["recipient"], n["sender"], n["bounce_of"]) for n in notices] == [
        (told, None, row["queue_id"])], notices
    assert notices[0]["status"] in ("accepted", "delivered"), notices


def test_address_verification_probes_are_no_mail(lab: LabRun) -> None:
    """R23's recipient verification made Postfix send probes (status=deliverable and
    undeliverable, found in the log by the scenario's evidence): no row may show them."""
    sc = scenario(lab, "R23")
    assert sc["evidence_ok"], sc["evidence"]
    rows = search(lab, "received") + search(lab, "sent")
    probes = [r for r in rows if (r.get("sender") or "").startswith("double-bounce@")]
    assert not probes, " | ".join(brief(r) for r in probes[:3])


@pytest.mark.parametrize("view", ["received", "sent", "accesses"])
def test_every_row_names_the_server(lab: LabRun, view: str) -> None:
    """Rows carry the host: from the syslog prefix, or from the config's [hosts] for files
    that name none (Dovecot log_path)."""
    rows = search(lab, view)
    assert rows, f"no {view} rows at all"
    bad = [r for r in rows if r.get("server") != lab.host]
    assert not bad, f"{len(bad)} of {len(rows)} {view} rows: " + " | ".join(
        brief(r) for r in bad[:3]
    )


@pytest.mark.parametrize("view", list(VOCABULARY))
def test_words_are_the_contracts(lab: LabRun, view: str) -> None:
    """Every row speaks DESIGN.md's vocabulary, names its account and has a stable id."""
    rows = search(lab, view)
    for field, allowed in VOCABULARY[view].items():
        bad = [r for r in rows if r.get(field) not in allowed]
        assert not bad, f"{view}.{field} outside {sorted(map(str, allowed))}: " + " | ".join(
            brief(r) for r in bad[:3]
        )
    who = "user" if view == "accesses" else "recipient"
    # Only a client refused before it named anyone (R24, at CONNECT) has no recipient.
    nameless = [r for r in rows if not r.get(who)]
    assert all(r.get("status") == "rejected" and r.get("queue_id") is None
               and r.get("reason") for r in nameless), f"{view} rows without {who}: " + \
        " | ".join(brief(r) for r in nameless[:3])
    ids = [r.get("id") for r in rows]
    assert all(ids) and len(set(ids)) == len(ids), f"{view}: missing or duplicate ids"


@pytest.mark.parametrize("view", list(VOCABULARY))
def test_a_second_search_gives_the_same_ids(lab: LabRun, view: str) -> None:
    """Stable ids: the same logs give the same ids on every run."""
    again = tracemail(lab, "search", view, str(lab.logdir), "--format", "json")
    assert sorted(str(r.get("id")) for r in again) == sorted(
        str(r.get("id")) for r in search(lab, view)
    )


# ---------------------------------------------------------------------------- sent --
@pytest.mark.parametrize("sid", list(SENT))
def test_sent(lab: LabRun, sid: str) -> None:
    sc = scenario(lab, sid)
    rows = search(lab, "sent")
    for rcpt, expect in SENT[sid]:
        label = f"{sid} sent to {rcpt}"
        row = mail_row(rows, sc, rcpt, label)
        check(row, fill(expect, sc), label)


# ------------------------------------------------------------------------ accesses --
@pytest.mark.parametrize("sid", list(ACCESSES))
def test_access(lab: LabRun, sid: str) -> None:
    sc = scenario(lab, sid)
    user, protocol, ip, expect = ACCESSES[sid]
    rows = search(lab, "accesses")
    label = f"{sid} {protocol} {user} from {ip}"
    keys = {"user": user, "protocol": protocol, "remote_ip": ip}
    row = one(pick(rows, sc, **keys), label, pick(rows, None, **keys))
    check(row, {**expect, "domain": user.split("@")[1]}, label)
    if expect["status"] == "success":
        assert row.get("session"), f"{label}: no session id"
        assert row.get("logout_time"), f"{label}: logout not joined to the login"
        if protocol != "pop3":  # IMAP in=/out=, ManageSieve bytes=in/out at logout
            traffic = (row.get("bytes_in"), row.get("bytes_out"))
            assert all(isinstance(b, int) and b > 0 for b in traffic), f"{label}: {traffic}"


def test_access_too_many_connections(lab: LabRun) -> None:
    """A10: henry's first session from .44 succeeds, the parallel second one is refused."""
    sc = scenario(lab, "A10")
    rows = pick(
        search(lab, "accesses"),
        sc,
        user="henry@example.org",
        protocol="imap",
        remote_ip="127.0.0.44",
    )
    statuses = sorted((r.get("status"), r.get("error")) for r in rows)
    assert statuses == [("failed", "many-connections"), ("success", None)], (
        f"A10: {statuses}: " + " | ".join(brief(r) for r in rows)
    )
    ok = next(r for r in rows if r.get("status") == "success")
    assert "iPhone Mail" in (ok.get("client") or ""), brief(ok)


def test_access_smtp_auth_failed(lab: LabRun) -> None:
    """S07: wrong password on submission; smtplib tries PLAIN then LOGIN (2 attempts)."""
    sc = scenario(lab, "S07")
    keys = {"user": "alice@example.com", "protocol": "smtp", "remote_ip": "127.0.0.31"}
    rows = pick(search(lab, "accesses"), sc, **keys)
    near = pick(search(lab, "accesses"), None, **{**keys, "protocol": ("smtp", "submission")})
    assert 1 <= len(rows) <= 2, f"S07: {len(rows)} rows; same user+IP at any time: " + " | ".join(
        brief(r) for r in near[:4]
    )
    for r in rows:
        check(r, {"status": "failed", "error": "auth-failed"}, "S07")


# -------------------------------------------------------------------------- locate --
def _located_id(lab: LabRun, sid: str) -> str:
    if sid == "S02-NDR":
        message_id = scenario(lab, "A01")["observed"].get("ndr_message_id")
        assert message_id, "A01 found no bounce notice in alice's INBOX"
        return str(message_id)
    return str(scenario(lab, sid)["message_id"])


@pytest.mark.parametrize("sid", list(LOCATE))
def test_locate(lab: LabRun, sid: str) -> None:
    account, state, folder = LOCATE[sid]
    message_id = _located_id(lab, sid)
    res = locate(lab, message_id, account)
    label = f"locate {sid} {message_id} for {account}"
    assert mid(res.get("message_id")) == mid(message_id), f"{label}: {res}"
    assert lower(res.get("account")) == account, f"{label}: {res}"
    assert (res.get("state"), res.get("folder") if state == "in-folder" else None) == (
        state,
        folder,
    ), f"{label}: {json.dumps(res, ensure_ascii=False)[:900]}"
    history = res.get("history") or []
    assert history, f"{label}: empty history"
    times = [h.get("time") for h in history]
    assert times == sorted(times), f"{label}: history not oldest first: {times}"


# --------------------------------------------------------------------------- stats --
def test_every_line_of_the_mail_daemons_is_understood(lab: LabRun) -> None:
    """`tracemail stats` counts no unparsed line of Postfix, Dovecot, Rspamd or clamd:
    every form these daemons wrote in this run (a new one fails here first) is known."""
    st = tracemail(lab, "stats", str(lab.logdir), "--format", "json")
    assert st["lines"] > 0 and st["programs"], st
    daemons = ("postfix", "dovecot", "rspamd", "clamd")
    bad = {p: n for p, n in st["unparsed"].items() if p.split("/")[0] in daemons and n}
    assert not bad, f"unparsed lines per program: {bad}"


# ------------------------------------------------------------------- live follower --
def _live(lab: LabRun) -> Path:
    if lab.live is None:
        pytest.skip("this lab run had no live follower (TRACEMAIL_LAB_REUSE of an older run)")
    return lab.live


def test_live_follower_stops_cleanly(lab: LabRun) -> None:
    """`tracemail ingest --follow` ran through the whole lab (files created, truncated
    and written under it), was stopped and started again across the log rotations
    (live.py), and each run exited 0 on SIGTERM, as under a service manager."""
    live = _live(lab)
    rcs = (live / "rc").read_text(encoding="utf-8").split()
    outs = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(live.glob("out.*"))]
    assert rcs == ["0", "0"], f"exit codes {rcs}: " + " | ".join(o[-600:] for o in outs)
    assert len(outs) == 2 and not any("Traceback" in o for o in outs), outs


def test_live_follower_reads_every_line_once(lab: LabRun) -> None:
    """Across the restart and both rotations, the two runs together read each line of
    the logs exactly once: no line read twice after the restart, none skipped."""
    live = _live(lab)
    read = [int(re.findall(r"^ingested (\d+) lines", p.read_text(encoding="utf-8"), re.M)[-1])
            for p in sorted(live.glob("out.*"))]
    on_disk = 0
    for f in lab.logdir.iterdir():
        with (gzip.open(f, "rb") if f.suffix == ".gz" else f.open("rb")) as fh:
            on_disk += sum(1 for _ in fh)
    assert sum(read) == on_disk, f"runs read {read} lines; the logs hold {on_disk}"


@pytest.mark.parametrize("sid", list(LOCATE))
def test_locate_in_the_live_store_agrees_with_the_logs(lab: LabRun, sid: str) -> None:
    """`locate --store` on what the follower stored live gives the logs' answer."""
    live = _live(lab)
    account = LOCATE[sid][0]
    message_id = _located_id(lab, sid)
    got = tracemail(lab, "locate", message_id, "--account", account,
                    "--store", str(live / "store"), "--format", "json")
    assert got == locate(lab, message_id, account), f"{sid}: {json.dumps(got)[:600]}"


@pytest.mark.parametrize("view", list(VOCABULARY))
def test_live_follower_agrees_with_search(lab: LabRun, view: str) -> None:
    """The store fed live while the daemons wrote (lines arriving in pieces, Rspamd's
    verdicts and Dovecot's deliveries in other files than Postfix's lines) ends up with
    exactly the rows that a search over the finished logs gives: same ids, same fields."""
    live = _live(lab)
    got = tracemail(lab, "search", view, "--store", str(live / "store"), "--format", "json")
    want = {r["id"]: r for r in search(lab, view)}
    have = {r["id"]: r for r in got}
    assert sorted(have) == sorted(want), (
        f"{view}: only live: {sorted(set(have) - set(want))[:5]}; "
        f"only searched: {[brief(want[i]) for i in sorted(set(want) - set(have))[:3]]}"
    )
    differ = [
        f"{i}: " + ", ".join(f"{k} {want[i].get(k)!r} -> {v!r}"
                             for k, v in have[i].items() if v != want[i].get(k))
        for i in sorted(want) if have[i] != want[i]
    ]
    assert not differ, f"{view}: {len(differ)} rows differ: " + " | ".join(differ[:4])
