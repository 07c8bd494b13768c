"""Inbound mail on the MX hosts (mx1, mx2): every outcome a recipient's mail can have."""

from __future__ import annotations

from tracemail_tui.gen import vocab
from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.lmtp import Rcpt, choose_action, deliver, filter_rule
from tracemail_tui.gen.reinject import reinject
from tracemail_tui.gen.rspamd import scan
from tracemail_tui.gen.stamps import compact
from tracemail_tui.gen.world import MX_HOSTS, Account, External, Subject

TLS = (
    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
    "server-signature RSA-PSS (2048 bits) server-digest SHA256"
)
UNKNOWN_TEXT = "Recipient address rejected: User unknown in virtual mailbox table"


class Msg:
    """An inbound SMTP transaction in progress."""

    __slots__ = ("client", "ext", "helo", "msgid", "mx", "pid", "qid", "size", "subj", "t", "tls")

    def __init__(self, ctx: Ctx, t: float, ext: External | None = None) -> None:
        rng = ctx.rng
        self.t = t
        self.mx = MX_HOSTS[rng.randrange(2)]
        self.ext = ext or ctx.world.externals[rng.randrange(len(ctx.world.externals))]
        self.client = f"{self.ext.mta_host}[{self.ext.mta_ip}]"
        self.helo = self.ext.helo
        self.pid = ctx.pid(self.mx, "smtpd")
        self.qid = ""
        self.tls = False
        self.size = (
            rng.randrange(900, 60000) if rng.random() < 0.9 else rng.randrange(60000, 9_000_000)
        )
        self.subj = pick_subject(ctx)
        self.msgid = ctx.ids.message_id(t, self.ext.domain)

    def connect(self, ctx: Ctx) -> None:
        ctx.pf(self.t, self.mx, "smtpd", self.pid, f"connect from {self.client}")
        self.tls = ctx.rng.random() < 0.75
        if self.tls:
            ctx.pf(
                self.t + 0.05,
                self.mx,
                "smtpd",
                self.pid,
                f"Anonymous TLS connection established from {self.client}: {TLS}",
            )

    def tail(self, to: str) -> str:
        return f"from=<{self.ext.addr}> to=<{to}> proto=ESMTP helo=<{self.helo}>"

    def disconnect(self, ctx: Ctx, t: float, rcpt: str, data: str, cmds: str) -> None:
        """The smtpd summary; STARTTLS adds a second EHLO and the STARTTLS command."""
        ehlo = "ehlo=1"
        if self.tls:
            ehlo = "ehlo=2 starttls=1"
            cmds = "/".join(str(int(c) + 2) for c in cmds.split("/"))
        ctx.pf(
            t,
            self.mx,
            "smtpd",
            self.pid,
            f"disconnect from {self.client} {ehlo} mail=1 rcpt={rcpt} {data}quit=1 commands={cmds}",
        )


def pick_subject(ctx: Ctx) -> Subject:
    """Mostly ordinary subjects; now and then a hostile or an over-long one."""
    w = ctx.world
    r = ctx.rng.random()
    if r < 0.004:
        return w.hostile_subjects[ctx.rng.randrange(len(w.hostile_subjects))]
    if r < 0.006:
        return w.long_subject
    return w.subjects[ctx.rng.randrange(len(w.subjects))]


def pick_account(ctx: Ctx) -> Account:
    """A recipient mailbox (only accounts that can receive: not disabled)."""
    accs = ctx.world.accounts
    while True:
        a = accs[ctx.rng.randrange(len(accs))]
        if a.state == "ok" or ctx.rng.random() < 0.3:
            return a


def truth_received(ctx: Ctx, m: Msg, to: str, status: str, **kw: object) -> None:
    if ctx.truth_on:
        ctx.truth(
            "received",
            m.t + 0.3 if m.qid else m.t,  # the `client=` line, where the queue id appears
            status=status,
            sender=m.ext.addr.lower(),
            recipient=to.lower(),
            domain=to.rpartition("@")[2].lower(),
            subject=m.subj.text,
            message_id=m.msgid,
            queue_id=m.qid or None,
            server=m.mx,
            client_ip=m.ext.mta_ip,
            **kw,
        )


def accepted(
    ctx: Ctx,
    t: float,
    kind: str = "ham",
    nrcpt: int = 1,
    listmail: bool = False,
    with_unknown: bool = False,
    alias: bool = False,
    ext: External | None = None,
    acct: Account | None = None,
) -> None:
    """A message accepted and delivered over LMTP (INBOX, folder, Junk, forward, ...)."""
    rng = ctx.rng
    m = Msg(ctx, t, ext)
    if listmail:
        m.subj = ctx.world.list_subjects[rng.randrange(len(ctx.world.list_subjects))]
    elif kind == "junk":
        m.subj = ctx.world.spam_subjects[rng.randrange(len(ctx.world.spam_subjects))]
    rcpts: list[Rcpt] = []
    seen: set[str] = set()
    for _ in range(nrcpt):
        a = acct or pick_account(ctx)
        if a.addr not in seen:
            seen.add(a.addr)
            rcpts.append(Rcpt(a.addr, a))
    if rng.random() < 0.01:  # some senders shout
        rcpts[0].to = rcpts[0].to.upper()
    elif rng.random() < 0.02 and "+" not in rcpts[0].to:
        local, _, dom = rcpts[0].to.partition("@")
        rcpts[0].to = f"{local}+{rng.choice(('news', 'shop', 'lists'))}@{dom}"
    alias_addr = None
    if alias and ctx.world.aliases:
        keys = list(ctx.world.aliases)
        alias_addr = keys[rng.randrange(len(keys))]
        for a in ctx.world.aliases[alias_addr]:
            if a.addr not in seen:
                seen.add(a.addr)
                rcpts.append(Rcpt(a.addr, a, orig_to=alias_addr))
    m.connect(ctx)
    m.qid = ctx.ids.queue_id(m.mx, t + 0.3)
    tt = t + 0.3
    ctx.pf(tt, m.mx, "smtpd", m.pid, f"{m.qid}: client={m.client}")
    ghost = None
    if with_unknown:
        ghost = f"{rng.choice(vocab.ROLES)}{rng.randrange(2, 99)}@{rcpts[0].acct.domain}"
        ctx.pf(
            tt + 0.05,
            m.mx,
            "smtpd",
            m.pid,
            f"{m.qid}: reject: RCPT from {m.client}: 550 "
            f"5.1.1 <{ghost}>: {UNKNOWN_TEXT}; {m.tail(ghost)}",
        )
    env_rcpts = [r.to for r in rcpts if not r.orig_to] + ([alias_addr] if alias_addr else [])
    cpid = ctx.pid(m.mx, "cleanup")
    ctx.pf(
        tt + 0.1,
        m.mx,
        "cleanup",
        cpid,
        f"{m.qid}: info: header {m.subj.postfix} from {m.client}; {m.tail(env_rcpts[0])}",
    )
    ctx.pf(tt + 0.1, m.mx, "cleanup", cpid, f"{m.qid}: message-id=<{m.msgid}>")
    action, score = scan(
        ctx, tt + 0.15, m.mx, m.qid, m.msgid, m.ext.mta_ip, m.ext.addr, env_rcpts, kind, m.size
    )
    qmgr = ctx.pid_qmgr[m.mx]
    n_env = len(env_rcpts)
    ctx.pf(
        tt + 0.2,
        m.mx,
        "qmgr",
        qmgr,
        f"{m.qid}: from=<{m.ext.addr}>, size={m.size}, nrcpt={len(rcpts)} (queue active)",
    )
    if ghost:
        m.disconnect(ctx, tt + 0.22, f"{n_env}/{n_env + 1}", "data=1 ", f"{n_env + 4}/{n_env + 5}")
    else:
        m.disconnect(ctx, tt + 0.22, str(n_env), "data=1 ", str(n_env + 4))
    sender_dom = m.ext.domain
    for r in rcpts:
        choose_action(r, sender_dom, kind == "junk", listmail)
    from_hdr = f"{m.ext.name} <{m.ext.addr}>"
    end = deliver(
        ctx, tt + 0.25, m.mx, m.qid, rcpts, m.msgid, m.size, m.ext.addr, from_hdr, m.subj, age=0.25
    )
    # follow-ups: forwards, vacation replies, bounces for over-quota
    for r in rcpts:
        if r.action == "redirect":
            reinject(
                ctx, end + 0.05, m.ext.addr, r.acct.redirect or "", m.msgid, m.subj, m.size + 400
            )
        elif r.action == "vacation":
            reinject(ctx, end + 0.05, "", m.ext.addr, None, None, 700, vacation_of=r.acct)
    if any(r.action == "overquota" for r in rcpts):
        bounce_to_external(ctx, end + 0.05, m.mx, m.qid, m.ext)
    ctx.pf(end + 0.1, m.mx, "qmgr", qmgr, f"{m.qid}: removed")
    spam_action = action
    for r in rcpts:
        # in Junk = quarantined; a spam that bounced (over quota) never reached Junk
        status = "quarantined" if kind == "junk" and r.delivery == "delivered" else "accepted"
        truth_received(
            ctx,
            m,
            r.acct.addr if r.orig_to else r.to,
            status,
            account=r.acct.addr,
            reason=None,
            delivery=r.delivery,
            folder=r.folder if r.delivery == "delivered" else None,
            forwarded_to=r.acct.redirect if r.action == "redirect" else None,
            auto_reply=r.action == "vacation",
            filter_rule=filter_rule(r),
            spam_action=spam_action,
            spam_score=score,
            virus=None,
            dsn=r.dsn,
            size=m.size,
            orig_to=r.orig_to,
        )
    if ghost:
        truth_received(
            ctx, m, ghost, "rejected", reason=UNKNOWN_TEXT, delivery=None, dsn="5.1.1", size=m.size
        )


def bounce_to_external(ctx: Ctx, t: float, host: str, qid: str, ext: External) -> None:
    """The NDR Postfix sends back to an external sender (over-quota bounce)."""
    nqid = ctx.ids.queue_id(host, t)
    mid = f"{compact(t)}.{nqid}@{host}.example.net"
    size = ctx.rng.randrange(2500, 9000)
    qmgr = ctx.pid_qmgr[host]
    ctx.pf(
        t,
        host,
        "cleanup",
        ctx.pid(host, "cleanup"),
        f"{nqid}: message-id=<{mid}>",
    )
    ctx.pf(
        t,
        host,
        "qmgr",
        qmgr,
        f"{nqid}: from=<>, size={size}, nrcpt=1 (queue active)",
    )
    ctx.pf(
        t,
        host,
        "bounce",
        ctx.pid(host, "bounce"),
        f"{qid}: sender non-delivery notification: {nqid}",
    )
    relay = f"{ext.mta_host if ext.mta_host != 'unknown' else 'mx.' + ext.domain}[{ext.mta_ip}]:25"
    ctx.pf(
        t + 0.4,
        host,
        "smtp",
        ctx.pid(host, "smtp"),
        f"{nqid}: to=<{ext.addr}>, relay={relay}, delay=0.4, delays=0/0/0.2/0.2, dsn=2.0.0, "
        f"status=sent (250 2.0.0 Ok: queued as {ctx.ids.queue_id('remote', t)})",
    )
    ctx.pf(t + 0.41, host, "qmgr", qmgr, f"{nqid}: removed")
    if ctx.truth_on:
        mx, _, ip = relay.partition("[")
        ctx.truth(
            "sent",
            t,
            status="delivered",
            reason=None,
            sender=None,
            recipient=ext.addr.lower(),
            domain=None,  # null sender
            account=None,
            subject=None,
            size=size,
            message_id=mid,
            queue_id=nqid,
            server=host,
            relay_host=mx,
            relay_ip=ip.partition("]")[0],
            relay_port=25,
            dsn="2.0.0",
            blocked=False,
            auto="ndr",
        )


# Weighted entry points used by the traffic mix.
def inbox(ctx: Ctx, t: float) -> None:
    """Ordinary mail to one (sometimes two) mailboxes."""
    accepted(ctx, t, nrcpt=1 if ctx.rng.random() < 0.85 else 2)


def listmail(ctx: Ctx, t: float) -> None:
    """List mail, filed by Sieve when the account has a rule."""
    accepted(ctx, t, listmail=True)


def junk(ctx: Ctx, t: float) -> None:
    """Rspamd `add header`: delivered into Junk."""
    accepted(ctx, t, kind="junk")


def multi(ctx: Ctx, t: float) -> None:
    """One transaction: a mailbox, an unknown address and an alias (orig_to)."""
    accepted(ctx, t, nrcpt=1, with_unknown=True, alias=True)


PROMO = External(
    "deals@promo-blast.test",
    "Promo Blast",
    "promo-blast.test",
    "out.promo-blast.test",
    "198.51.100.77",
    "out.promo-blast.test",
)


def promo(ctx: Ctx, t: float) -> None:
    """Bulk mail to an account whose Sieve script discards that sender."""
    accs = ctx.world.accounts
    for _ in range(50):
        a = accs[ctx.rng.randrange(len(accs))]
        if a.discard_from and a.state == "ok" and not (a.over_quota or a.redirect):
            accepted(ctx, t, ext=PROMO, acct=a)
            return
    accepted(ctx, t, ext=PROMO)
