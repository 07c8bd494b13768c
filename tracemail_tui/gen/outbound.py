"""Outbound mail on smtp1: submission with SASL, delivery, bounces, deferrals, refusals."""

from __future__ import annotations

from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.inbound import TLS, pick_subject
from tracemail_tui.gen.lmtp import Rcpt, deliver
from tracemail_tui.gen.reinject import remote_relay
from tracemail_tui.gen.rspamd import scan
from tracemail_tui.gen.stamps import compact, postfix_secs
from tracemail_tui.gen.world import HOSTS, Account, make_subject

HOST = "smtp1"
SVC = "submission/smtpd"
_NDR = make_subject("Undelivered Mail Returned to Sender", False)
_BOUNCE_TEXT = "Recipient address rejected: User unknown in local recipient table"
# The reason tracemail gives a recipient whose message was deleted from the queue (written
# out here, not imported from store.schema: the ground truth is checked against the engine).
DELETED_TEXT = "deleted from the queue by an administrator (postsuper)"
_DEFER_TEXTS = (
    "connect to {mx}: Connection timed out",
    "host {mx} said: 451 4.7.1 <{to}>: Recipient address rejected: Greylisted, try again later "
    "(in reply to RCPT TO command)",
    "host {mx} said: 421 4.7.0 Try again later, closing "
    "connection. (in reply to MAIL FROM command)",
)


class Sub:
    """A submission session of one of our users."""

    __slots__ = ("acct", "client", "helo", "ip", "pid", "t", "tls", "webmail")

    def __init__(
        self, ctx: Ctx, t: float, acct: Account | None = None, webmail: bool | None = None
    ) -> None:
        rng = ctx.rng
        accs = ctx.world.accounts
        while acct is None:
            a = accs[rng.randrange(len(accs))]
            if a.state == "ok":
                acct = a
        self.acct = acct
        self.t = t
        self.webmail = rng.random() < 0.25 if webmail is None else webmail
        if self.webmail:
            self.ip = HOSTS["webmail1"]
            self.client = f"webmail1.example.net[{self.ip}]"
            self.helo = "webmail1.example.net"
        else:
            self.ip = acct.ips[rng.randrange(len(acct.ips))]
            self.client = f"unknown[{self.ip}]"
            self.helo = f"{acct.addr.partition('@')[0].replace('.', '-')}-pc.lan"
        self.pid = ctx.pid(HOST, "submission")
        self.tls = False

    def connect(self, ctx: Ctx) -> None:
        ctx.pf(self.t, HOST, SVC, self.pid, f"connect from {self.client}")
        self.tls = not self.webmail or ctx.rng.random() < 0.5
        if self.tls:
            ctx.pf(
                self.t + 0.05,
                HOST,
                SVC,
                self.pid,
                f"Anonymous TLS connection established from {self.client}: {TLS}",
            )

    def tail(self, sender: str, to: str) -> str:
        return f"from=<{sender}> to=<{to}> proto=ESMTP helo=<{self.helo}>"

    def disconnect(self, ctx: Ctx, t: float, counts: str, cmds: str) -> None:
        """smtpd's summary; `cmds` counts EHLO twice and STARTTLS, as with TLS."""
        ehlo = "ehlo=2 starttls=1"
        if not self.tls:  # one EHLO, no STARTTLS
            ehlo = "ehlo=1"
            cmds = "/".join(str(int(c) - 2) for c in cmds.split("/"))
        ctx.pf(
            t, HOST, SVC, self.pid, f"disconnect from {self.client} {ehlo} {counts} commands={cmds}"
        )


def ext_addr(ctx: Ctx) -> str:
    e = ctx.world.externals[ctx.rng.randrange(len(ctx.world.externals))]
    return e.addr


def access_truth(
    ctx: Ctx, s: Sub, t: float, ok: bool, error: str | None = None, user: str | None = None
) -> None:
    if ctx.truth_on:
        u = (user or s.acct.addr).lower()
        ctx.truth(
            "accesses",
            t,
            status="success" if ok else "failed",
            error=error,
            user=u,
            domain=u.rpartition("@")[2],
            protocol="smtp",
            server=HOST,
            remote_ip=s.ip,
        )


def submit(ctx: Ctx, t: float, outcome: str = "sent", nrcpt: int = 1) -> None:
    """A message submitted by one of our users; `outcome` decides its external recipients.

    outcome: sent | bounced | deferred | internal | partial (sent + deferred + local).
    """
    rng = ctx.rng
    s = Sub(ctx, t)
    a = s.acct
    if outcome == "internal":
        kinds = ["local"]
    elif outcome == "partial":
        kinds = ["sent", "deferred", "local"]
    else:
        kinds = [outcome] * nrcpt
    rc: list[tuple[str, str, Account | None]] = []
    for kind in kinds:
        if kind == "local":
            local = ctx.world.accounts[rng.randrange(len(ctx.world.accounts))]
            if (local.state != "ok" or local.addr == a.addr or local.over_quota
                    or local.redirect):
                local = ctx.world.accounts[0]
            rc.append((kind, local.addr, local))
        else:
            rc.append((kind, ext_addr(ctx), None))
    subj = pick_subject(ctx)
    msgid = ctx.ids.message_id(t, a.domain)
    size = rng.randrange(600, 40000) if rng.random() < 0.9 else rng.randrange(40000, 5_000_000)
    s.connect(ctx)
    tt = t + 0.4
    qid = ctx.ids.queue_id(HOST, tt)
    ctx.pf(
        tt, HOST, SVC, s.pid, f"{qid}: client={s.client}, sasl_method=PLAIN, sasl_username={a.addr}"
    )
    access_truth(ctx, s, tt, True)
    cpid = ctx.pid(HOST, "cleanup")
    ctx.pf(
        tt + 0.05,
        HOST,
        "cleanup",
        cpid,
        f"{qid}: info: header {subj.postfix} from {s.client}; {s.tail(a.addr, rc[0][1])}",
    )
    ctx.pf(tt + 0.05, HOST, "cleanup", cpid, f"{qid}: message-id=<{msgid}>")
    action, score = scan(
        ctx, tt + 0.1, HOST, qid, msgid, s.ip, a.addr, [r[1] for r in rc], "ham", size, user=a.addr
    )
    qmgr = ctx.pid_qmgr[HOST]
    ctx.pf(
        tt + 0.12,
        HOST,
        "qmgr",
        qmgr,
        f"{qid}: from=<{a.addr}>, size={size}, nrcpt={len(rc)} (queue active)",
    )
    n = len(rc)
    s.disconnect(ctx, tt + 0.14, f"auth=1 mail=1 rcpt={n} data=1 quit=1", str(n + 7))
    end = tt + 0.2
    # Some messages that never get through are deleted from the queue by an administrator.
    delete = outcome == "deferred" and ctx.admin.random() < 0.25
    queued = False  # a recipient is still deferred at the end
    retried = False  # the retries own the `removed` line
    bounced = False
    t_end = ctx.t_end
    for kind, to, b in rc:
        status, reason, dsn = "delivered", None, "2.0.0"
        relay_host, relay_ip, relay_port = None, None, None
        if kind == "local":
            assert b is not None
            r = Rcpt(to, b)
            r.folder = "INBOX"
            frm = f"{a.name} <{a.addr}>"
            end = deliver(ctx, end, HOST, qid, [r], msgid, size, a.addr, frm, subj, age=end - t)
            relay_host, relay_ip, relay_port = "imap1.example.net", HOSTS["imap1"], 24
            if ctx.truth_on:
                ctx.truth(
                    "received",
                    tt,
                    status="accepted",
                    sender=a.addr,
                    recipient=to,
                    domain=b.domain,
                    account=b.addr,
                    subject=subj.text,
                    message_id=msgid,
                    queue_id=qid,
                    server=HOST,
                    client_ip=s.ip,
                    delivery="delivered",
                    folder="INBOX",
                    spam_action=action,
                    spam_score=score,
                    dsn="2.0.0",
                    size=size,
                )
        else:
            relay = remote_relay(ctx, to)
            mx = relay[:-3]
            relay_host, _, rest = mx.partition("[")
            relay_ip, relay_port = rest[:-1], 25
            d = rng.uniform(0.3, 3.0)
            end += d
            pre = (
                f"{qid}: to=<{to}>, relay={relay}, delay={postfix_secs(end - tt)}, "
                f"delays=0.1/0.01/{postfix_secs(d / 2)}/{postfix_secs(d / 2)}, "
            )
            spid = ctx.pid(HOST, "smtp")
            if rng.random() < 0.6:
                ctx.pf(
                    end - d / 2,
                    HOST,
                    "smtp",
                    spid,
                    f"Untrusted TLS connection established to {relay}: {TLS}",
                )
            if kind == "sent":
                ctx.pf(
                    end,
                    HOST,
                    "smtp",
                    spid,
                    pre + "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued "
                    f"as {ctx.ids.queue_id('remote', end)})",
                )
            elif kind == "bounced":
                reason = (
                    f"host {mx} said: 550 5.1.1 <{to}>: {_BOUNCE_TEXT} "
                    "(in reply to RCPT TO command)"
                )
                ctx.pf(end, HOST, "smtp", spid, pre + f"dsn=5.1.1, status=bounced ({reason})")
                status, dsn, bounced = "rejected", "5.1.1", True
            else:  # deferred, retried later
                text = _DEFER_TEXTS[rng.randrange(len(_DEFER_TEXTS))].format(mx=mx, to=to)
                dsn = (
                    "4.4.1" if text.startswith("connect") else "4.7.1" if "451" in text else "4.7.0"
                )
                ctx.pf(end, HOST, "smtp", spid, pre + f"dsn={dsn}, status=deferred ({text})")
                status, reason = "queued", text
                retry = last = end
                wait = 300.0
                ok_after = rng.randrange(1, 6) if rng.random() < 0.4 else 99
                for k in range(1, 8):
                    retry += wait
                    wait = min(wait * 2, 4000.0)
                    if retry > t_end:
                        break
                    ctx.pf(
                        retry,
                        HOST,
                        "qmgr",
                        qmgr,
                        f"{qid}: from=<{a.addr}>, size={size}, nrcpt={n} (queue active)",
                    )
                    age = retry - tt
                    pre = (
                        f"{qid}: to=<{to}>, relay={relay}, delay={postfix_secs(age)}, "
                        f"delays={postfix_secs(age - 1)}/0.01/0.5/0.5, "
                    )
                    if k >= ok_after:
                        ctx.pf(
                            retry + 1,
                            HOST,
                            "smtp",
                            ctx.pid(HOST, "smtp"),
                            pre + "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued "
                            f"as {ctx.ids.queue_id('remote', retry)})",
                        )
                        ctx.pf(retry + 1.01, HOST, "qmgr", qmgr, f"{qid}: removed")
                        status, reason, dsn = "delivered", None, "2.0.0"
                        break
                    ctx.pf(
                        retry + 1,
                        HOST,
                        "smtp",
                        ctx.pid(HOST, "smtp"),
                        pre + f"dsn={dsn}, status=deferred ({text})",
                    )
                    last = retry + 1
                if status == "queued" and delete:
                    gone = last + ctx.admin.uniform(600.0, 3 * 3600.0)
                    if gone <= t_end:
                        ctx.postsuper_delete(gone, HOST, qid)
                        status, reason = "rejected", f"{DELETED_TEXT}; last attempt: {text}"
                retried = True
                queued = status == "queued" or queued
        if ctx.truth_on:
            ctx.truth(
                "sent",
                tt,
                status=status,
                reason=reason,
                sender=a.addr,
                recipient=to.lower(),
                domain=a.domain,
                account=a.addr,
                subject=subj.text,
                size=size,
                message_id=msgid,
                queue_id=qid,
                server=HOST,
                relay_host=relay_host,
                relay_ip=relay_ip,
                relay_port=relay_port,
                dsn=dsn,
                spam_action=action,
                spam_score=score,
                virus=None,
                blocked=False,
            )
    if bounced:
        _ndr(ctx, end + 0.05, qid, a)
    if not (queued or retried):
        ctx.pf(end + 0.1, HOST, "qmgr", qmgr, f"{qid}: removed")


def _ndr(ctx: Ctx, t: float, qid: str, a: Account) -> None:
    """The bounce notice back to our sender, delivered into their INBOX over LMTP."""
    nqid = ctx.ids.queue_id(HOST, t)
    stamp = compact(t)
    mid = f"{stamp}.{nqid}@smtp1.example.net"
    size = ctx.rng.randrange(2500, 9000)
    ctx.pf(t, HOST, "cleanup", ctx.pid(HOST, "cleanup"), f"{nqid}: message-id=<{mid}>")
    ctx.pf(
        t, HOST, "qmgr", ctx.pid_qmgr[HOST], f"{nqid}: from=<>, size={size}, nrcpt=1 (queue active)"
    )
    ctx.pf(
        t,
        HOST,
        "bounce",
        ctx.pid(HOST, "bounce"),
        f"{qid}: sender non-delivery notification: {nqid}",
    )
    r = Rcpt(a.addr, a)
    r.folder = "INBOX"
    end = deliver(
        ctx,
        t + 0.01,
        HOST,
        nqid,
        [r],
        mid,
        size,
        "",
        "Mail Delivery System <MAILER-DAEMON@smtp1.example.net>",
        _NDR,
        age=0.01,
    )
    ctx.pf(end + 0.01, HOST, "qmgr", ctx.pid_qmgr[HOST], f"{nqid}: removed")
    if ctx.truth_on:
        ctx.truth(
            "received",
            t,
            status="accepted",
            sender="",
            recipient=a.addr,
            domain=a.domain,
            account=a.addr,
            subject=_NDR.text,
            message_id=mid,
            queue_id=nqid,
            server=HOST,
            client_ip=None,
            delivery="delivered",
            folder="INBOX",
            dsn="2.0.0",
            size=size,
        )


def sent(ctx: Ctx, t: float) -> None:
    """Delivered to one or more external recipients."""
    submit(ctx, t, "sent", nrcpt=1 if ctx.rng.random() < 0.8 else ctx.rng.randint(2, 4))


def internal(ctx: Ctx, t: float) -> None:
    """To another of our mailboxes (LMTP)."""
    submit(ctx, t, "internal")


def bounced(ctx: Ctx, t: float) -> None:
    """Refused by the remote MX: bounce + NDR into the sender's INBOX."""
    submit(ctx, t, "bounced")


def deferred(ctx: Ctx, t: float) -> None:
    """Temporary failure: stays queued, retried later."""
    submit(ctx, t, "deferred")


def partial(ctx: Ctx, t: float) -> None:
    """Sent + deferred + local under one queue id."""
    submit(ctx, t, "partial")
