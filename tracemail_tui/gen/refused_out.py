"""Submissions smtp1 refuses: outbound spam, sender login mismatch, SASL failures."""

from __future__ import annotations

from tracemail_tui.gen import vocab
from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.outbound import HOST, SVC, Sub, access_truth, ext_addr
from tracemail_tui.gen.rspamd import scan


def spam_out(ctx: Ctx, t: float) -> None:
    """Our user sends spam (or GTUBE): Rspamd rejects it at end of DATA."""
    rng = ctx.rng
    s = Sub(ctx, t)
    a = s.acct
    to = ext_addr(ctx)
    subj = ctx.world.spam_subjects[rng.randrange(len(ctx.world.spam_subjects))]
    msgid = ctx.ids.message_id(t, a.domain)
    s.connect(ctx)
    tt = t + 0.4
    qid = ctx.ids.queue_id(HOST, tt)
    cpid = ctx.pid(HOST, "cleanup")
    ctx.pf(
        tt, HOST, SVC, s.pid, f"{qid}: client={s.client}, sasl_method=PLAIN, sasl_username={a.addr}"
    )
    access_truth(ctx, s, tt, True)
    ctx.pf(
        tt + 0.05,
        HOST,
        "cleanup",
        cpid,
        f"{qid}: info: header {subj.postfix} from {s.client}; {s.tail(a.addr, to)}",
    )
    ctx.pf(tt + 0.05, HOST, "cleanup", cpid, f"{qid}: message-id=<{msgid}>")
    gtube = rng.random() < 0.3
    size = rng.randrange(300, 5000)
    action, score = scan(
        ctx,
        tt + 0.1,
        HOST,
        qid,
        msgid,
        s.ip,
        a.addr,
        [to],
        "gtube" if gtube else "reject",
        size,
        user=a.addr,
    )
    reason = "Gtube pattern" if gtube else "Spam message rejected"
    ctx.pf(
        tt + 0.12,
        HOST,
        "cleanup",
        cpid,
        f"{qid}: milter-reject: END-OF-MESSAGE from "
        f"{s.client}: 5.7.1 {reason}; {s.tail(a.addr, to)}",
    )
    s.disconnect(ctx, tt + 0.14, "auth=1 mail=1 rcpt=1 data=0/1 quit=1", "7/8")
    if ctx.truth_on:
        ctx.truth(
            "sent",
            tt,
            status="rejected",
            reason=reason,
            sender=a.addr,
            recipient=to.lower(),
            domain=a.domain,
            account=a.addr,
            subject=subj.text,
            message_id=msgid,
            queue_id=qid,
            server=HOST,
            dsn="5.7.1",
            spam_action=action,
            spam_score=score,
            blocked=True,
        )


def mismatch(ctx: Ctx, t: float) -> None:
    """Our user tries MAIL FROM another address: 553 sender login mismatch."""
    rng = ctx.rng
    s = Sub(ctx, t, webmail=False)
    a = s.acct
    other = ctx.world.accounts[rng.randrange(len(ctx.world.accounts))].addr
    if other == a.addr:
        other = f"{rng.choice(vocab.ROLES)}@{a.domain}"
    to = ext_addr(ctx)
    s.connect(ctx)
    tt = t + 0.4
    reason = f"Sender address rejected: not owned by user {a.addr}"
    ctx.pf(
        tt,
        HOST,
        SVC,
        s.pid,
        f"NOQUEUE: reject: RCPT from {s.client}: 553 "
        f"5.7.1 <{other}>: {reason}; {s.tail(other, to)}",
    )
    s.disconnect(ctx, tt + 0.05, "auth=1 mail=1 rcpt=0/1 rset=1 quit=1", "7/8")
    if ctx.truth_on:
        ctx.truth(
            "sent",
            tt,
            status="rejected",
            reason=reason,
            sender=other.lower(),
            recipient=to.lower(),
            domain=other.rpartition("@")[2],
            account=a.addr,
            queue_id=None,
            server=HOST,
            dsn="5.7.1",
            blocked=False,
        )


def auth_fail(
    ctx: Ctx, t: float, user: str | None = None, ip: str | None = None, tries: int | None = None
) -> None:
    """Wrong password on submission: one `warning: ... SASL ... authentication failed` per try."""
    rng = ctx.rng
    s = Sub(ctx, t, webmail=False)
    if ip is not None:
        s.ip, s.client = ip, f"unknown[{ip}]"
    u = user or s.acct.addr
    known = u in ctx.world.by_addr
    why, err = ("Password mismatch", "auth-failed") if known else ("unknown user", "unknown-user")
    s.connect(ctx)
    n = tries or rng.choice((1, 2, 2, 3))
    tt = t + 0.3
    for i in range(n):
        tt += rng.uniform(1.0, 5.0)
        mech = "PLAIN" if i % 2 == 0 else "LOGIN"
        ctx.dv(tt - 0.01, "auth", f"passwd-file({u},{s.ip}): {why}")
        ctx.pf(
            tt,
            HOST,
            SVC,
            s.pid,
            f"warning: {s.client}: SASL {mech} authentication "
            f"failed: (reason unavailable), sasl_username={u}",
        )
        access_truth(ctx, s, tt, False, err, u)
    s.disconnect(ctx, tt + 0.1, f"auth=0/{n} quit=1", f"4/{n + 4}")
