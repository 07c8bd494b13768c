"""LMTP delivery into imap1: Postfix `lmtp` lines, Dovecot `lmtp(...)` lines, Sieve actions.

One call is one LMTP transaction (one connection, one or more recipients), as Postfix
does it: recipients after the first get the session id with `:R2`, `:R3` suffixes.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.stamps import postfix_secs
from tracemail_tui.gen.world import HOSTS, Account, Subject

IMAP_RELAY = f"imap1.example.net[{HOSTS['imap1']}]:24"
MAX_KEPT = 40  # messages remembered per mailbox for later IMAP/POP3 events
VACATION_PERIOD = 86_400.0  # the Sieve rule's :days 1: one auto-reply per sender and day


@dataclass(slots=True)
class Rcpt:
    """One LMTP recipient: the address as sent, the mailbox, and the alias it came from."""

    to: str
    acct: Account
    orig_to: str | None = None
    action: str = "inbox"  # inbox|fileinto|junk|redirect|vacation|discard|overquota
    folder: str | None = None
    # filled in by deliver():
    delivery: str | None = None
    dsn: str | None = None


def choose_action(r: Rcpt, sender_domain: str, spam: bool, listmail: bool) -> None:
    """What the account's Sieve script (and the global spam rule) does with the message."""
    a = r.acct
    if a.over_quota:
        r.action = "overquota"
    elif spam:
        r.action, r.folder = "junk", "Junk"
    elif a.redirect:
        r.action = "redirect"
    elif a.discard_from and sender_domain == a.discard_from:
        r.action = "discard"
    elif a.vacation:
        r.action, r.folder = "vacation", "INBOX"
    elif listmail and a.rule_folder:
        r.action, r.folder = "fileinto", a.rule_folder
    else:
        r.action, r.folder = "inbox", "INBOX"


def filter_rule(r: Rcpt) -> str | None:
    """The Sieve action as the ground truth names it."""
    if r.action in ("fileinto", "junk"):
        return f'fileinto "{r.folder}"'
    if r.action == "redirect":
        return f'redirect "{r.acct.redirect}"'
    if r.action in ("discard", "vacation"):
        return r.action
    if r.action == "vacation_dup":
        return "vacation (not sent: duplicate)"
    return None


def store(a: Account, folder: str, msgid: str, size: int, frm: str, subj: str) -> int:
    """Remember a stored message in the account's mailbox; returns its UID."""
    uid = a.next_uid(folder)
    a.msgs.append([msgid, folder, uid, size, frm, subj])
    if len(a.msgs) > MAX_KEPT:
        del a.msgs[0]
    return uid


def deliver(
    ctx: Ctx,
    t: float,
    src: str,
    qid: str,
    rcpts: list[Rcpt],
    msgid: str,
    size: int,
    sender: str,
    from_hdr: str,
    subj: Subject,
    age: float,
) -> float:
    """Deliver `rcpts` from Postfix on `src` to Dovecot LMTP; returns the end time."""
    rng = ctx.rng
    ids = ctx.ids
    pid = ctx.lmtp_pid = ctx.lmtp_pid or ctx.new_pid()
    if rng.random() < 0.02:
        ctx.lmtp_pid = ctx.new_pid()
    src_ip = HOSTS[src]
    sess = ids.lmtp_session()
    lpid = ctx.pid(src, "lmtp")
    ctx.dv(t, f"lmtp({pid})", f"Connect from {src_ip}")
    dsize = size + rng.randrange(150, 400)
    tt = t + 0.01
    for i, r in enumerate(rcpts):
        s = sess if i == 0 else f"{sess}:R{i + 1}"
        a = r.acct
        proc = f"lmtp({a.addr})<{pid}><{s}>"
        m = f"msgid=<{msgid}>"
        act = r.action
        tt += rng.uniform(0.005, 0.04)
        if act == "overquota":
            # As Dovecot 2.3 / Pigeonhole log it (lab R18): the failed implicit keep at
            # Info level, then a note on the script run.
            ctx.dv(
                tt,
                proc,
                f"sieve: {m}: failed to store into mailbox 'INBOX': "
                "Quota exceeded (mailbox for user is full)",
            )
            ctx.dv(
                tt,
                proc,
                "sieve: Execution of script /etc/dovecot/sieve/before.d/10-spam-to-junk.sieve "
                "failed with unsuccessful implicit keep",
            )
            reply = f"552 5.2.2 <{r.to}> Quota exceeded (mailbox for user is full)"
            status = (
                f"dsn=5.2.2, status=bounced (host {IMAP_RELAY[:-3]} said: {reply} "
                "(in reply to end of DATA command))"
            )
            r.delivery, r.dsn = "bounced", "5.2.2"
        else:
            if act == "redirect":
                ctx.dv(tt, proc, f"sieve: {m}: redirect action: forwarded to <{a.redirect}>")
                r.delivery = "forwarded"
            elif act == "discard":
                ctx.dv(
                    tt,
                    proc,
                    f"sieve: {m}: marked message to be discarded if not "
                    "explicitly delivered (discard action)",
                )
                r.delivery = "discarded"
            else:
                if act == "vacation":
                    key = (a.addr, sender.lower())
                    last = ctx.vacation_replied.get(key)
                    if last is not None and 0 <= tt - last < VACATION_PERIOD:
                        r.action = "vacation_dup"  # as lab R30: no second reply
                        ctx.dv(tt, proc, f"sieve: {m}: vacation action: discarded duplicate "
                                         f"vacation response to <{sender}>")
                    else:
                        ctx.vacation_replied[key] = tt
                        ctx.dv(
                            tt,
                            proc,
                            f"sieve: {m}: vacation action: sent vacation response to <{sender}>",
                        )
                folder = r.folder or "INBOX"
                uid = store(a, folder, msgid, dsize, from_hdr, subj.dovecot)
                ctx.dv(
                    tt,
                    proc,
                    f"save: box={folder}, uid={uid}, {m}, size={dsize}, "
                    f"from={from_hdr}, subject={subj.dovecot}",
                )
                if act in ("fileinto", "junk"):
                    ctx.dv(
                        tt,
                        proc,
                        f"sieve: {m}: fileinto action: stored mail into mailbox '{folder}'",
                    )
                else:
                    ctx.dv(tt, proc, f"sieve: {m}: stored mail into mailbox '{folder}'")
                r.delivery = "delivered"
            status = f"dsn=2.0.0, status=sent (250 2.0.0 <{r.to}> {s} Saved)"
            r.dsn = "2.0.0"
        d4 = tt - t + 0.01
        orig = f"orig_to=<{r.orig_to}>, " if r.orig_to else ""
        ctx.pf(
            tt + 0.002,
            src,
            "lmtp",
            lpid,
            f"{qid}: to=<{r.to}>, {orig}relay={IMAP_RELAY}, delay={postfix_secs(age + d4)}, "
            f"delays={postfix_secs(age)}/0/0.01/{postfix_secs(d4)}, {status}",
        )
    tt += 0.01
    ctx.dv(tt, f"lmtp({pid})", f"Disconnect from {src_ip}: Logged out (state=READY)")
    return tt
