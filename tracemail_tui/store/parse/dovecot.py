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
from polars.expr.whenthen import ChainedThen, Then

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
from tracemail_tui.store.parse.dovecot_submission import RELAYS, relay_test, relays

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
    relays: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=RELAYS))
    """Messages Dovecot's submission service relayed to the MTA (`dovecot_submission`)."""

    @property
    def ignored(self) -> int:
        """Lines understood that make no row: LMTP connects, Sieve's notes on a script run,
        service and debug messages, warnings/errors, and connections that never tried to
        log in (``connections``)."""
        quiet = ("lmtp_connection", "sieve_note", "service", "debug", "diagnostic", "proxy")
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
    One-shot runs read lines without ``raw`` (memory); ``msg`` then stands in for it.
    """
    raw = pl.col("raw") if "raw" in lines.columns else pl.col("msg").alias("raw")
    df = lines.filter(pl.col("program") == "dovecot").select("time", "host", "msg", raw)
    m = pl.col("msg")
    df = df.with_columns(_c=m.str.find(": ", literal=True))
    c = pl.col("_c")
    # A null length cuts to the end, a null offset gives null: no when/then needed.
    df = df.with_columns(_head=cut(m, 0, c), text=cut(m, c + 2))
    h = pl.col("_head")
    df = df.with_columns(
        _po=h.str.find("(", literal=True),
        _pc=pl.coalesce(h.str.find(")<", literal=True),
                        pl.when(h.str.ends_with(")")).then(nbytes(h) - 1)),
        _lt=h.str.find("<", literal=True),
    )
    po, pc, lt = pl.col("_po"), pl.col("_pc"), pl.col("_lt")
    df = df.with_columns(
        proc=cut(h, 0, pl.coalesce(po, lt)),
        paren=cut(h, pl.when(pc.is_not_null()).then(po + 1), pc - po - 1),
        _angle=cut(h, pl.when(pc.is_not_null()).then(pc + 1)
                   .when(po.is_null() & lt.is_not_null()).then(lt)),
    )
    angle = pl.col("_angle")
    df = df.with_columns(
        _in=cut(angle, pl.when(angle.str.starts_with("<") & angle.str.ends_with(">")).then(1),
                nbytes(angle) - 2),
    )
    inner, paren = pl.col("_in"), pl.col("paren")
    df = df.with_columns(
        _sep=inner.str.find("><", literal=True),
        _in_digits=inner.str.contains(r"^\d+$"),
        _digits=paren.str.contains(r"^\d+$"),
        _old=paren.str.contains(r"^\d+, "),  # Dovecot 2.2 LMTP: "lmtp(12345, user)"
    )
    sep, in_digits, digits, old = (pl.col(x) for x in ("_sep", "_in_digits", "_digits", "_old"))
    pid: Then | ChainedThen = pl.when(digits).then(paren)
    user: Then | ChainedThen = pl.when(digits).then(None)
    if df["_old"].any():  # rare: keep its cuts off the common path
        pid = pid.when(old).then(before(paren, ", "))
        user = user.when(old).then(after(paren, ", "))
    df = df.with_columns(
        pid=pid.when(sep.is_not_null()).then(cut(inner, 0, sep)).when(in_digits).then(inner),
        user=user.otherwise(paren).str.to_lowercase(),
        session=pl.when(sep.is_not_null()).then(cut(inner, sep + 2))
        .when(~in_digits).then(inner),
    )
    t = pl.col("text")
    df = df.with_columns(_sev=t.str.contains(r"^(?:Error|Warning|Fatal|Panic|Debug): "))
    if df["_sev"].any():
        sev_hit = pl.col("_sev")
        df = df.with_columns(severity=pl.when(sev_hit).then(before(t, ": ")),
                             text=pl.when(sev_hit).then(after(t, ": ")).otherwise(t))
    else:
        df = df.with_columns(severity=pl.lit(None, pl.String))
    # Dovecot 2.2 LMTP writes the session at the start of the text: "lmtp(1, u): SID: msgid=..".
    cand = pl.col("proc").is_in(DELIVERY_PROCS) & pl.col("session").is_null()
    df = df.with_columns(_lead=cand & t.str.contains(r"^[A-Za-z0-9+/]{16,}(?::R\d+)?: "))
    if df["_lead"].any():
        in_text = pl.col("_lead")
        df = df.with_columns(
            session=pl.when(in_text).then(before(t, ": ")).otherwise(pl.col("session")),
            text=pl.when(in_text).then(after(t, ": ")).otherwise(t),
        )
    return df.with_columns(kind=_kind(df)).select(
        "time", "host", "proc", "user", "pid", "session", "severity", "kind", "text", "raw"
    )


_MAIL_PROCS: Final = (*SESSION_PROCS, "indexer-worker", "doveadm", "imap-hibernate")
_CLASS: Final = {
    **dict.fromkeys(LOGIN_PROCS, "login"), **dict.fromkeys(AUTH_PROCS, "auth"),
    **dict.fromkeys(_MAIL_PROCS, "mail"), **dict.fromkeys(DELIVERY_PROCS, "delivery"),
    **dict.fromkeys(("master", "log", "config", "anvil", "indexer"), "service"),
}
_MAIL_LOG = (r"^(?:(?:save|copy|expunge|delete|undelete|flag_change)(?: from [^:]*)?: "
             r"|Mailbox (?:renamed|deleted|created): )")
_ENDS = r"^(?:" + "|".join(_SESSION_ENDS) + ")"


def _tests() -> list[tuple[str, set[str] | None, pl.Expr]]:
    """(kind, process classes it can match (None: any), test), in priority order."""
    t, sev = pl.col("text"), pl.col("severity")
    rx = t.str.contains
    return [
        ("unparsed", None, t.is_null()),
        ("debug", None, sev == "Debug"),
        ("login", {"login"}, rx(r"^(?:Login: |proxy\(.*\): started proxying to)")),
        ("proxy", {"login"}, t.str.starts_with("proxy(")),
        ("id", {"login", "mail"}, t.str.starts_with("ID sent: ")),
        ("failure", {"login"}, t.str.contains("user=<", literal=True)),
        ("auth", {"auth"}, t.str.starts_with("User found from deny passdb")
         | t.str.contains("): ", literal=True)),
        ("mail_log", {"mail", "delivery"}, rx(_MAIL_LOG)),
        ("delivery", {"delivery"}, rx(r"^(?:sieve: msgid=|msgid=)")
         | (t.str.starts_with("sieve: Execution of script ")
            & t.str.contains(dovecot_mail.SCRIPT_FAILED, literal=True))),
        # Pigeonhole's other notes on the script run ("Execution of script X failed with
        # unsuccessful implicit keep"): the failed keep has a line of its own.
        ("sieve_note", {"delivery"}, t.str.starts_with("sieve: ")),
        ("lmtp_connection", {"delivery"}, rx(r"^(?:Connect|Disconnect) from ")),
        ("relayed", {"mail"}, relay_test(pl.col("proc"), t)),
        ("logout", {"mail"}, pl.col("proc").is_in(SESSION_PROCS) & rx(_ENDS)),
        ("diagnostic", None, sev.is_not_null()),
        # FTS indexing notes ("Indexed 10 messages in INBOX (UIDs 1..10)", i_info).
        ("service", {"service", "mail"}, pl.col("proc").eq("indexer-worker")
         & t.str.starts_with("Indexed ")),
        ("service", {"service"}, pl.lit(True)),
    ]


_NAMES: Final = [name for name, _, _ in _tests()] + ["unparsed"]


def _kind(df: pl.DataFrame) -> pl.Series:
    """Classify split Dovecot lines: the process class, then per class only the tests
    that can match it (a when-chain evaluates every branch on every row, so one chain
    over all lines would run all the regexes on all lines). Anchored DFA-only tests."""
    cls = df.select(
        pl.col("proc").replace_strict(_CLASS, default="other", return_dtype=pl.String)
    ).to_series()
    codes = pl.Series("kind", [len(_NAMES) - 1] * df.height, dtype=pl.UInt8)
    tests = _tests()
    df = df.select("proc", "text", "severity")
    for name in cls.unique().to_list():
        idx = (cls == name).arg_true()
        code: pl.Expr = pl.lit(len(tests), pl.UInt8)
        for i, (_, classes, test) in reversed(list(enumerate(tests))):
            if classes is None or name in classes:
                code = pl.when(test).then(pl.lit(i, pl.UInt8)).otherwise(code)
        part = df[idx] if idx.len() < df.height else df
        codes.scatter(idx, part.select(code).to_series())
    return codes.replace_strict(dict(enumerate(_NAMES)), return_dtype=pl.String)


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
        relays=relays(df),
    )


__all__ = ["DovecotEvents", "attach_deny", "auth_error", "failure_error", "parse", "split"]
