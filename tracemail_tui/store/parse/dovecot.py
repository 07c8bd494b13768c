"""Dovecot events: logins, login failures, auth verdicts, IMAP ID, logouts, deliveries, mailbox.

Input is the lines frame (``program == "dovecot"``); the syslog form and Dovecot's own
``log_path`` form arrive with the same ``msg`` (header.py strips ``Info: ``):

* ``imap-login: Login: user=<a@b>, method=PLAIN, rip=.., lip=.., mpid=.., TLS, session=<..>``
* ``imap(a@b)<pid><session>: Disconnected: Logged out in=.. out=.. deleted=..``
* ``auth: passwd-file(a@b,1.2.3.4,<session>): Password mismatch``
* ``lmtp(a@b)<pid><session>: sieve: msgid=<..>: stored mail into mailbox 'INBOX'``

The message is split once into ``proc`` / prefix user / pid / session / ``text`` with
``str.find`` + a regex on the short head only, classified with ``starts_with`` tests, and
each kind is then extracted on its own small frame. Lines of no known kind are counted
per process in :attr:`DovecotEvents.unparsed`, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import polars as pl

from tracemail_tui.store.parse import dovecot_mail

LOGIN_PROCS: Final = ("imap-login", "pop3-login", "managesieve-login", "submission-login")
SESSION_PROCS: Final = ("imap", "pop3", "managesieve", "submission")
DELIVERY_PROCS: Final = ("lmtp", "lda", "dovecot-lda", "deliver")
AUTH_PROCS: Final = ("auth", "auth-worker")
# Dovecot's submission service speaks SMTP: its accesses are protocol "smtp" (DESIGN.md).
PROTOCOL: Final = {"imap": "imap", "pop3": "pop3", "managesieve": "managesieve",
                   "submission": "smtp"}

_HEAD = (r"^(?<proc>[a-z][a-z0-9-]*)(?:\((?<paren>[^)]*)\))?"
         r"(?:<(?<hpid>\d+)>)?(?:<(?<hsess>[^>]*)>)?$")
_SEVERITIES: Final = ("Error", "Warning", "Fatal", "Panic", "Debug")
_SESSION_ENDS: Final = ("Disconnected", "Logged out", "Connection closed", "Server shutting down",
                        "Killed with signal", "Inactivity")


@dataclass
class DovecotEvents:
    """Everything one chunk of Dovecot lines says, one frame per kind of event."""

    logins: pl.DataFrame
    failures: pl.DataFrame
    auth: pl.DataFrame
    ids: pl.DataFrame
    logouts: pl.DataFrame
    connections: pl.DataFrame
    deliveries: pl.DataFrame
    mailbox: pl.DataFrame
    unparsed_by_process: pl.DataFrame  # process, lines, sample (one raw line)
    kinds: dict[str, int] = field(default_factory=dict)

    @property
    def unparsed(self) -> int:
        """Dovecot lines of no known form in this chunk (never dropped silently)."""
        by = self.unparsed_by_process
        return int(by["lines"].sum()) if by.height else 0


def split(lines: pl.DataFrame) -> pl.DataFrame:
    """Dovecot lines → time, host, proc, user, pid, session, severity, kind, text, raw."""
    df = lines.filter(pl.col("program") == "dovecot").select("time", "host", "msg", "raw")
    m = pl.col("msg")
    df = df.with_columns(_c=m.str.find(": ", literal=True))
    df = df.with_columns(
        _head=m.str.slice(0, pl.col("_c")), text=m.str.slice(pl.col("_c") + 2)
    ).with_columns(pl.col("_head").str.extract_groups(_HEAD).alias("_h")).unnest("_h")
    paren = pl.col("paren")
    digits = paren.str.contains(r"^\d+$")
    old = paren.str.contains(r"^\d+, ")  # Dovecot 2.2 LMTP: "lmtp(12345, user)"
    df = df.with_columns(
        proc=pl.col("proc").fill_null(pl.col("_head")),
        pid=pl.when(digits).then(paren).when(old).then(paren.str.extract(r"^(\d+)"))
        .otherwise(pl.col("hpid")),
        user=pl.when(digits).then(None).when(old).then(paren.str.extract(r"^\d+, (.*)$"))
        .otherwise(paren).str.to_lowercase(),
        session=pl.col("hsess"),
    )
    t = pl.col("text")
    sev = pl.lit(None, pl.String)
    for s in _SEVERITIES:
        sev = pl.when(t.str.starts_with(s + ": ")).then(pl.lit(s)).otherwise(sev)
    df = df.with_columns(severity=sev).with_columns(
        text=pl.when(pl.col("severity").is_not_null())
        .then(t.str.slice(pl.col("severity").str.len_chars() + 2)).otherwise(t)
    )
    # Dovecot 2.2 LMTP writes the session at the start of the text: "lmtp(1, u): SID: msgid=..".
    lead = t.str.extract(r"^([A-Za-z0-9+/]{16,}(?::R\d+)?): ")
    in_text = (pl.col("proc").is_in(DELIVERY_PROCS) & pl.col("session").is_null()
               & lead.is_not_null())
    df = df.with_columns(
        session=pl.when(in_text).then(lead).otherwise(pl.col("session")),
        text=pl.when(in_text).then(t.str.slice(lead.str.len_chars() + 2)).otherwise(t),
    )
    return df.with_columns(kind=_kind()).select(
        "time", "host", "proc", "user", "pid", "session", "severity", "kind", "text", "raw"
    )


def _kind() -> pl.Expr:
    """Classify a split Dovecot line with cheap prefix tests (no regex on the long text)."""
    p, t, sev = pl.col("proc"), pl.col("text"), pl.col("severity")
    sw = t.str.starts_with
    login_side = p.is_in(LOGIN_PROCS)
    mail_proc = p.is_in(SESSION_PROCS) | p.is_in(DELIVERY_PROCS) | p.is_in(
        ("indexer-worker", "doveadm", "imap-hibernate")
    )
    return (
        pl.when(t.is_null()).then(pl.lit("unparsed"))
        .when(sev == "Debug").then(pl.lit("debug"))
        .when(login_side & sw("Login: ")).then(pl.lit("login"))
        .when(login_side & sw("proxy(") & t.str.contains("): started proxying to", literal=True))
        .then(pl.lit("login"))
        .when(login_side & sw("proxy(")).then(pl.lit("proxy"))
        .when((login_side | p.is_in(SESSION_PROCS)) & sw("ID sent: ")).then(pl.lit("id"))
        .when(login_side & t.str.contains("user=<", literal=True)).then(pl.lit("failure"))
        .when(p.is_in(AUTH_PROCS) & sw("User found from deny passdb")).then(pl.lit("auth"))
        .when(p.is_in(AUTH_PROCS) & t.str.contains("): ", literal=True)).then(pl.lit("auth"))
        .when(mail_proc & dovecot_mail.mail_log_test(t)).then(pl.lit("mail_log"))
        .when(p.is_in(DELIVERY_PROCS) & (sw("sieve: ") | sw("msgid=")))
        .then(pl.lit("delivery"))
        .when(p.is_in(DELIVERY_PROCS) & (sw("Connect from ") | sw("Disconnect from ")))
        .then(pl.lit("lmtp_connection"))
        .when(p.is_in(SESSION_PROCS) & pl.any_horizontal(*(sw(s) for s in _SESSION_ENDS)))
        .then(pl.lit("logout"))
        .when(sev.is_not_null()).then(pl.lit("diagnostic"))
        .when((p == "master") | (p == "log") | (p == "config") | (p == "anvil"))
        .then(pl.lit("service"))
        .otherwise(pl.lit("unparsed"))
    )


# --- login side: Login / failures / ID -------------------------------------------------

def _client_info(df: pl.DataFrame) -> pl.DataFrame:
    """Split ``<reason>: user=<u>, method=.., rip=.., lip=.., mpid=.., TLS, session=<..>``.

    The user may be hostile (it is whatever the client typed), so the user is taken up to
    the *last* ``>, method=`` / ``>, rip=`` and the fields are read from what follows.
    """
    t = pl.col("text")
    df = df.with_columns(_u=t.str.find(": user=<", literal=True))
    df = df.with_columns(
        reason=t.str.slice(0, pl.col("_u")),
        _info=t.str.slice(pl.col("_u") + 2),
    )
    # "Login: user=<..>" has the user first (no ": user=<" before it).
    df = df.with_columns(
        _info=pl.when(t.str.starts_with("Login: ")).then(t.str.slice(7))
        .otherwise(pl.col("_info")),
        reason=pl.when(t.str.starts_with("Login: ")).then(pl.lit("Login"))
        .otherwise(pl.col("reason")),
    )
    i = pl.col("_info")
    g = i.str.extract_groups(r"^user=<(?<luser>.*)>, (?<tail>(?:method|rip)=.*)$")
    df = df.with_columns(_g=g).unnest("_g")
    tail = pl.col("tail").fill_null(i)
    return df.with_columns(
        login_user=pl.when(pl.col("luser") == "").then(None).otherwise(pl.col("luser")),
        method=tail.str.extract(r"^method=([^,]*)"),
        rip=tail.str.extract(r"(?:^|, )rip=([^,]*)"),
        lip=tail.str.extract(r"(?:^|, )lip=([^,]*)"),
        mpid=tail.str.extract(r"(?:^|, )mpid=(\d+)"),
        tls=tail.str.contains(r"(?:^|, )TLS(?:, |$)"),
        secured=tail.str.contains(r"(?:^|, )secured(?:, |$)"),
        session=pl.coalesce(tail.str.extract(r"(?:^|, )session=<([^>]*)>"), pl.col("session")),
    ).drop("_u", "_info", "luser", "tail")


def failure_error(reason: pl.Expr) -> pl.Expr:
    """Login-side failure text → DESIGN.md error word (null for a mere connection)."""
    c = reason.str.contains
    pairs = [
        ("Maximum number of connections", "many-connections"),
        ("Plaintext authentication disabled", "plaintext-disallowed"),
        ("(tried to use disallowed plaintext auth)", "plaintext-disallowed"),
        ("(user disabled)", "user-disabled"),
        ("(login disabled)", "user-disabled"),
        ("(internal failure, ", "user-disabled"),  # nologin: auth ok, login refused
        ("(auth failed, ", "auth-failed"),
        ("(password expired)", "password-expired"),
        ("(authorization failed", "authz-failed"),
        ("(auth service reported temporary failure)", "auth-tempfail"),
        ("(tried to use unsupported auth mechanism)", "unsupported-mechanism"),
        ("(sent invalid base64 in response)", "invalid-base64"),
        ("(client didn't finish SASL auth", "auth-unfinished"),
        ("(disconnected while authenticating", "auth-interrupted"),
        ("(disconnected while finishing login", "login-interrupted"),
        ("(aborted authentication)", "auth-aborted"),
        ("(auth process communication failure)", "auth-unavailable"),
        ("(proxy dest auth failed)", "proxy-auth-failed"),
        ("(cert required, client didn't start TLS)", "cert-required"),
        ("(client didn't send a cert)", "cert-required"),
        ("(client sent an invalid cert)", "cert-invalid"),
    ]
    out = pl.lit(None, pl.String)
    for needle, word in reversed(pairs):
        out = pl.when(c(needle, literal=True)).then(pl.lit(word)).otherwise(out)
    return out


def connection_reason(reason: pl.Expr) -> pl.Expr:
    """Short kebab word for a login-side disconnect without any auth attempt (stats)."""
    c = reason.str.contains
    kebab = (
        reason.str.replace(r"^(?:Disconnected|Login aborted|Aborted login)[: ]*", "")
        .str.replace(r"\(.*$", "")
        .str.to_lowercase().str.replace_all(r"[^a-z]+", "-").str.strip_chars("-").str.slice(0, 40)
    )
    return (
        pl.when(c("SSL_accept() failed", literal=True) | c("TLS handshaking", literal=True))
        .then(pl.lit("tls-handshake-failed"))
        .when(c("Inactivity", literal=True)).then(pl.lit("inactivity"))
        .when(c("(disconnected before auth was ready", literal=True)).then(pl.lit("auth-not-ready"))
        .when(c("Too many invalid", literal=True)).then(pl.lit("too-many-invalid-commands"))
        .when(c("(no auth attempts", literal=True)).then(pl.lit("no-auth-attempts"))
        .when(kebab == "").then(pl.lit("disconnected"))
        .otherwise(kebab)
    )


def _login_side(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(logins, failures, connections, ids) from the login processes' lines."""
    base = ["time", "host", "proto", "session", "user", "method", "rip", "lip", "mpid", "tls",
            "secured"]
    side = df.filter(pl.col("kind").is_in(("login", "failure")))
    side = side.with_columns(proto=pl.col("proc").str.replace("-login", "", literal=True))
    side = _client_info(side).with_columns(user=pl.col("login_user").str.to_lowercase())
    logins = side.filter(pl.col("kind") == "login").select(*base)
    fails = side.filter(pl.col("kind") == "failure").with_columns(
        error=failure_error(pl.col("reason"))
    )
    attempt = pl.col("error").is_not_null() | pl.col("user").is_not_null()
    failures = fails.filter(attempt).with_columns(
        error=pl.col("error").fill_null(connection_reason(pl.col("reason")))
    ).select(
        *base, "reason", "error", user_raw="login_user",
        # "Login failed: ..." is said while the client may still try again; the other
        # failure lines end the connection.
        final=~pl.col("reason").str.starts_with("Login failed"),
    )
    connections = fails.filter(~attempt).select(
        "time", "host", "proto", "session", "rip", "lip", "tls", "reason",
        why=connection_reason(pl.col("reason")),
    )
    ids = _ids(df)
    return logins, failures, connections, ids


def _ids(df: pl.DataFrame) -> pl.DataFrame:
    """IMAP ID announcements: ``ID sent: name=X, version=Y, ...: user=<>, ..., session=<S>``."""
    ids = df.filter(pl.col("kind") == "id")
    t = pl.col("text")
    # The ID values come first and may be hostile: the client info is after the *last*
    # ": user=<" (greedy prefix); post-login ID lines carry the session in their prefix.
    g = t.str.extract_groups(r"^ID sent: (?<idv>.*): user=<.*?session=<(?<isess>[^>]*)>")
    ids = ids.with_columns(_g=g).unnest("_g").with_columns(
        idv=pl.coalesce(pl.col("idv"), t.str.slice(9)),
        session=pl.coalesce(pl.col("isess"), pl.col("session")),
    )
    v = pl.col("idv")
    stop = r"(?:, [a-z][\w-]*=|$)"
    name = v.str.extract(r"(?:^|, )name=(.*?)" + stop)
    version = v.str.extract(r"(?:^|, )version=(.*?)" + stop)
    client = pl.when(version.is_not_null() & name.is_not_null()).then(
        pl.concat_str([name, pl.lit(" "), version])).otherwise(name)
    return ids.select("time", "host", "session", client=client, id_fields=v)


# --- auth process ---------------------------------------------------------------------

def auth_error(reason: pl.Expr) -> pl.Expr:
    """auth process verdict text → DESIGN.md error word (null when it is not a refusal)."""
    sw, c = reason.str.starts_with, reason.str.contains
    return (
        pl.when(sw("Password mismatch")).then(pl.lit("auth-failed"))
        .when(sw("unknown user")).then(pl.lit("unknown-user"))
        .when(c("allow_nets check failed", literal=True)).then(pl.lit("ip-notallowed"))
        .when(sw("User found from deny passdb")).then(pl.lit("user-disabled"))
        .when(c("User not known to the underlying authentication module", literal=True))
        .then(pl.lit("unknown-user"))
        .when(c("Authentication failure", literal=True)).then(pl.lit("auth-failed"))
        .when(c("Account expired", literal=True) | c("Password expired", literal=True))
        .then(pl.lit("password-expired"))
        .otherwise(None)
    )


def _auth(df: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """``passwd-file(user,ip[,<session>]): verdict`` lines (and the deny-passdb hit)."""
    a = df.filter(pl.col("kind") == "auth")
    g = pl.col("text").str.extract_groups(
        r"^(?<driver>[a-z][\w-]*)\((?<auser>.*),(?<ip>[0-9A-Fa-f:.]*)"
        r"(?:,<(?<asess>[^>]*)>)?\): (?<verdict>.*)$"
    )
    a = a.with_columns(_g=g).unnest("_g").with_columns(
        reason=pl.coalesce(pl.col("verdict"), pl.col("text"))
    )
    a = a.select(
        "time", "host", "driver", "reason",
        user=pl.col("auser").str.to_lowercase(), ip=pl.when(pl.col("ip") != "").then(pl.col("ip")),
        session=pl.col("asess"), error=auth_error(pl.col("reason")),
    )
    return attach_deny(a, failures)


def attach_deny(auth: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """Give a deny-passdb hit (which names nobody) the session, user and IP of the next
    ``(user disabled)`` login failure on the same host within 30 s."""
    a = auth.with_row_index("_r")
    deny = a.filter(pl.col("session").is_null() & (pl.col("error") == "user-disabled"))
    if deny.height and failures.height:
        cand = failures.filter(pl.col("error") == "user-disabled").select(
            "host", f_time="time", f_sess="session", f_user="user", f_ip="rip"
        ).sort("f_time")
        joined = deny.sort("time").join_asof(
            cand, left_on="time", right_on="f_time", by="host", strategy="forward",
            tolerance="30s", check_sortedness=False,
        ).select("_r", "f_sess", "f_user", "f_ip")
        a = a.join(joined, on="_r", how="left").with_columns(
            session=pl.coalesce("session", "f_sess"), user=pl.coalesce("user", "f_user"),
            ip=pl.coalesce("ip", "f_ip"),
        ).drop("f_sess", "f_user", "f_ip")
    return a.sort("_r").drop("_r")


# --- mail processes: logouts ------------------------------------------------------------

def _logouts(df: pl.DataFrame) -> pl.DataFrame:
    """Session ends with their counters (IMAP in/out/deleted/expunged/trashed, POP3
    top/retr/del/size, ManageSieve and old IMAP ``bytes=in/out``)."""
    lo = df.filter(pl.col("kind") == "logout").with_columns(proto=pl.col("proc"))
    t = pl.col("text")
    imap = t.str.extract_groups(
        r"\bin=(?<i_in>\d+) out=(?<i_out>\d+)"
        r"(?: deleted=(?<i_del>\d+) expunged=(?<i_exp>\d+) trashed=(?<i_tr>\d+))?"
    )
    pop = t.str.extract_groups(
        r"\btop=(?<t_n>\d+)/(?<t_b>\d+), retr=(?<r_n>\d+)/(?<r_b>\d+),"
        r" del=(?<d_n>\d+)/(?<d_m>\d+), size=(?<sz>\d+)"
    )
    lo = lo.with_columns(_i=imap, _p=pop).unnest("_i", "_p")
    old = t.str.extract_groups(r"\bbytes=(?<b_in>\d+)/(?<b_out>\d+)")
    lo = lo.with_columns(_b=old).unnest("_b")
    i64 = pl.Int64
    # POP3 logs no input bytes; what it sent is the TOP and RETR bytes (size= is the mailbox).
    pop_out = pl.col("t_b").cast(i64) + pl.col("r_b").cast(i64)
    return lo.select(
        "time", "host", "proto", "user", "pid", "session",
        reason=t.str.replace(r"\s*(?:\b(?:in|bytes|top)=.*)?$", "")
        .str.replace(r"^Disconnected: ", ""),
        bytes_in=pl.coalesce(pl.col("i_in"), pl.col("b_in")).cast(i64),
        bytes_out=pl.coalesce(pl.col("i_out").cast(i64), pop_out, pl.col("b_out").cast(i64)),
        deleted=pl.coalesce(pl.col("i_del"), pl.col("d_n")).cast(i64),
        expunged=pl.col("i_exp").cast(i64),
        trashed=pl.col("i_tr").cast(i64),
        pop_top=pl.col("t_n").cast(i64), pop_retr=pl.col("r_n").cast(i64),
        pop_mailbox_size=pl.col("sz").cast(i64),
    )


def parse(lines: pl.DataFrame) -> DovecotEvents:
    """Parse the Dovecot lines of a lines frame (other programs are ignored)."""
    df = split(lines)
    logins, failures, connections, ids = _login_side(df)
    auth = _auth(df, failures)
    logouts = _logouts(df)
    dlines = dovecot_mail.delivery_lines(df)
    deliveries = dovecot_mail.deliveries(df, dlines)
    mailbox = dovecot_mail.mailbox(df, dlines)
    kinds = dict(df.group_by("kind").len().iter_rows()) if df.height else {}
    # Delivery lines whose action is of no known form count as unparsed too.
    odd = dlines.filter(pl.col("action").is_null()).select("proc", "raw")
    bad = pl.concat([df.filter(pl.col("kind") == "unparsed").select("proc", "raw"), odd])
    unparsed = bad.group_by(process=pl.col("proc").fill_null("?")).agg(
        lines=pl.len().cast(pl.Int64), sample=pl.col("raw").first()
    ).sort("process")
    return DovecotEvents(
        logins=logins, failures=failures, auth=auth, ids=ids, logouts=logouts,
        connections=connections, deliveries=deliveries, mailbox=mailbox,
        unparsed_by_process=unparsed, kinds={str(k): int(v) for k, v in kinds.items()},
    )


__all__ = ["DovecotEvents", "attach_deny", "auth_error", "failure_error", "parse", "split"]
