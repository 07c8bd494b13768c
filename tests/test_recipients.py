"""Recipients Postfix does not name: a milter reject/hold of a message to several
recipients logs one of them; Rspamd's task log lists the whole envelope.

Lines are in the real daemons' forms (tests/fixtures/real: R07, R09, R14; R17 of the
integration lab for a message without a Message-ID).
"""

from __future__ import annotations

import polars as pl

from tracemail_tui.store import engine
from tracemail_tui.store.parse.header import split_lines

QID = "9B206162573"
MID = "<r16.6acd47.aa11bb@remote.test>"


def _frame(lines: list[str]) -> pl.DataFrame:
    return split_lines(pl.Series("raw", lines, pl.String), host="mx01", year=2026)


def _postfix(qid: str, action: str, first: str, text: str, mid: str = MID) -> list[str]:
    tail = "from=<winner@remote.test> to=<{}> proto=ESMTP helo=<smtp.remote.test>"
    return [
        f"Nov 27 05:40:03 mx01 postfix/smtpd[10034]: {qid}: client=unknown[127.0.0.11]",
        f"Nov 27 05:40:03 mx01 postfix/cleanup[10039]: {qid}: info: header Subject: You have "
        f"WON!!! from unknown[127.0.0.11]; {tail.format(first)}",
        f"Nov 27 05:40:03 mx01 postfix/cleanup[10039]: {qid}: message-id={mid}",
        f"Nov 27 05:40:03 mx01 postfix/cleanup[10039]: {qid}: {action}: END-OF-MESSAGE from "
        f"unknown[127.0.0.11]: {text}; {tail.format(first)}",
    ]


def _rspamd(qid: str, rcpts: str, action: str = "reject", mid: str = MID) -> str:
    return (
        f"2026-11-27 05:40:03 #9883(rspamd_proxy) <0c9a3e>; proxy; rspamd_task_write_log: "
        f"id: {mid}, qid: <{qid}>, ip: 127.0.0.11, from: <winner@remote.test>, (default: T "
        f"({action}): [1006.50/15.00] [GTUBE(0.00){{}}]), len: 512, time: 12.1ms, dns req: 0, "
        f"digest: <0123456789abcdef0123456789abcdef>, rcpts: <{rcpts}>, mime_rcpts: <{rcpts}>"
    )


def _received(lines: list[list[str]]) -> pl.DataFrame:
    got = engine.run_lines([_frame(chunk) for chunk in lines])
    return got["received"].sort("recipient")


def test_milter_reject_has_a_row_per_envelope_recipient() -> None:
    pf = _postfix(QID, "milter-reject", "bob@example.com", "5.7.1 Gtube pattern")
    rows = _received([[*pf, _rspamd(QID, "bob@example.com,carol@example.org")]])
    assert rows.select("recipient", "status", "reason", "dsn", "spam_action",
                       "domain").rows() == [
        ("bob@example.com", "rejected", "Gtube pattern", "5.7.1", "reject", "example.com"),
        ("carol@example.org", "rejected", "Gtube pattern", "5.7.1", "reject", "example.org"),
    ]
    assert rows.get_column("id").n_unique() == 2
    assert set(rows.get_column("queue_id")) == {QID}


def test_message_without_message_id_matches_its_scan_by_queue_id() -> None:
    """Lab R17: spam often has no Message-ID. Postfix logs `message-id=<>`, Rspamd
    `id: <undef>`; the envelope then comes from the scan of the same (host, queue id)."""
    pf = _postfix(QID, "milter-reject", "dave@example.org", "5.7.1 Gtube pattern", mid="<>")
    rows = _received([[*pf, _rspamd(QID, "bob@example.com,dave@example.org", mid="<undef>")]])
    assert rows.select("recipient", "status", "spam_action", "message_id").rows() == [
        ("bob@example.com", "rejected", "reject", None),
        ("dave@example.org", "rejected", "reject", None),
    ]


def test_one_side_without_message_id_lends_no_envelope() -> None:
    """A scan that names a Message-ID belongs to another message than one without
    (and the other way round): the verdict still shows, the envelope does not."""
    for pf_mid, sp_mid in (("<>", MID), (MID, "<undef>")):
        pf = _postfix(QID, "milter-reject", "dave@example.org", "5.7.1 Gtube pattern",
                      mid=pf_mid)
        rows = _received([[*pf, _rspamd(QID, "bob@example.com,dave@example.org", mid=sp_mid)]])
        assert rows.select("recipient", "spam_action").rows() == [
            ("dave@example.org", "reject")], (pf_mid, sp_mid)


def test_milter_hold_quarantines_every_recipient() -> None:
    pf = _postfix(QID, "milter-hold", "alice@example.com", "milter triggers HOLD action")
    rows = _received([[*pf, _rspamd(QID, "alice@example.com,dave@example.org", "quarantine")]])
    assert rows.select("recipient", "status", "delivery").rows() == [
        ("alice@example.com", "quarantined", "held"),
        ("dave@example.org", "quarantined", "held"),
    ]


def test_verdict_in_a_later_chunk_adds_the_others() -> None:
    """The Rspamd file is read apart from mail.log: its line may come a chunk later."""
    pf = _postfix(QID, "milter-reject", "bob@example.com", "5.7.1 Gtube pattern")
    eng = engine.Engine()
    first = eng.feed(_frame(pf))["received"]
    assert first.get_column("recipient").to_list() == ["bob@example.com"]
    later = eng.feed(_frame([_rspamd(QID, "bob@example.com,carol@example.org")]))["received"]
    assert sorted(later.get_column("recipient")) == ["bob@example.com", "carol@example.org"]
    # bob keeps his id: the row is updated, not replaced.
    assert first.get_column("id")[0] in later.get_column("id").to_list()


def test_rspamd_alias_and_cut_list_add_no_false_recipient() -> None:
    """Rspamd also lists "alice@" for "alice+news@" (real log, R02), and cuts long lists
    with a "..." element."""
    pf = _postfix(QID, "milter-reject", "alice+news@example.com", "5.7.1 Gtube pattern")
    rcpts = ("alice+news@example.com,alice@example.com,first.last@googlemail.com,"
             "firstlast@gmail.com,...")
    rows = _received([[*pf, _rspamd(QID, rcpts)]])
    assert rows.get_column("recipient").to_list() == [
        "alice+news@example.com", "first.last@googlemail.com"]


def test_delivered_and_rcpt_rejected_recipients_are_not_repeated() -> None:
    """R14: bob delivered, ghost refused at RCPT, sales@ expanded by an alias: Rspamd's
    "bob,sales" adds nothing, and an undelivered one shows as still in the queue."""
    q = "AA119162551"
    lines = [
        f"Nov 27 05:40:11 mx01 postfix/smtpd[10034]: {q}: client=unknown[127.0.0.10]",
        f"Nov 27 05:40:11 mx01 postfix/smtpd[10034]: {q}: reject: RCPT from unknown[127.0.0.10]: "
        "550 5.1.1 <ghost@example.org>: Recipient address rejected: User unknown in virtual "
        "mailbox table; from=<petra@partner.test> to=<ghost@example.org> proto=ESMTP "
        "helo=<mail.partner.test>",
        f"Nov 27 05:40:11 mx01 postfix/cleanup[10039]: {q}: message-id={MID}",
        f"Nov 27 05:40:11 mx01 postfix/qmgr[9978]: {q}: from=<petra@partner.test>, size=600, "
        "nrcpt=4 (queue active)",
        f"Nov 27 05:40:11 mx01 postfix/lmtp[10040]: {q}: to=<gina@example.com>, "
        "orig_to=<sales@example.org>, relay=mx01.example.com[private/dovecot-lmtp], delay=0.06, "
        "delays=0.05/0/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 <gina@example.com> "
        "YEpgLLsXCWs5JwAAg+zDdQ:R2 Saved)",
        f"Nov 27 05:40:11 mx01 postfix/lmtp[10040]: {q}: to=<bob@example.com>, "
        "relay=mx01.example.com[private/dovecot-lmtp], delay=0.06, delays=0.05/0/0/0.01, "
        "dsn=2.0.0, status=sent (250 2.0.0 <bob@example.com> YEpgLLsXCWs5JwAAg+zDdQ:R1 Saved)",
        _rspamd(q, "bob@example.com,ghost@example.org,sales@example.org,eve@example.com",
                "no action"),
    ]
    rows = _received([lines])
    assert rows.select("recipient", "status", "delivery").rows() == [
        ("bob@example.com", "accepted", "delivered"),
        ("eve@example.com", "accepted", None),
        ("ghost@example.org", "rejected", None),
        ("gina@example.com", "accepted", "delivered"),
    ]


def test_queued_recipients_become_deliveries_without_leftover_rows() -> None:
    """In the queue, every scanned recipient shows (Rspamd listed them); once Postfix
    delivers, their rows are the deliveries, under the same ids, and no extra row stays."""
    q = "5BEF4162570"
    head = [
        f"Nov 27 05:41:00 mx01 postfix/smtpd[10034]: {q}: client=unknown[127.0.0.10]",
        f"Nov 27 05:41:00 mx01 postfix/cleanup[10039]: {q}: info: header Subject: Hi from "
        "unknown[127.0.0.10]; from=<petra@partner.test> to=<bob@example.com> proto=ESMTP "
        "helo=<mail.partner.test>",
        f"Nov 27 05:41:00 mx01 postfix/cleanup[10039]: {q}: message-id={MID}",
        f"Nov 27 05:41:00 mx01 postfix/qmgr[9978]: {q}: from=<petra@partner.test>, size=600, "
        "nrcpt=2 (queue active)",
        _rspamd(q, "bob@example.com,carol@example.org", "no action"),
    ]
    tail = [
        f"Nov 27 05:41:01 mx01 postfix/lmtp[10040]: {q}: to=<{rcpt}>, "
        "relay=mx01.example.com[private/dovecot-lmtp], delay=0.06, delays=0.05/0/0/0.01, "
        f"dsn=2.0.0, status=sent (250 2.0.0 <{rcpt}> YEpgLLsXCWs5JwAAg+zDdQ:R{n} Saved)"
        for n, rcpt in ((1, "bob@example.com"), (2, "carol@example.org"))
    ] + [f"Nov 27 05:41:01 mx01 postfix/qmgr[9978]: {q}: removed"]
    eng = engine.Engine()
    queued = eng.feed(_frame(head))["received"].sort("recipient")
    assert queued.select("recipient", "delivery").rows() == [
        ("bob@example.com", None), ("carol@example.org", None)]
    done = engine.run_lines([_frame(head), _frame(tail)])["received"].sort("recipient")
    assert done.select("recipient", "delivery").rows() == [
        ("bob@example.com", "delivered"), ("carol@example.org", "delivered")]
    assert sorted(done.get_column("id")) == sorted(queued.get_column("id"))


def test_a_scan_hours_away_lends_no_recipients() -> None:
    """Queue ids are reused: a later instance of the same id (here even with the same
    Message-ID, as a replayed log might show) does not take an old scan's envelope."""
    delivered = [
        f"Nov 27 05:40:04 mx01 postfix/lmtp[10040]: {QID}: to=<{rcpt}>, "
        "relay=mx01.example.com[private/dovecot-lmtp], delay=0.06, delays=0.05/0/0/0.01, "
        f"dsn=2.0.0, status=sent (250 2.0.0 <{rcpt}> YEpgLLsXCWs5JwAAg+zDdQ:R{n} Saved)"
        for n, rcpt in ((1, "bob@example.com"), (2, "carol@example.org"))
    ]
    first = [*_postfix(QID, "info", "bob@example.com", "x")[:3],
             _rspamd(QID, "bob@example.com,carol@example.org", "no action"), *delivered,
             f"Nov 27 05:40:05 mx01 postfix/qmgr[9978]: {QID}: removed"]
    later = [line.replace("Nov 27 05:40:03", "Nov 27 09:40:03") for line in
             _postfix(QID, "milter-hold", "bob@example.com", "milter triggers HOLD action")]
    rows = _received([first, later])
    by_hour = rows.group_by(pl.col("time").dt.hour()).agg(pl.col("recipient").sort())
    assert dict(by_hour.iter_rows()) == {
        5: ["bob@example.com", "carol@example.org"], 9: ["bob@example.com"]}
