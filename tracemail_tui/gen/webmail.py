"""Roundcube on webmail1: `userlogins` lines and the IMAP logins they cause on imap1.

Line form (rcube::write_log with log_session_id=8, Roundcube 1.5+ log_login):
`[27-Nov-2026 05:01:02 +0000]: <abcd1234> Successful login for u@d (ID: 12) from 1.2.3.4`
`in session abcd1234efgh5678` (one line)
`... Failed login for u@d from 1.2.3.4 in session abcd1234efgh5678 (error: 0)`
"""

from __future__ import annotations

from tracemail_tui.gen import vocab
from tracemail_tui.gen.access import LIP, imap_session
from tracemail_tui.gen.ctx import Ctx
from tracemail_tui.gen.world import HOSTS

WEBMAIL_IP = HOSTS["webmail1"]
# Roundcube 1.6 sends no IMAP ID when it logs in (only its About page asks the server's
# vendor): seen on 1.6.5 against a Dovecot with imap_id_log = *, whose log has no "ID sent"
# line for Roundcube's sessions (tests/fixtures/webmail-roundcube). "" = no ID line.
NO_ID = ""


def webmail_login(ctx: Ctx, t: float) -> None:
    """A user logs in to Roundcube; each page load is a short IMAP session from webmail1."""
    rng = ctx.rng
    accs = ctx.world.accounts
    a = accs[rng.randrange(len(accs))]
    while a.state != "ok":
        a = accs[rng.randrange(len(accs))]
    ip = a.ips[rng.randrange(len(a.ips))]
    php = ctx.ids.php_session()
    # Roundcube verifies the password with an IMAP login first, then logs the success.
    end = imap_session(
        ctx, t, a=a, ip=WEBMAIL_IP, client=NO_ID, secured=True, short=True
    )
    ctx.rc(
        t + 0.2, php, f"Successful login for {a.addr} (ID: {a.uid}) from {ip} in session {php[:16]}"
    )
    if ctx.truth_on:
        ctx.truth(
            "accesses",
            t + 0.2,
            status="success",
            error=None,
            user=a.addr,
            domain=a.domain,
            protocol="webmail",
            server="webmail1",
            remote_ip=ip,
            session=php[:16],
        )
    tt = end
    for _ in range(rng.randint(0, 3)):
        tt += rng.uniform(5, 300)
        if tt + 60 > ctx.t_end:  # its lines would fall after the run (its truth must not)
            break
        tt = imap_session(
            ctx, tt, a=a, ip=WEBMAIL_IP, client=NO_ID, secured=True, short=True
        )


def webmail_fail(ctx: Ctx, t: float) -> None:
    """A wrong password in Roundcube: the IMAP auth failure and the `Failed login` line."""
    rng = ctx.rng
    accs = ctx.world.accounts
    known = rng.random() < 0.7
    user = (
        accs[rng.randrange(len(accs))].addr
        if known
        else (
            f"{rng.choice(vocab.FIRST)}@{ctx.world.domains[rng.randrange(len(ctx.world.domains))]}"
        )
    )
    if user in ctx.world.by_addr:
        known = True
    ip = f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}"
    php = ctx.ids.php_session()
    sess = ctx.ids.login_session()
    ctx.dv(
        t,
        "auth",
        f"passwd-file({user},{WEBMAIL_IP},<{sess}>): "
        f"{'Password mismatch' if known else 'unknown user'}",
    )
    ctx.dv(
        t + 2,
        "imap-login",
        f"Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): "
        f"user=<{user}>, method=PLAIN, rip={WEBMAIL_IP}, lip={LIP}, secured, session=<{sess}>",
    )
    ctx.rc(t + 2.1, php, f"Failed login for {user} from {ip} in session {php[:16]} (error: 0)")
    if ctx.truth_on:
        err = "auth-failed" if known else "unknown-user"
        ctx.truth(
            "accesses",
            t,
            status="failed",
            error=err,
            user=user,
            domain=user.rpartition("@")[2],
            protocol="imap",
            server="imap1",
            local_ip=LIP,
            remote_ip=WEBMAIL_IP,
            session=sess,
        )
        ctx.truth(
            "accesses",
            t + 2.1,
            status="failed",
            error=err,
            user=user,
            domain=user.rpartition("@")[2],
            protocol="webmail",
            server="webmail1",
            remote_ip=ip,
            session=php[:16],
        )
