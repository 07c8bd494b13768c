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
from tracemail_tui.store.parse.cut import after, before, cut, nbytes
from tracemail_tui.store.parse.dovecot_session import (
    attach_deny,
    auth_error,
    failure_error,
    login_side,
    logouts,
    parse_auth,
)

LOGIN_PROCS: Final = ("imap-login", "pop3-login", "managesieve-login", "submission-login")
SESSION_PROCS: Final = ("imap", "pop3", "managesieve", "submission")
DELIVERY_PROCS: Final = ("lmtp", "lda", "dovecot-lda", "deliver")
AUTH_PROCS: Final = ("auth", "auth-worker")
# Dovecot's submission service speaks SMTP: its accesses are protocol "smtp" (DESIGN.md).
PROTOCOL: Final = {"imap": "imap", "pop3": "pop3", "managesieve": "managesieve",
                   "submission": "smtp"}

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
    def ignored(self) -> int:
        """Lines understood that make no row: LMTP connects, service and debug messages,
        warnings/errors, and connections that never tried to log in (``connections``)."""
        quiet = ("lmtp_connection", "service", "debug", "diagnostic", "proxy")
        return sum(self.kinds.get(k, 0) for k in quiet) + self.connections.height

    @property
    def unparsed(self) -> int:
        """Dovecot lines of no known form in this chunk (never dropped silently)."""
        by = self.unparsed_by_process
        return int(by["lines"].sum()) if by.height else 0


def split(lines: pl.DataFrame) -> pl.DataFrame:
    """Dovecot lines → time, host, proc, user, pid, session, severity, kind, text, raw.

    The head ``proc(user)<pid><session>`` is cut with byte positions (see ``cut.py``):
    a regex with capture groups over every line would cost more than everything else.
    """
    df = lines.filter(pl.col("program") == "dovecot").select("time", "host", "msg", "raw")
    m = pl.col("msg")
    df = df.with_columns(_c=m.str.find(": ", literal=True))
    c = pl.col("_c")
    df = df.with_columns(
        _head=pl.when(c.is_not_null()).then(cut(m, 0, c)).otherwise(m),
        text=pl.when(c.is_not_null()).then(cut(m, c + 2)),
    )
    h = pl.col("_head")
    df = df.with_columns(
        _po=h.str.find("(", literal=True),
        _pc=pl.coalesce(h.str.find(")<", literal=True),
                        pl.when(h.str.ends_with(")")).then(nbytes(h) - 1)),
        _lt=h.str.find("<", literal=True),
    )
    po, pc, lt = pl.col("_po"), pl.col("_pc"), pl.col("_lt")
    angle = pl.when(pc.is_not_null()).then(cut(h, pc + 1)).when(po.is_null() & lt.is_not_null()) \
        .then(cut(h, lt))
    df = df.with_columns(
        proc=cut(h, 0, pl.coalesce(po, lt, nbytes(h))),
        paren=pl.when(po.is_not_null() & pc.is_not_null()).then(cut(h, po + 1, pc - po - 1)),
        _in=pl.when(angle.str.starts_with("<") & angle.str.ends_with(">"))
        .then(cut(angle, 1, nbytes(angle) - 2)),
    )
    inner = pl.col("_in")
    sep = inner.str.find("><", literal=True)
    in_digits = inner.str.contains(r"^\d+$")
    paren = pl.col("paren")
    digits = paren.str.contains(r"^\d+$")
    old = paren.str.contains(r"^\d+, ")  # Dovecot 2.2 LMTP: "lmtp(12345, user)"
    df = df.with_columns(
        pid=pl.when(digits).then(paren).when(old).then(before(paren, ", "))
        .when(sep.is_not_null()).then(cut(inner, 0, sep)).when(in_digits).then(inner),
        user=pl.when(digits).then(None).when(old).then(after(paren, ", "))
        .otherwise(paren).str.to_lowercase(),
        session=pl.when(sep.is_not_null()).then(cut(inner, sep + 2))
        .when(~in_digits).then(inner),
    )
    t = pl.col("text")
    sev_hit = t.str.contains(r"^(?:Error|Warning|Fatal|Panic|Debug): ")
    df = df.with_columns(severity=pl.when(sev_hit).then(before(t, ": ")))
    df = df.with_columns(text=pl.when(sev_hit).then(after(t, ": ")).otherwise(t))
    # Dovecot 2.2 LMTP writes the session at the start of the text: "lmtp(1, u): SID: msgid=..".
    lead = t.str.contains(r"^[A-Za-z0-9+/]{16,}(?::R\d+)?: ")
    in_text = pl.col("proc").is_in(DELIVERY_PROCS) & pl.col("session").is_null() & lead
    df = df.with_columns(
        session=pl.when(in_text).then(before(t, ": ")).otherwise(pl.col("session")),
        text=pl.when(in_text).then(after(t, ": ")).otherwise(t),
    )
    return df.with_columns(kind=_kind()).select(
        "time", "host", "proc", "user", "pid", "session", "severity", "kind", "text", "raw"
    )


_MAIL_PROCS: Final = (*SESSION_PROCS, "indexer-worker", "doveadm", "imap-hibernate")
_CLASS: Final = {
    **dict.fromkeys(LOGIN_PROCS, "login"), **dict.fromkeys(AUTH_PROCS, "auth"),
    **dict.fromkeys(_MAIL_PROCS, "mail"), **dict.fromkeys(DELIVERY_PROCS, "delivery"),
    **dict.fromkeys(("master", "log", "config", "anvil"), "service"),
}
_MAIL_LOG = (r"^(?:(?:save|copy|expunge|delete|undelete|flag_change)(?: from [^:]*)?: "
             r"|Mailbox (?:renamed|deleted|created): )")
_ENDS = r"^(?:" + "|".join(_SESSION_ENDS) + ")"


def _kind() -> pl.Expr:
    """Classify a split Dovecot line: the process class, then one anchored (DFA-only)
    regex test per kind of text; no capture groups over all lines."""
    cls = pl.col("proc").replace_strict(_CLASS, default="other", return_dtype=pl.String)
    t, sev = pl.col("text"), pl.col("severity")
    rx = t.str.contains
    login, mail, deliv = cls == "login", cls == "mail", cls == "delivery"
    # Numbered in a when-chain (cheap integers), named once at the end.
    tests = [
        ("unparsed", t.is_null()),
        ("debug", sev == "Debug"),
        ("login", login & rx(r"^(?:Login: |proxy\(.*\): started proxying to)")),
        ("proxy", login & t.str.starts_with("proxy(")),
        ("id", (login | (cls == "mail")) & t.str.starts_with("ID sent: ")),
        ("failure", login & t.str.contains("user=<", literal=True)),
        ("auth", (cls == "auth") & (t.str.starts_with("User found from deny passdb")
                                    | t.str.contains("): ", literal=True))),
        ("mail_log", (mail | deliv) & rx(_MAIL_LOG)),
        ("delivery", deliv & rx(r"^(?:sieve: |msgid=)")),
        ("lmtp_connection", deliv & rx(r"^(?:Connect|Disconnect) from ")),
        ("logout", mail & pl.col("proc").is_in(SESSION_PROCS) & rx(_ENDS)),
        ("diagnostic", sev.is_not_null()),
        ("service", cls == "service"),
    ]
    code: pl.Expr = pl.lit(len(tests), pl.UInt8)
    for i, (_, test) in reversed(list(enumerate(tests))):
        code = pl.when(test).then(pl.lit(i, pl.UInt8)).otherwise(code)
    names = {i: name for i, (name, _) in enumerate(tests)} | {len(tests): "unparsed"}
    return code.replace_strict(names, return_dtype=pl.String)


def parse(lines: pl.DataFrame) -> DovecotEvents:
    """Parse the Dovecot lines of a lines frame (other programs are ignored)."""
    df = split(lines)
    logins, failures, connections, ids = login_side(df)
    auth = parse_auth(df, failures)
    logout_rows = logouts(df)
    dlines = dovecot_mail.delivery_lines(df)
    mlog = dovecot_mail.mail_log_lines(df)
    deliveries = dovecot_mail.deliveries(df, dlines, mlog)
    mailbox = dovecot_mail.mailbox(df, dlines, mlog)
    kinds = dict(df.group_by("kind").len().iter_rows()) if df.height else {}
    # Delivery lines whose action is of no known form count as unparsed too.
    odd = dlines.filter(pl.col("action").is_null()).select("proc", "raw")
    bad = pl.concat([df.filter(pl.col("kind") == "unparsed").select("proc", "raw"), odd])
    unparsed = bad.group_by(process=pl.col("proc").fill_null("?")).agg(
        lines=pl.len().cast(pl.Int64), sample=pl.col("raw").first()
    ).sort("process")
    return DovecotEvents(
        logins=logins, failures=failures, auth=auth, ids=ids, logouts=logout_rows,
        connections=connections, deliveries=deliveries, mailbox=mailbox,
        unparsed_by_process=unparsed, kinds={str(k): int(v) for k, v in kinds.items()},
    )


__all__ = ["DovecotEvents", "attach_deny", "auth_error", "failure_error", "parse", "split"]
