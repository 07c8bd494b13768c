"""Dovecot access on imap1: IMAP/POP3/ManageSieve sessions, mail_log events, failed logins."""

from __future__ import annotations

from tracemail_tui.gen import refused_out, vocab
from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.lmtp import store
from tracemail_tui.gen.stamps import iso
from tracemail_tui.gen.world import HOSTS, Account

LIP = HOSTS["imap1"]
SERVER = "imap1"


def _truth(
    ctx: Ctx,
    t: float,
    proto: str,
    user: str,
    ip: str,
    sess: str,
    ok: bool,
    error: str | None = None,
    **kw: object,
) -> None:
    if ctx.truth_on:
        u = user.lower()
        ctx.truth(
            "accesses",
            t,
            status="success" if ok else "failed",
            error=error,
            user=u,
            domain=u.rpartition("@")[2] or None,
            protocol=proto,
            server=SERVER,
            local_ip=LIP,
            remote_ip=ip,
            session=sess,
            **kw,
        )


def _mailbox_truth(
    ctx: Ctx, t: float, a: Account, msg: list, event: str, folder: str | None
) -> None:
    if ctx.truth_on:
        ctx.truth("mailbox", t, account=a.addr, message_id=msg[0], event=event, folder=folder)


def _ok_account(ctx: Ctx, proto: str | None = None) -> Account:
    accs = ctx.world.accounts
    while True:
        a = accs[ctx.rng.randrange(len(accs))]
        if a.state == "ok" and (proto is None or a.proto == proto):
            return a


def _ml(msg: list) -> str:
    """The mail_log tail for one message."""
    return f"msgid=<{msg[0]}>, size={msg[3]}, from={msg[4]}, subject={msg[5]}"


def imap_session(
    ctx: Ctx,
    t: float,
    a: Account | None = None,
    ip: str | None = None,
    client: str | None = None,
    secured: bool = False,
    short: bool = False,
) -> float:
    """A successful IMAP login, some mailbox actions, and the logout with its counters."""
    rng = ctx.rng
    a = a or _ok_account(ctx, "imap")
    ip = ip or a.ips[rng.randrange(len(a.ips))]
    client = client if client is not None else a.client
    sess = ctx.ids.login_session()
    mpid = ctx.new_pid()
    sec = "secured" if secured else "TLS"
    if client:
        ctx.dv(
            t,
            "imap-login",
            f"ID sent: {client}: user=<>, rip={ip}, lip={LIP}, {sec}, session=<{sess}>",
        )
    ctx.dv(
        t + 0.05,
        "imap-login",
        f"Login: user=<{a.addr}>, method=PLAIN, rip={ip}, "
        f"lip={LIP}, mpid={mpid}, {sec}, session=<{sess}>",
    )
    proc = f"imap({a.addr})<{mpid}><{sess}>"
    tt = t + 0.1
    deleted = expunged = trashed = 0
    n_ops = 0 if rng.random() < 0.5 else rng.randint(1, 4)
    for _ in range(n_ops):
        if not a.msgs:
            break
        tt += rng.uniform(0.5, 30.0)
        i = rng.randrange(len(a.msgs))
        msg = a.msgs[i]
        box = msg[1]
        op = rng.random()
        if op < 0.35 and box != "Trash":  # MOVE to Trash = copy + expunge
            uid = a.next_uid("Trash")
            ctx.dv(tt, proc, f"copy from {box}: box=Trash, uid={uid}, {_ml(msg)}")
            ctx.dv(tt, proc, f"expunge: box={box}, uid={msg[2]}, {_ml(msg)}")
            msg[1], msg[2] = "Trash", uid
            trashed += 1
            _mailbox_truth(ctx, tt, a, msg, "moved", "Trash")
        elif op < 0.55:  # STORE \Deleted + EXPUNGE
            ctx.dv(tt, proc, f"delete: box={box}, uid={msg[2]}, {_ml(msg)}")
            ctx.dv(tt, proc, f"expunge: box={box}, uid={msg[2]}, {_ml(msg)}")
            del a.msgs[i]
            deleted += 1
            expunged += 1
            _mailbox_truth(ctx, tt, a, msg, "deleted", None)
        elif op < 0.75 and box == "INBOX":  # MOVE to a folder
            dest = rng.choice(vocab.FOLDERS)
            uid = a.next_uid(dest)
            ctx.dv(tt, proc, f"copy from {box}: box={dest}, uid={uid}, {_ml(msg)}")
            ctx.dv(tt, proc, f"expunge: box={box}, uid={msg[2]}, {_ml(msg)}")
            msg[1], msg[2] = dest, uid
            _mailbox_truth(ctx, tt, a, msg, "moved", dest)
        else:
            ctx.dv(tt, proc, f"flag_change: box={box}, uid={msg[2]}, {_ml(msg)}")
    if rng.random() < 0.1:  # APPEND to Sent (a client saving its own copy)
        tt += rng.uniform(0.5, 5.0)
        mid = ctx.ids.message_id(tt, a.domain)
        subj = ctx.world.subjects[rng.randrange(len(ctx.world.subjects))]
        size = rng.randrange(400, 30000)
        uid = store(a, "Sent", mid, size, f"{a.name} <{a.addr}>", subj.dovecot)
        ctx.dv(
            tt,
            proc,
            f"save: box=Sent, uid={uid}, msgid=<{mid}>, size={size}, "
            f"from={a.name} <{a.addr}>, subject={subj.dovecot}",
        )
    if rng.random() < 0.01:
        ctx.dv(tt + 1, proc, "Mailbox renamed: Projects -> Archive/Projects")
    dur = rng.uniform(2, 60) if short else (rng.expovariate(1 / 900.0) + 1)
    out_t = tt + dur
    i_b, o_b = rng.randrange(100, 9000), rng.randrange(800, 2_000_000)
    hc = rng.randrange(0, 40)
    counters = (
        f"in={i_b} out={o_b} deleted={deleted} expunged={expunged} trashed={trashed} "
        f"hdr_count={hc} hdr_bytes={hc * 612} body_count={hc // 3} body_bytes={hc * 4100}"
    )
    if rng.random() < 0.15:
        ctx.dv(
            out_t,
            proc,
            f"Disconnected: Connection closed (IDLE running for 0.001 + waiting input "
            f"for {dur:.3f} secs, 2 B in + 10+0 B out, state=wait-input) {counters}",
        )
    else:
        ctx.dv(out_t, proc, f"Disconnected: Logged out {counters}")
    closed = out_t <= ctx.t_end  # else the logout (and its counters) is not in the logs
    _truth(
        ctx,
        t + 0.05,
        "imap",
        a.addr,
        ip,
        sess,
        True,
        client=client_name(client),
        logout_time=iso(out_t) if closed else None,
        bytes_in=i_b if closed else None,
        bytes_out=o_b if closed else None,
        deleted=deleted if closed else None,
        expunged=expunged if closed else None,
        trashed=trashed if closed else None,
    )
    return out_t


def client_name(id_sent: str | None) -> str | None:
    """`name=Thunderbird, version=128.5.0, ...` -> `Thunderbird 128.5.0` (ground truth)."""
    if not id_sent:
        return None
    kv = dict(p.split("=", 1) for p in id_sent.split(", ") if "=" in p)
    return " ".join(v for v in (kv.get("name"), kv.get("version")) if v) or None


def pop3_session(ctx: Ctx, t: float) -> None:
    """POP3: download (RETR/TOP) and delete; DELE shows as `expunge` at QUIT."""
    rng = ctx.rng
    a = _ok_account(ctx, "pop3")
    ip = a.ips[rng.randrange(len(a.ips))]
    sess = ctx.ids.login_session()
    mpid = ctx.new_pid()
    ctx.dv(
        t,
        "pop3-login",
        f"Login: user=<{a.addr}>, method=PLAIN, rip={ip}, "
        f"lip={LIP}, mpid={mpid}, TLS, session=<{sess}>",
    )
    proc = f"pop3({a.addr})<{mpid}><{sess}>"
    inbox = [m for m in a.msgs if m[1] == "INBOX"]
    total = len(inbox)
    size = sum(m[3] for m in inbox)
    tt = t + rng.uniform(0.5, 8.0)
    retr = len(inbox)
    rbytes = size + 40 * retr
    dele = inbox if rng.random() < 0.8 else []
    for m in dele:
        ctx.dv(tt, proc, f"expunge: box=INBOX, uid={m[2]}, {_ml(m)}")
        a.msgs.remove(m)
        _mailbox_truth(ctx, tt, a, m, "downloaded-pop", None)
    ctx.dv(
        tt,
        proc,
        f"Disconnected: Logged out top=0/0, retr={retr}/{rbytes}, "
        f"del={len(dele)}/{total}, size={size}",
    )
    _truth(ctx, t, "pop3", a.addr, ip, sess, True, logout_time=iso(tt), deleted=len(dele))


def managesieve(ctx: Ctx, t: float) -> None:
    """ManageSieve: a client lists or uploads the Sieve script."""
    rng = ctx.rng
    a = _ok_account(ctx)
    ip = a.ips[rng.randrange(len(a.ips))]
    sess = ctx.ids.login_session()
    mpid = ctx.new_pid()
    ctx.dv(
        t,
        "managesieve-login",
        f"Login: user=<{a.addr}>, method=PLAIN, rip={ip}, "
        f"lip={LIP}, mpid={mpid}, TLS, session=<{sess}>",
    )
    out = t + rng.uniform(0.2, 20)
    ctx.dv(
        out,
        f"managesieve({a.addr})<{mpid}><{sess}>",
        f"Disconnected: Logged out bytes={rng.randrange(19, 900)}/{rng.randrange(84, 4000)}",
    )
    _truth(ctx, t, "managesieve", a.addr, ip, sess, True, logout_time=iso(out))


def login_fail(
    ctx: Ctx,
    t: float,
    reason: str | None = None,
    user: str | None = None,
    ip: str | None = None,
    proto: str | None = None,
) -> None:
    """A failed login, in the words Dovecot 2.3 uses for each reason."""
    rng = ctx.rng
    if reason is None:
        reason = rng.choices(
            (
                "auth-failed",
                "unknown-user",
                "user-disabled",
                "deny",
                "ip-notallowed",
                "plaintext-disallowed",
                "many-connections",
            ),
            (40, 20, 5, 5, 5, 5, 5),
        )[0]
    proto = proto or ("pop3" if rng.random() < 0.2 else "imap")
    login = f"{proto}-login"
    a = None
    if user is None:
        if reason == "unknown-user":
            dom = ctx.world.domains[rng.randrange(len(ctx.world.domains))]
            user = f"{rng.choice(vocab.FIRST)}{rng.randrange(1, 99)}@{dom}"
        else:
            want = {"user-disabled": "nologin", "deny": "deny", "ip-notallowed": "allow_nets"}.get(
                reason, "ok"
            )
            accs = ctx.world.accounts
            while a is None:
                c = accs[rng.randrange(len(accs))]
                if c.state == want:
                    a = c
            user = a.addr
    ip = ip or (a.ips[0] if a and rng.random() < 0.5 else _rand_ip(ctx))
    sess = ctx.ids.login_session()
    secs = rng.randrange(0, 9)
    tail = f"user=<{user}>, method=PLAIN, rip={ip}, lip={LIP}, TLS, session=<{sess}>"
    err = reason
    if reason in ("auth-failed", "unknown-user", "ip-notallowed"):
        why = {
            "auth-failed": "Password mismatch",
            "unknown-user": "unknown user",
            "ip-notallowed": f"allow_nets check failed: IP {ip} not in allowed networks",
        }[reason]
        ctx.dv(t, "auth", f"passwd-file({user},{ip},<{sess}>): {why}")
        t2 = t + secs + rng.random()
        if rng.random() < 0.7:
            ctx.dv(
                t2,
                login,
                "Disconnected: Aborted login by logging out "
                f"(auth failed, 1 attempts in {secs} secs): {tail}",
            )
        else:
            ctx.dv(
                t2,
                login,
                f"Disconnected: Connection closed (auth failed, 1 attempts in {secs} secs): {tail}",
            )
        # the attempt's time is its auth line (the first line that names user and IP)
    elif reason == "user-disabled":
        ctx.dv(
            t,
            login,
            "Disconnected: Aborted login by logging out "
            f"(internal failure, 1 successful auths): {tail}",
        )
    elif reason == "deny":
        ctx.dv(t, "auth", "User found from deny passdb")  # the attempt's time (first line)
        ctx.dv(
            t + 1 + rng.random(),
            login,
            f"Disconnected: Aborted login by logging out (user disabled): {tail}",
        )
        err = "user-disabled"
    elif reason == "plaintext-disallowed":
        ctx.dv(
            t,
            login,
            "Login failed: Plaintext authentication disabled: "
            f"user=<>, rip={ip}, lip={LIP}, session=<{sess}>",
        )
        ctx.dv(
            t + 0.01,
            login,
            f"Disconnected: Aborted login by logging out (auth failed, 1 attempts in 0 secs): "
            f"user=<{user}>, rip={ip}, lip={LIP}, session=<{sess}>",
        )
    else:  # many-connections: a session is open, the next one from the same IP is refused
        assert a is not None
        if proto == "imap":
            imap_session(ctx, t, a=a, ip=ip)
            t += rng.uniform(1, 5)
        ctx.dv(
            t,
            login,
            f"Disconnected: Maximum number of connections from user+IP exceeded "
            f"(mail_max_userip_connections=10): {tail}",
        )
    _truth(ctx, t, proto, user, ip, sess, False, error=err)


def _rand_ip(ctx: Ctx) -> str:
    rng = ctx.rng
    return f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}"


def brute_force(ctx: Ctx, t: float) -> None:
    """One IP tries many user names (mostly unknown) over a few minutes."""
    rng = ctx.rng
    ip = _rand_ip(ctx)
    dom = ctx.world.domains[rng.randrange(20)]
    k = rng.random()
    proto = "pop3" if k < 0.25 else "smtp" if k < 0.5 else "imap"
    accs = [a for a in ctx.world.accounts[:400] if a.domain == dom and a.state == "ok"][:5]
    if proto == "smtp":  # SMTP AUTH guessing on submission, a few tries per connection
        for _ in range(rng.randint(8, 30)):
            t += rng.uniform(2.0, 20.0)
            user = rng.choice(accs).addr if accs and rng.random() < 0.5 else f"admin@{dom}"
            refused_out.auth_fail(ctx, t, user=user, ip=ip, tries=rng.randint(1, 3))
            t += 15
        return
    for _ in range(rng.randint(20, 80)):
        t += rng.uniform(0.5, 6.0)
        if accs and rng.random() < 0.3:
            login_fail(ctx, t, "auth-failed", user=rng.choice(accs).addr, ip=ip, proto=proto)
        else:
            user = f"{rng.choice((*vocab.ROLES, 'admin', 'test', 'root', 'postmaster'))}@{dom}"
            known = user in ctx.world.by_addr
            login_fail(
                ctx, t, "auth-failed" if known else "unknown-user", user=user, ip=ip, proto=proto
            )


def imap(ctx: Ctx, t: float) -> None:
    """A plain IMAP session of a random user."""
    imap_session(ctx, t)
