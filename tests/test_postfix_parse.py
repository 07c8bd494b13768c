"""Postfix line forms beyond the lab run: postscreen, expiry, postsuper, header/milter
actions, long queue ids; every line is an event or a counted ignore, none unparsed."""

from __future__ import annotations

import polars as pl

from tracemail_tui.store import engine
from tracemail_tui.store.parse import postfix
from tracemail_tui.store.parse.header import split_lines

P = "Nov 27 06:00:00 mx9 postfix"
LINES = [
    f"{P}/postscreen[11]: NOQUEUE: reject: RCPT from [198.51.100.7]:40000: 550 5.7.1 Service "
    "unavailable; client [198.51.100.7] blocked using zen.spamhaus.org; from=<s@spam.test>, "
    "to=<u@ours.test>, proto=ESMTP, helo=<spam.test>",
    f"{P}/postscreen[11]: CONNECT from [198.51.100.7]:40000 to [192.0.2.1]:25",
    f"{P}/postscreen[11]: DNSBL rank 3 for [198.51.100.7]:40000",
    f"{P}/qmgr[12]: 4PZ0Lx3Sb8z9tGx: from=<a@ours.test>, status=expired, returned to sender",
    f"{P}/postsuper[13]: 3B1C2D4E5F: placed on hold",
    f"{P}/postsuper[13]: 3B1C2D4E5F: released from hold",
    f"{P}/postsuper[13]: Deleted: 1 message",
    f"{P}/cleanup[14]: 5A6B7C8D9E: reject: header Subject: win money from x[203.0.113.9]; "
    "from=<a@x.test> to=<u@ours.test> proto=ESMTP helo=<x>: 5.7.1 no thanks",
    f"{P}/cleanup[14]: 5A6B7C8D9F: milter-discard: END-OF-MESSAGE from x[203.0.113.9]: "
    "milter triggers DISCARD action; from=<a@x.test> to=<u@ours.test> proto=ESMTP helo=<x>",
    f"{P}/local[15]: 6A6B7C8D9E: to=<u@ours.test>, orig_to=<alias@ours.test>, relay=local, "
    "delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (forwarded as 7A6B7C8D9E)",
    f"{P}/smtp[16]: 4PZ0Lx3Sb8z9tGx: to=<r@far.test>, relay=mx.far.test[203.0.113.5]:25, "
    "conn_use=2, delay=5, delays=1/0/2/2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
    "4PZ0Lx3Sb8z9tGy)",
    f"{P}/error[17]: 8A6B7C8D9E: to=<r@far.test>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=4.4.1, status=deferred (delivery temporarily suspended)",
]


def _events() -> postfix.PostfixEvents:
    lines = split_lines(pl.Series("raw", LINES, pl.String), year=2026)
    return postfix.parse(lines)


def test_every_line_understood() -> None:
    ev = _events()
    assert ev.unparsed.height == 0, ev.unparsed
    assert int(ev.ignored["n"].sum()) == 3


def test_postfix_script_lines_are_known() -> None:
    """What `postfix start|stop|reload|status|logrotate` log (a CI lab run met "waiting for
    the Postfix mail system to terminate" when stopping took a moment)."""
    lines = [
        f"{P}/postfix-script[1]: starting the Postfix mail system",
        f"{P}/postfix-script[2]: stopping the Postfix mail system",
        f"{P}/postfix-script[3]: waiting for the Postfix mail system to terminate",
        f"{P}/postfix-script[4]: refreshing the Postfix mail system",
        f"{P}/postfix-script[5]: the Postfix mail system is running: PID: 9976",
        f"{P}/postfix-script[6]: the Postfix mail system is not running",
        f"{P}/postfix/postlog[7]: Postfix is using backwards-compatible default settings",
    ]
    ev = postfix.parse(split_lines(pl.Series(lines), year=2026))
    assert ev.unparsed.height == 0, ev.unparsed
    assert int(ev.ignored["n"].sum()) == len(lines)


def test_fields() -> None:
    e = _events().events
    ps = e.filter(pl.col("program") == "postfix/postscreen").row(0, named=True)
    assert (ps["kind"], ps["client_ip"], ps["sender"], ps["recipient"], ps["dsn"]) == (
        "reject", "198.51.100.7", "s@spam.test", "u@ours.test", "5.7.1")
    assert ps["text"].startswith("550 5.7.1 Service unavailable")
    kinds = dict(e.select("qid", "kind").filter(pl.col("qid").is_not_null()).iter_rows())
    assert kinds["4PZ0Lx3Sb8z9tGx"] in ("expired", "delivery")
    hdr = e.filter((pl.col("qid") == "5A6B7C8D9E") & (pl.col("kind") == "action")).row(
        0, named=True)
    assert (hdr["status"], hdr["dsn"], hdr["text"]) == ("reject", "5.7.1", "no thanks")
    disc = e.filter(pl.col("qid") == "5A6B7C8D9F").row(0, named=True)
    assert (disc["kind"], disc["status"]) == ("action", "discard")
    fwd = e.filter(pl.col("qid") == "6A6B7C8D9E").row(0, named=True)
    assert (fwd["orig_to"], fwd["relay"], fwd["status"]) == ("alias@ours.test", "local", "sent")
    out = e.filter((pl.col("qid") == "4PZ0Lx3Sb8z9tGx") & (pl.col("kind") == "delivery"))
    assert out.row(0, named=True)["link_qid"] == "4PZ0Lx3Sb8z9tGy"
    assert out.row(0, named=True)["delay"] == 5.0


def test_rows_from_these_lines() -> None:
    lines = split_lines(pl.Series("raw", LINES, pl.String), year=2026)
    res = engine.run_lines([lines])
    rec = res["received"]
    ps = rec.filter(pl.col("client_ip") == "198.51.100.7").row(0, named=True)
    assert ps["status"] == "rejected" and ps["client_host"] is None
    hdr = rec.filter(pl.col("queue_id") == "5A6B7C8D9E").row(0, named=True)
    assert hdr["status"] == "rejected" and hdr["reason"] == "no thanks"
    disc = rec.filter(pl.col("queue_id") == "5A6B7C8D9F").row(0, named=True)
    assert disc["status"] == "accepted" and disc["delivery"] == "discarded"


def test_message_over_the_size_limit_is_rejected_not_accepted() -> None:
    """Lab R19: without SIZE in MAIL FROM, a message over message_size_limit is refused
    during DATA (552 5.3.4); the log has only smtpd's (at times also cleanup's) warning, no
    reject line and no "removed". It used to show as accepted and waiting forever."""
    q = "8B2A316867B"
    lines = [
        f"{P}/smtpd[20639]: connect from unknown[127.0.0.10]",
        f"{P}/smtpd[20639]: {q}: client=unknown[127.0.0.10]",
        f"{P}/cleanup[20644]: {q}: info: header Subject: Scans of the whole archive from "
        "unknown[127.0.0.10]; from=<petra@partner.test> to=<alice@example.com> proto=ESMTP "
        "helo=<mail.partner.test>",
        f"{P}/cleanup[20644]: {q}: message-id=<r19.3d0407.1b23df@partner.test>",
        f"{P}/smtpd[20639]: warning: {q}: queue file size limit exceeded",
        f"{P}/cleanup[20644]: warning: {q}: queue file size limit exceeded",
        f"{P}/cleanup[20644]: warning: mail_stream_cleanup: close error",
        f"{P}/smtpd[20639]: disconnect from unknown[127.0.0.10] ehlo=1 mail=1 rcpt=1 data=0/1 "
        "quit=1 commands=4/5",
    ]
    frame = split_lines(pl.Series(lines), year=2026)
    parsed = postfix.parse(frame)
    assert parsed.unparsed.get_column("n").sum() == 0
    rows = engine.run_lines([frame])["received"]
    assert rows.select("recipient", "status", "reason", "dsn", "delivery", "queue_id").rows() == [
        ("alice@example.com", "rejected", "message file too big (queue file size limit exceeded)",
         "5.3.4", None, q)]
    # A hostile subject cannot fake the warning: it is anchored to the whole line.
    fake = [*lines[:4], f"{P}/smtpd[20639]: warning: {q}: queue file size limit exceeded; x"]
    got = engine.run_lines([split_lines(pl.Series(fake), year=2026)])["received"]
    assert got.select("status", "reason").rows() == [("accepted", None)]


CUT = "7B47F16867A"
CUT_LINES = [  # lab: the client sent half a message, then closed the connection
    f"{P}/smtpd[25145]: connect from unknown[127.0.0.10]",
    f"{P}/smtpd[25145]: {CUT}: client=unknown[127.0.0.10]",
    f"{P}/smtpd[25145]: lost connection after DATA (112 bytes) from unknown[127.0.0.10]",
    f"{P}/smtpd[25145]: disconnect from unknown[127.0.0.10] ehlo=1 mail=1 rcpt=2 data=0/1 "
    "commands=4/5",
    f"{P}/cleanup[25150]: {CUT}: info: header Subject: cut short from unknown[127.0.0.10]; "
    "from=<petra@partner.test> to=<bob@example.com> proto=ESMTP helo=<mail.partner.test>",
    f"{P}/cleanup[25150]: {CUT}: message-id=<cut1@partner.test>",
]


def _run(*chunks: list[str]) -> engine.Result:
    """The engine fed each list of raw lines as one chunk, in order."""
    return engine.run_lines([split_lines(pl.Series(c), year=2026) for c in chunks])


def _received(*chunks: list[str]) -> pl.DataFrame:
    return _run(*chunks)["received"]


def test_session_lost_in_data_rejects_its_message() -> None:
    """Real smtpd lines: the message was never received, so it is not "accepted"."""
    want = [("bob@example.com", "rejected", "lost connection after DATA (112 bytes)", None)]
    cols = ("recipient", "status", "reason", "delivery")
    assert _received(CUT_LINES).select(cols).rows() == want
    # The smtpd line in a later chunk than the client= line: linked through the state.
    assert _received(CUT_LINES[:2], CUT_LINES[2:]).select(cols).rows() == want
    timeout = [ln.replace("lost connection after", "timeout after") for ln in CUT_LINES]
    assert _received(timeout).get_column("status").to_list() == ["rejected"]


def test_lost_session_never_marks_another_message() -> None:
    """Only the same smtpd process's last unfinished message; never a queued one, and
    never after END-OF-MESSAGE (that message may have been queued)."""
    other_pid = [ln.replace("smtpd[25145]: lost", "smtpd[999]: lost") for ln in CUT_LINES]
    assert _received(other_pid).get_column("status").to_list() == ["accepted"]
    after_eom = [ln.replace("after DATA (112 bytes)", "after END-OF-MESSAGE") for ln in CUT_LINES]
    assert _received(after_eom).get_column("status").to_list() == ["accepted"]
    # Read from the middle: this session's client= line is missing; the process's previous
    # message was received whole (qmgr has it, not delivered yet) and stays accepted.
    queued = [
        f"{P}/smtpd[25145]: 1A2B3C4D5E: client=unknown[127.0.0.10]",
        f"{P}/cleanup[25150]: 1A2B3C4D5E: info: header Subject: hi from unknown[127.0.0.10]; "
        "from=<petra@partner.test> to=<bob@example.com> proto=ESMTP helo=<mail.partner.test>",
        f"{P}/qmgr[9]: 1A2B3C4D5E: from=<petra@partner.test>, size=600, nrcpt=1 (queue active)",
        CUT_LINES[2],
    ]
    assert _received(queued).select("status", "reason").rows() == [("accepted", None)]


def test_sender_verification_probe_is_no_message() -> None:
    """Lab (Postfix 3.7): MAIL FROM:<>, RCPT, QUIT opens a queue file (client=) and ends.
    No message was received: no row, where there used to be an "accepted" one with no
    sender and no recipient. A message under way still shows once cleanup has seen it."""
    q = "EEF7E16869B"
    probe = [
        f"{P}/smtpd[6253]: connect from unknown[127.0.0.10]",
        f"{P}/smtpd[6253]: {q}: client=unknown[127.0.0.10]",
        f"{P}/smtpd[6253]: disconnect from unknown[127.0.0.10] ehlo=1 mail=1 rcpt=1 quit=1 "
        "commands=4",
    ]
    assert _received(probe).height == 0
    under_way = [*probe[:2], f"{P}/cleanup[7]: {q}: message-id=<m1@partner.test>"]
    assert _received(under_way).select("status", "recipient").rows() == [("accepted", None)]


HELD, DEFERRED = "794DD16870E", "8AF28168710"
DELETED_LINES = [  # lab (Postfix 3.7): `postsuper -d QID hold`, `postsuper -d QID deferred`
    f"{P}/smtpd[31465]: {HELD}: client=unknown[127.0.0.10]",
    f"{P}/cleanup[31470]: {HELD}: info: header Subject: probe held from unknown[127.0.0.10]; "
    "from=<zed@partner.test> to=<alice@example.com> proto=ESMTP helo=<mail.partner.test>",
    f"{P}/cleanup[31470]: {HELD}: hold: header X-Lab-Hold: yes from unknown[127.0.0.10]; "
    "from=<zed@partner.test> to=<alice@example.com> proto=ESMTP helo=<mail.partner.test>: "
    "lab policy hold",
    f"{P}/cleanup[31470]: {HELD}: message-id=<probe-held@probe.test>",
    f"{P}/submission/smtpd[31516]: {DEFERRED}: client=unknown[127.0.0.30], sasl_method=PLAIN, "
    "sasl_username=bob@example.com",
    f"{P}/cleanup[31470]: {DEFERRED}: message-id=<probe-deferred@probe.test>",
    f"{P}/qmgr[31370]: {DEFERRED}: from=<bob@example.com>, size=351, nrcpt=2 (queue active)",
    f"{P}/smtp[31517]: {DEFERRED}: to=<defer.probe@remote.test>, relay=127.0.0.2[127.0.0.2]:2525,"
    " delay=0.07, delays=0.05/0.01/0/0.01, dsn=4.3.0, status=deferred (host 127.0.0.2[127.0.0.2]"
    " said: 451 4.3.0 <defer.probe@remote.test>: Temporary lookup failure, try again later "
    "(lab sink) (in reply to RCPT TO command))",
    f"{P}/smtp[31517]: {DEFERRED}: to=<ok.probe@remote.test>, relay=127.0.0.2[127.0.0.2]:2525, "
    "delay=0.08, delays=0.05/0.01/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
    "SINK31260000001)",
]
DELETIONS = [
    f"{P}/postsuper[31537]: {HELD}: removed",
    f"{P}/postsuper[31537]: Deleted: 1 message",
    f"{P}/postsuper[31538]: {DEFERRED}: removed",
    f"{P}/postsuper[31538]: Deleted: 1 message",
]


def test_messages_deleted_from_the_queue_are_not_held_nor_queued() -> None:
    """Lab: an administrator deleted a held and a deferred message (`postsuper -d`). They
    used to stay "held" and "queued" for ever; a recipient delivered before stays so."""
    frame = split_lines(pl.Series(DELETED_LINES + DELETIONS), year=2026)
    parsed = postfix.parse(frame)
    assert parsed.unparsed.get_column("n").sum() == 0
    res = engine.run_lines([frame])
    rec = res["received"].filter(pl.col("queue_id") == HELD)
    assert rec.select("recipient", "status", "delivery", "reason").rows() == [
        ("alice@example.com", "quarantined", "deleted", "lab policy hold")]
    sent = res["sent"].sort("recipient").select("recipient", "status", "reason").rows()
    assert sent[0][:2] == ("defer.probe@remote.test", "rejected")
    assert sent[0][2].startswith(
        "deleted from the queue by an administrator (postsuper); last attempt: host 127.0.0.2")
    assert sent[1] == ("ok.probe@remote.test", "delivered", None)
    # Before the deletion (or had qmgr removed them): held and queued, as before.
    before = _run(DELETED_LINES)
    assert before["received"].get_column("delivery").to_list() == ["held"]
    assert sorted(before["sent"].get_column("status").to_list()) == ["delivered", "queued"]
    by_qmgr = [ln.replace("postsuper[31538]", "qmgr[31370]") for ln in DELETIONS[2:3]]
    qmgr = _run(DELETED_LINES + by_qmgr)
    assert sorted(qmgr["sent"].get_column("status").to_list()) == ["delivered", "queued"]
    # The deletion read in a later chunk than the rest (a live tail): the rows change.
    later = _run(DELETED_LINES, DELETIONS)
    assert later["received"].get_column("delivery").to_list() == ["deleted"]
    assert sorted(later["sent"].get_column("status").to_list()) == ["delivered", "rejected"]


PROBE_LINES = [  # lab (Postfix 3.7): reject_unverified_recipient for relay.test
    f"{P}/smtpd[7975]: connect from unknown[127.0.0.10]",
    f"{P}/verify[7980]: cache internal:verify full cleanup: retained=0 dropped=0 entries",
    f"{P}/cleanup[7981]: CE0491686A4: message-id=<20261127160143.CE0491686A4@mx01.example.com>",
    f"{P}/qmgr[7834]: CE0491686A4: from=<double-bounce@example.com>, size=268, nrcpt=1 "
    "(queue active)",
    f"{P}/smtp[7982]: CE0491686A4: to=<ok.verify@relay.test>, relay=127.0.0.2[127.0.0.2]:2525, "
    "delay=0.02, delays=0/0.01/0.01/0, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)",
    f"{P}/qmgr[7834]: CE0491686A4: removed",
    f"{P}/smtpd[7975]: CE5A81686A5: client=unknown[127.0.0.10]",
    f"{P}/cleanup[7983]: D60F61686A6: message-id=<20261127160146.D60F61686A6@mx01.example.com>",
    f"{P}/qmgr[7834]: D60F61686A6: from=<double-bounce@example.com>, size=268, nrcpt=1 "
    "(queue active)",
    f"{P}/smtp[7982]: D60F61686A6: to=<reject.verify@relay.test>, relay=127.0.0.2[127.0.0.2]:2525"
    ", delay=0.03, delays=0/0/0.02/0.01, dsn=5.1.1, status=undeliverable (host 127.0.0.2"
    "[127.0.0.2] said: 550 5.1.1 <reject.verify@relay.test>: Recipient address rejected: User "
    "unknown in lab sink (in reply to RCPT TO command))",
    f"{P}/qmgr[7834]: D60F61686A6: removed",
    f"{P}/smtpd[7975]: CE5A81686A5: reject: RCPT from unknown[127.0.0.10]: 450 4.1.1 "
    "<reject.verify@relay.test>: Recipient address rejected: unverified address: host 127.0.0.2"
    "[127.0.0.2] said: 550 5.1.1 <reject.verify@relay.test>: Recipient address rejected: User "
    "unknown in lab sink (in reply to RCPT TO command); from=<petra@partner.test> "
    "to=<reject.verify@relay.test> proto=ESMTP helo=<mail.partner.test>",
    f"{P}/cleanup[7981]: CE5A81686A5: message-id=<relay-probe-1@partner.test>",
    f"{P}/qmgr[7834]: CE5A81686A5: from=<petra@partner.test>, size=351, nrcpt=1 (queue active)",
    f"{P}/smtp[7982]: CE5A81686A5: to=<ok.verify@relay.test>, relay=127.0.0.2[127.0.0.2]:2525, "
    "delay=6.3, delays=6.2/0/0.01/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
    "SINK07724000001)",
    f"{P}/qmgr[7834]: CE5A81686A5: removed",
]


def test_address_verification_probes_are_no_mail() -> None:
    """Lab: verify(8)'s probes (from double-bounce@, status=deliverable/undeliverable) used
    to show as two sent messages, "queued" for ever. Only the real message has rows."""
    frame = split_lines(pl.Series(PROBE_LINES), year=2026)
    assert postfix.parse(frame).unparsed.get_column("n").sum() == 0
    for chunks in ([PROBE_LINES], [PROBE_LINES[:3], PROBE_LINES[3:]]):
        res = _run(*chunks)
        assert res["sent"].height == 0
        assert sorted(res["received"].select("recipient", "status").rows()) == [
            ("ok.verify@relay.test", "accepted"), ("reject.verify@relay.test", "rejected")]


def test_rejects_before_any_recipient_and_delay_notices() -> None:
    """Lab (Postfix 3.7, smtpd_delay_reject=no, delay_warning_time): a client refused at
    CONNECT (no sender, recipient nor HELO) used to give an "accepted" received row and a
    "queued" sent row with nothing in them; the delay notice line was counted unparsed."""
    lines = [
        f"{P}/smtpd[12213]: connect from unknown[127.0.0.66]",
        f"{P}/smtpd[12213]: NOQUEUE: reject: CONNECT from unknown[127.0.0.66]: 554 5.7.1 "
        "<unknown[127.0.0.66]>: Client host rejected: lab blocklist; proto=SMTP",
        f"{P}/smtpd[12213]: lost connection after CONNECT from unknown[127.0.0.66]",
        f"{P}/submission/smtpd[12218]: NOQUEUE: reject: CONNECT from unknown[127.0.0.30]: 554 "
        "5.7.1 <unknown[127.0.0.30]>: Client host rejected: Access denied; proto=SMTP",
        f"{P}/bounce[12290]: B2684168731: sender delay notification: D3E4716873B",
        f"{P}/cleanup[12287]: D3E4716873B: message-id=<20261127160718.D3E4716873B@mx01.example"
        ".com>",
        f"{P}/qmgr[12276]: D3E4716873B: from=<>, size=2666, nrcpt=1 (queue active)",
        # Forms from Postfix's source, not seen in the lab: a milter refusing at RCPT
        # (smtpd's log_whatsup, as the lab's "QID: milter-reject: END-OF-MESSAGE"), and
        # postscreen's DNSBL helper (dnsblog.c).
        f"{P}/smtpd[7]: NOQUEUE: milter-reject: RCPT from unknown[192.0.2.9]: 451 4.7.1 "
        "Service unavailable - try again later; from=<a@b.test> to=<c@ours.test> proto=ESMTP "
        "helo=<b.test>",
        f"{P}/dnsblog[15]: addr 192.0.2.9 listed by domain zen.spamhaus.org as 127.0.0.2",
    ]
    frame = split_lines(pl.Series(lines), year=2026)
    parsed = postfix.parse(frame)
    assert parsed.unparsed.get_column("n").sum() == 0
    assert parsed.ignored.get_column("n").sum() == 3  # connect, lost connection, dnsblog
    notice = parsed.events.filter(pl.col("kind") == "ndr_of").row(0, named=True)
    assert (notice["qid"], notice["link_qid"]) == ("D3E4716873B", "B2684168731")
    res = engine.run_lines([frame])
    cols = ("client_ip", "recipient", "status", "reason", "dsn")
    assert sorted(res["received"].filter(pl.col("queue_id").is_null()).select(cols).rows(),
                  key=str) == [
        ("127.0.0.66", None, "rejected", "Client host rejected: lab blocklist", "5.7.1"),
        ("192.0.2.9", "c@ours.test", "rejected", "Service unavailable - try again later",
         "4.7.1"),
    ]
    sent = res["sent"].rows(named=True)
    assert [(r["recipient"], r["status"], r["reason"]) for r in sent] == [
        (None, "rejected", "Client host rejected: Access denied")]


def test_mail_our_alias_forwards_outside_is_our_users_received_mail() -> None:
    """Lab R26 (Postfix 3.7): kim@ and leo@ are virtual aliases of outside addresses, so
    Postfix forwards the message itself, logging `orig_to=` our address. The rows used to
    be about the outside address (recipient kim.home@partner.test, domain partner.test,
    delivery "delivered"): a search for kim@ or example.org did not find the invoice."""
    q = "13ABA168771"
    lines = [
        f"{P}/smtpd[20079]: {q}: client=unknown[127.0.0.10]",
        f"{P}/cleanup[20085]: {q}: message-id=<r26.be30e4.63616d@partner.test>",
        f"{P}/qmgr[19998]: {q}: from=<petra@partner.test>, size=500, nrcpt=2 (queue active)",
        f"{P}/smtp[20165]: {q}: to=<defer.leo@remote.test>, orig_to=<leo@example.org>, "
        "relay=127.0.0.2[127.0.0.2]:2525, delay=0.06, delays=0.05/0/0/0.01, dsn=4.3.0, "
        "status=deferred (host 127.0.0.2[127.0.0.2] said: 451 4.3.0 <defer.leo@remote.test>: "
        "Temporary lookup failure, try again later (lab sink) (in reply to RCPT TO command))",
        f"{P}/smtp[20165]: {q}: to=<kim.home@partner.test>, orig_to=<kim@example.org>, "
        "relay=127.0.0.2[127.0.0.2]:2525, delay=0.06, delays=0.05/0/0/0.01, dsn=2.0.0, "
        "status=sent (250 2.0.0 Ok: queued as SINK19875000004)",
    ]
    cols = ("recipient", "domain", "status", "delivery", "forwarded_to", "dsn")
    for chunks in ([lines], [lines[:4], lines[4:]]):
        res = _run(*chunks)
        assert sorted(res["received"].select(cols).rows()) == [
            ("kim@example.org", "example.org", "accepted", "forwarded",
             "kim.home@partner.test", "2.0.0"),
            ("leo@example.org", "example.org", "accepted", "deferred",
             "defer.leo@remote.test", "4.3.0"),
        ]
        assert res["sent"].height == 0  # nobody of ours sent it


def test_one_failed_mx_of_several_is_known() -> None:
    """smtp_site_fail's notes while Postfix tries the next MX (`QID: TEXT`, no to=): the
    recipient's own to= line tells how the attempt ended, so these are ignored, not
    unparsed (texts of smtp_proto.c / smtp_sasl_proto.c)."""
    q = "3F2A1162555"
    lines = [
        f"{P}/smtp[1]: {q}: Cannot start TLS: handshake failure",
        f"{P}/smtp[1]: {q}: TLS is required, but was not offered by host mx.b.test[192.0.2.1]",
        f"{P}/smtp[1]: {q}: TLS is required, but host mx.b.test[192.0.2.1] refused to start "
        "TLS: 454 4.7.0 TLS not available",
        f"{P}/smtp[1]: {q}: Server certificate not trusted",
        f"{P}/smtp[1]: {q}: SASL authentication failed; server relay.b.test[192.0.2.2] said: "
        "535 5.7.8 Error: authentication failed",
        f"{P}/smtp[1]: {q}: host mx.b.test[192.0.2.1] refused to talk to me: 421 4.7.0 later",
    ]
    ev = postfix.parse(split_lines(pl.Series(lines), year=2026))
    assert ev.unparsed.height == 0, ev.unparsed
    assert int(ev.ignored["n"].sum()) == len(lines)
