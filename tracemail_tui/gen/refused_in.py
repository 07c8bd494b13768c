"""Inbound mail the MX hosts refuse or hold: unknown users, relaying, spam, viruses, holds."""

from __future__ import annotations

from tracemail_tui.gen import vocab
from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.inbound import UNKNOWN_TEXT, Msg, pick_account, truth_received
from tracemail_tui.gen.rspamd import scan


def unknown_user(ctx: Ctx, t: float) -> None:
    """RCPT to a mailbox we do not have: NOQUEUE reject 550 5.1.1."""
    rng = ctx.rng
    m = Msg(ctx, t)
    dom = ctx.world.domains[rng.randrange(len(ctx.world.domains))]
    to = f"{rng.choice(vocab.FIRST)}{rng.choice(('', '.', '_'))}{rng.choice(vocab.LAST)}@{dom}"
    m.connect(ctx)
    ctx.pf(
        t + 0.2,
        m.mx,
        "smtpd",
        m.pid,
        f"NOQUEUE: reject: RCPT from {m.client}: 550 5.1.1 <{to}>: {UNKNOWN_TEXT}; {m.tail(to)}",
    )
    m.disconnect(ctx, t + 0.3, "0/1", "rset=1 ", "4/5")
    _truth_noq(ctx, m, to, UNKNOWN_TEXT, "5.1.1")


def _truth_noq(ctx: Ctx, m: Msg, to: str, reason: str, dsn: str) -> None:
    if ctx.truth_on:
        ctx.truth(
            "received",
            m.t + 0.2,
            status="rejected",
            sender=m.ext.addr.lower(),
            recipient=to.lower(),
            domain=to.rpartition("@")[2].lower(),
            subject=None,
            message_id=None,
            queue_id=None,
            server=m.mx,
            client_ip=m.ext.mta_ip,
            reason=reason,
            delivery=None,
            dsn=dsn,
            virus=None,
        )


def relay_denied(ctx: Ctx, t: float) -> None:
    """Somebody tries to relay through our MX: 554 5.7.1 Relay access denied."""
    rng = ctx.rng
    m = Msg(ctx, t)
    to = f"{rng.choice(vocab.FIRST)}@{rng.choice(vocab.WORDS)}.{rng.choice(vocab.EXT_TLDS)}"
    m.connect(ctx)
    ctx.pf(
        t + 0.2,
        m.mx,
        "smtpd",
        m.pid,
        f"NOQUEUE: reject: RCPT from {m.client}: 554 "
        f"5.7.1 <{to}>: Relay access denied; {m.tail(to)}",
    )
    m.disconnect(ctx, t + 0.3, "0/1", "rset=1 ", "4/5")
    _truth_noq(ctx, m, to, "Relay access denied", "5.7.1")


def _end_of_data(ctx: Ctx, t: float, kind: str) -> None:
    """Messages stopped at end of DATA by the milter or header_checks."""
    rng = ctx.rng
    m = Msg(ctx, t)
    a = pick_account(ctx)
    to = a.addr
    virus = None
    if kind == "reject":
        m.subj = ctx.world.spam_subjects[rng.randrange(len(ctx.world.spam_subjects))]
    if kind == "virus":
        virus = rng.choice(vocab.VIRUSES)
    m.connect(ctx)
    m.qid = ctx.ids.queue_id(m.mx, t + 0.3)
    tt = t + 0.3
    cpid = ctx.pid(m.mx, "cleanup")
    ctx.pf(tt, m.mx, "smtpd", m.pid, f"{m.qid}: client={m.client}")
    ctx.pf(
        tt + 0.1,
        m.mx,
        "cleanup",
        cpid,
        f"{m.qid}: info: header {m.subj.postfix} from {m.client}; {m.tail(to)}",
    )
    ctx.pf(tt + 0.1, m.mx, "cleanup", cpid, f"{m.qid}: message-id=<{m.msgid}>")
    status, reason, delivery = "rejected", None, None
    if kind == "header_hold":
        action, score = scan(
            ctx, tt + 0.15, m.mx, m.qid, m.msgid, m.ext.mta_ip, m.ext.addr, [to], "ham", m.size
        )
        reason = "policy hold"
        ctx.pf(
            tt + 0.2,
            m.mx,
            "cleanup",
            cpid,
            f"{m.qid}: hold: header X-Policy-Hold: yes from {m.client}; {m.tail(to)}: {reason}",
        )
        status, delivery = "quarantined", "held"
        data = "data=1 "
    else:
        scan_kind = {"reject": "reject", "virus": "virus", "hold": "quarantine"}[kind]
        action, score = scan(
            ctx,
            tt + 0.15,
            m.mx,
            m.qid,
            m.msgid,
            m.ext.mta_ip,
            m.ext.addr,
            [to],
            scan_kind,
            m.size,
            virus=virus,
        )
        if kind == "hold":
            reason = "milter triggers HOLD action"
            ctx.pf(
                tt + 0.2,
                m.mx,
                "cleanup",
                cpid,
                f"{m.qid}: milter-hold: END-OF-MESSAGE from {m.client}: {reason}; {m.tail(to)}",
            )
            status, delivery = "quarantined", "held"
            data = "data=1 "
        else:
            if kind == "virus":
                reason = f'clamav: virus found: "{virus}"'
                ctx.clam(
                    tt + 0.16,
                    m.mx,
                    f"instream(127.0.0.1@{rng.randrange(30000, 60000)}): "
                    f"{virus}({ctx.ids.digest()}:{rng.randrange(68, 900000)}) FOUND",
                )
            else:
                reason = "Spam message rejected"
            ctx.pf(
                tt + 0.2,
                m.mx,
                "cleanup",
                cpid,
                f"{m.qid}: milter-reject: END-OF-MESSAGE from "
                f"{m.client}: 5.7.1 {reason}; {m.tail(to)}",
            )
            data = "data=0/1 "
    if delivery == "held" and ctx.admin.random() < 0.3:
        # An administrator looks at the hold queue and deletes it (`postsuper -d`).
        gone = tt + ctx.admin.uniform(900.0, 4 * 3600.0)
        if gone <= ctx.t_end:
            ctx.postsuper_delete(gone, m.mx, m.qid)
            delivery = "deleted"
    if data == "data=1 ":
        m.disconnect(ctx, tt + 0.25, "1", data, "5")
    else:
        m.disconnect(ctx, tt + 0.25, "1", data, "4/5")
    truth_received(
        ctx,
        m,
        to,
        status,
        reason=reason,
        delivery=delivery,
        folder=None,
        spam_action=action,
        spam_score=score,
        virus=virus,
        dsn="5.7.1" if status == "rejected" else None,
        size=None,
    )


def spam_reject(ctx: Ctx, t: float) -> None:
    """Rspamd says reject: milter-reject 5.7.1 Spam message rejected."""
    _end_of_data(ctx, t, "reject")


def virus(ctx: Ctx, t: float) -> None:
    """ClamAV (through Rspamd) finds a virus: milter-reject 5.7.1 clamav: virus found."""
    _end_of_data(ctx, t, "virus")


def milter_hold(ctx: Ctx, t: float) -> None:
    """Rspamd forces quarantine: milter-hold, the message waits in the hold queue."""
    _end_of_data(ctx, t, "hold")


def header_hold(ctx: Ctx, t: float) -> None:
    """header_checks HOLD: the message waits in the hold queue."""
    _end_of_data(ctx, t, "header_hold")
