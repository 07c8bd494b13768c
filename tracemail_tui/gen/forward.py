"""Inbound mail to an alias of ours that names an outside address (`virtual_alias_maps`).

Postfix forwards such mail itself: the MX delivers it over `smtp` to the outside MX,
logging ``to=<outside>, orig_to=<our alias>`` (lab scenario R26). The outside server may
defer it for a while (greylisting, a timeout), so some copies wait in the queue.
"""

from __future__ import annotations

from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.inbound import Msg, truth_received
from tracemail_tui.gen.reinject import remote_relay
from tracemail_tui.gen.rspamd import scan
from tracemail_tui.gen.stamps import postfix_secs

# What outside servers answer a forward they do not take yet (real Postfix smtp forms).
_DEFER_TEXTS = (
    "host {mx} said: 451 4.7.1 <{to}>: Recipient address rejected: Greylisted, try again "
    "later (in reply to RCPT TO command)",
    "connect to {mx}: Connection timed out",
)


def alias_forward(ctx: Ctx, t: float) -> None:
    """One message to a forwarding alias; delivered outside, or deferred and retried."""
    world, rng = ctx.world, ctx.rng
    if not world.forwards:
        return
    alias = world.forward_aliases[rng.randrange(len(world.forward_aliases))]
    to = world.forwards[alias]
    m = Msg(ctx, t)
    m.connect(ctx)
    tt = t + 0.3
    m.qid = ctx.ids.queue_id(m.mx, tt)
    ctx.pf(tt, m.mx, "smtpd", m.pid, f"{m.qid}: client={m.client}")
    cpid = ctx.pid(m.mx, "cleanup")
    ctx.pf(tt + 0.1, m.mx, "cleanup", cpid,
           f"{m.qid}: info: header {m.subj.postfix} from {m.client}; {m.tail(alias)}")
    ctx.pf(tt + 0.1, m.mx, "cleanup", cpid, f"{m.qid}: message-id=<{m.msgid}>")
    action, score = scan(ctx, tt + 0.15, m.mx, m.qid, m.msgid, m.ext.mta_ip, m.ext.addr,
                         [alias], "ham", m.size)
    qmgr = ctx.pid_qmgr[m.mx]
    queued = f"{m.qid}: from=<{m.ext.addr}>, size={m.size}, nrcpt=1 (queue active)"
    ctx.pf(tt + 0.2, m.mx, "qmgr", qmgr, queued)
    m.disconnect(ctx, tt + 0.22, "1", "data=1 ", "5")
    relay = remote_relay(ctx, to)
    mx = relay[:-3]
    deferrals = 0 if rng.random() < 0.8 else rng.randrange(1, 4)
    text = _DEFER_TEXTS[rng.randrange(len(_DEFER_TEXTS))].format(mx=mx, to=to)
    dsn = "4.7.1" if "451" in text else "4.4.1"
    end, wait = tt + 0.25 + rng.uniform(0.3, 2.0), 300.0
    delivery: str | None = None  # none yet: the run ended before the first attempt
    for k in range(deferrals + 1):
        if end > ctx.t_end:  # lines after the end of the run are never written
            break
        if k:
            ctx.pf(end - 1, m.mx, "qmgr", qmgr, queued)
        pre = (f"{m.qid}: to=<{to}>, orig_to=<{alias}>, relay={relay}, "
               f"delay={postfix_secs(end - tt)}, delays=0.1/0.01/0.3/0.2, ")
        spid = ctx.pid(m.mx, "smtp")
        if k < deferrals:
            ctx.pf(end, m.mx, "smtp", spid, pre + f"dsn={dsn}, status=deferred ({text})")
            delivery = "deferred"
            end += wait
            wait *= 2
            continue
        ctx.pf(end, m.mx, "smtp", spid, pre + "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued "
               f"as {ctx.ids.queue_id('remote', end)})")
        ctx.pf(end + 0.01, m.mx, "qmgr", qmgr, f"{m.qid}: removed")
        delivery = "forwarded"
    truth_received(
        ctx, m, alias, "accepted",
        reason=text if delivery == "deferred" else None,
        delivery=delivery,
        forwarded_to=to if delivery else None,
        dsn={"forwarded": "2.0.0", "deferred": dsn}.get(delivery or ""),
        spam_action=action, spam_score=score, virus=None, size=m.size, orig_to=alias,
    )
