"""Inbound mail the MX hosts refuse or hold: unknown users, relaying, spam, viruses, holds,
and the bots postscreen turns away before smtpd."""

from __future__ import annotations

from tracemail_tui.gen import vocab
from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.inbound import UNKNOWN_TEXT, Msg, pick_account, truth_received
from tracemail_tui.gen.rspamd import scan
from tracemail_tui.gen.world import HOSTS, MX_HOSTS


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


# postscreen's verdicts and its replies for them (postscreen_smtpd.c; lab R34/R35 for the
# first two; the DNSBL form from the source): (weight, verdict line, reply code, dsn, text).
_BOT_VERDICTS = (
    (5, "PREGREET {n} after {s} from {c}: EHLO {h}\\r\\n", "550", "5.5.1", "Protocol error"),
    (4, "DNSBL rank {r} for {c}", "550", "5.7.1",
     "Service unavailable; client [{ip}] blocked using zen.spamhaus.org"),
    (1, "DENYLISTED {c}", "550", "5.3.2", "Service currently unavailable"),
)


def postscreen_bot(ctx: Ctx, t: float) -> None:
    """A spam bot refused by postscreen, the MX's bot filter in front of smtpd: one
    postscreen process per MX serves every client, so bots of the same second share its pid
    and are told apart by their port (lab R34/R35)."""
    rng = ctx.rng
    mx = MX_HOSTS[rng.randrange(2)]
    ip = f"203.0.113.{rng.randrange(1, 255)}" if rng.random() < 0.9 else \
        f"2001:db8:{rng.randrange(1, 0xffff):x}::{rng.randrange(1, 0xffff):x}"
    client = f"[{ip}]:{rng.randrange(1024, 65536)}"
    pid = ctx.daemon_pid(mx, "postscreen")
    helo = f"{rng.choice(vocab.WORDS)}{rng.randrange(100)}.{rng.choice(vocab.EXT_TLDS)}"
    sender = f"{rng.choice(vocab.FIRST)}{rng.randrange(1000)}@{helo}"
    to = pick_account(ctx).addr if rng.random() < 0.8 else \
        f"{rng.choice(vocab.FIRST)}@{ctx.world.domains[rng.randrange(len(ctx.world.domains))]}"
    verdicts = [v for w, *v in _BOT_VERDICTS for _ in range(w)]
    verdict, code, dsn, text = verdicts[rng.randrange(len(verdicts))]
    text = text.format(ip=ip)
    ctx.pf(t, mx, "postscreen", pid, f"CONNECT from {client} to [{HOSTS[mx]}]:25")
    ctx.pf(t + 0.01, mx, "postscreen", pid, verdict.format(
        n=rng.randrange(10, 40), s=f"{rng.uniform(0, 0.3):.2f}", c=client, h=helo,
        r=rng.randrange(2, 9)))
    tt = t + rng.uniform(2.0, 6.5)  # the greeting test waits postscreen_greet_wait
    ctx.pf(tt, mx, "postscreen", pid,
           f"NOQUEUE: reject: RCPT from {client}: {code} {dsn} {text}; from=<{sender}>, "
           f"to=<{to}>, proto=ESMTP, helo=<{helo}>")
    ctx.pf(tt + 0.01, mx, "postscreen", pid, f"DISCONNECT {client}")
    if ctx.truth_on:
        ctx.truth("received", tt, status="rejected", sender=sender.lower(),
                  recipient=to.lower(), domain=to.rpartition("@")[2].lower(), subject=None,
                  message_id=None, queue_id=None, server=mx, client_ip=ip, reason=text,
                  delivery=None, dsn=dsn, virus=None)
