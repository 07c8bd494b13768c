"""Address verification probes of the MX hosts (``reject_unverified_sender``): not mail.

Before accepting a sender, Postfix's verify(8) asks the sender domain's MX whether the
address exists: a queue file from ``double-bounce@``, one RCPT, no DATA, logged with
``status=deliverable`` or ``undeliverable``. Line forms as Postfix 3.7 wrote them in the
lab (scenario R23). Nobody sent these, so they have no ground-truth rows.
"""

from __future__ import annotations

from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.reinject import remote_relay
from tracemail_tui.gen.stamps import postfix_secs
from tracemail_tui.gen.world import MX_HOSTS, PROVIDER


def sender_probe(ctx: Ctx, t: float) -> None:
    """One probe of an external sender's address, from one of the MX hosts."""
    rng = ctx.rng
    mx = MX_HOSTS[rng.randrange(2)]
    addr = ctx.world.externals[rng.randrange(len(ctx.world.externals))].addr
    qid = ctx.ids.queue_id(mx, t)
    ctx.pf(t, mx, "cleanup", ctx.pid(mx, "cleanup"),
           f"{qid}: message-id=<{ctx.ids.message_id(t, f'{mx}.{PROVIDER}')}>")
    qmgr = ctx.pid_qmgr[mx]
    ctx.pf(t + 0.01, mx, "qmgr", qmgr,
           f"{qid}: from=<double-bounce@{PROVIDER}>, size=268, nrcpt=1 (queue active)")
    relay = remote_relay(ctx, addr)
    d = rng.uniform(0.02, 0.9)
    pre = (f"{qid}: to=<{addr}>, relay={relay}, delay={postfix_secs(d)}, "
           f"delays=0/0.01/{postfix_secs(d / 2)}/{postfix_secs(d / 2)}, ")
    if rng.random() < 0.9:
        result = "dsn=2.1.5, status=deliverable (250 2.1.5 Ok)"
    else:
        result = (f"dsn=5.1.1, status=undeliverable (host {relay[:-3]} said: 550 5.1.1 <{addr}>: "
                  "Recipient address rejected: User unknown (in reply to RCPT TO command))")
    ctx.pf(t + d, mx, "smtp", ctx.pid(mx, "smtp"), pre + result)
    ctx.pf(t + d + 0.01, mx, "qmgr", qmgr, f"{qid}: removed")
