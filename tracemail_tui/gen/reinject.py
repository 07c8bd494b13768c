"""Mail Dovecot hands back to Postfix on imap1 (Sieve redirect, vacation replies).

Pigeonhole calls sendmail, so the copy enters through `pickup` with a new queue id,
is scanned again and leaves through `smtp`.
"""

from __future__ import annotations

import zlib

from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.stamps import postfix_secs
from tracemail_tui.gen.world import Account, Subject, make_subject

_VACATION = make_subject("Out of office", False)


def remote_relay(ctx: Ctx, addr: str) -> str:
    """The next hop for an external address: `mx.domain[ip]:25`."""
    dom = addr.rpartition("@")[2]
    h = zlib.crc32(dom.encode())  # deterministic across processes (str hash is not)
    return f"mx.{dom}[203.0.113.{h % 250 + 1}]:25"


def reinject(
    ctx: Ctx,
    t: float,
    sender: str,
    to: str,
    msgid: str | None,
    subj: Subject | None,
    size: int,
    vacation_of: Account | None = None,
) -> None:
    """Re-inject one message on imap1 and deliver it to `to` outside."""
    rng = ctx.rng
    host = "imap1"
    qid = ctx.ids.queue_id(host, t)
    cpid = ctx.pid(host, "cleanup")
    if vacation_of is not None:
        msgid = f"dovecot-sieve-{int(t)}-{rng.randrange(100000, 999999)}-0@imap1.example.net"
        subj = (
            make_subject(f"Out of office: {vacation_of.name} is away", False)
            if rng.random() < 0.7
            else _VACATION
        )
    assert subj is not None and msgid is not None
    ctx.pf(t, host, "pickup", ctx.pid_pickup[host], f"{qid}: uid=5000 from=<{sender}>")
    ctx.pf(
        t + 0.01,
        host,
        "cleanup",
        cpid,
        f"{qid}: info: header {subj.postfix} from local; from=<{sender}> to=<{to}>",
    )
    ctx.pf(t + 0.01, host, "cleanup", cpid, f"{qid}: message-id=<{msgid}>")
    qmgr = ctx.pid_qmgr[host]
    ctx.pf(
        t + 0.02, host, "qmgr", qmgr, f"{qid}: from=<{sender}>, size={size}, nrcpt=1 (queue active)"
    )
    d = rng.uniform(0.2, 1.5)
    ctx.pf(
        t + 0.02 + d,
        host,
        "smtp",
        ctx.pid(host, "smtp"),
        f"{qid}: to=<{to}>, relay={remote_relay(ctx, to)}, delay={postfix_secs(d + 0.02)}, "
        f"delays=0.02/0/{postfix_secs(d / 2)}/{postfix_secs(d / 2)}, dsn=2.0.0, "
        f"status=sent (250 2.0.0 Ok: queued as {ctx.ids.queue_id('remote', t)})",
    )
    ctx.pf(t + 0.03 + d, host, "qmgr", qmgr, f"{qid}: removed")
    if ctx.truth_on:
        relay = remote_relay(ctx, to)
        ctx.truth(
            "sent",
            t,
            status="delivered",
            reason=None,
            sender=sender,
            recipient=to.lower(),
            domain=sender.rpartition("@")[2] or None,  # the contract's sender's domain
            account=None,
            subject=subj.text,
            size=size,
            message_id=msgid,
            queue_id=qid,
            server=host,
            relay_host=relay.partition("[")[0],
            relay_ip=relay.partition("[")[2].partition("]")[0],
            relay_port=25,
            dsn="2.0.0",
            blocked=False,
            auto="vacation" if vacation_of else "redirect",
        )
