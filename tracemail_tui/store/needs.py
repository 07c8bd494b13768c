"""Which work a set of views needs, and the cheap line filters that skip the rest.

A one-shot `tracemail search received` does not need Dovecot IMAP/POP sessions nor the
access correlator, and `search accesses` needs neither the mail correlation nor Rspamd.
The filters here drop lines *before* the parsers see them; every parser works line by
line (a line's events never depend on another line of the chunk), so a filtered frame
yields exactly the events the full frame yields for the kinds kept. The tests compare
``run(views={v})[v]`` with ``run()[v]`` to hold that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import polars as pl

from tracemail_tui.store.parse.dovecot_submission import RELAYED
from tracemail_tui.store.parse.header import DOVECOT_PROCESSES

ALL_VIEWS: Final = ("accesses", "received", "sent", "mailbox")

# Dovecot processes whose lines can become a delivery (LMTP/LDA + their mail_log saves)
# or a mailbox event (mail_log of any mail process). Mirrors parse/dovecot*.py, which
# classify a line by the process name before the first "(", "<" or ": ".
_DELIVERY_PROCS: Final = ("lmtp", "lda", "dovecot-lda", "deliver")
_MAIL_PROCS: Final = ("imap", "pop3", "managesieve", "submission", "indexer-worker",
                      "doveadm", "imap-hibernate")

# Raw-line forms a mail-only run (received/sent) skips before the header split (see
# `Needs.raw_skip`). Stamps: BSD syslog, RFC 3339, ISO date + space (rsyslog templates).
_STAMP: Final = (r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+"
                 r"(?:Z|[+-]\d\d:?\d\d)?|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
_DOVECOT_HEAD: Final = rf"^{_STAMP} (?:\S+ dovecot(?:\[\d+\])?: )?"
_NOT_DELIVERY: Final = tuple(p for p in DOVECOT_PROCESSES if p not in _DELIVERY_PROCS)
_SKIP_MAIL_ONLY: Final = "|".join((
    # Dovecot logins, sessions, auth, ...: not a delivery process (dovecot_lines below)
    _DOVECOT_HEAD + "(?:" + "|".join(re.escape(p) for p in _NOT_DELIVERY) + ")[(:]",
    # LMTP connects/disconnects (dovecot_lines' "chatter")
    _DOVECOT_HEAD + "(?:" + "|".join(_DELIVERY_PROCS) + r")[(<][^:]*: (?:Info: )?"
    r"(?:Connect|Disconnect) from ",
))
# Rspamd's own log file: every line but the task summaries is housekeeping.
_RSPAMD_FILE: Final = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d #\d+\("


@dataclass(frozen=True)
class Needs:
    """What to run for a set of views (all of it for the live store)."""

    mail: bool = True  # Postfix events + Rspamd/ClamAV + Dovecot deliveries -> received/sent
    accesses: bool = True  # Dovecot sessions, Roundcube, SMTP AUTH -> accesses
    mailbox: bool = True  # Dovecot deliveries + mail_log -> mailbox events

    @classmethod
    def of(cls, views: Iterable[str] | None) -> Needs:
        """Needs of `views` (None: every view). Unknown names are a ValueError."""
        if views is None:
            return cls()
        asked = set(views)
        unknown = asked - set(ALL_VIEWS)
        if unknown:
            raise ValueError(f"unknown view(s): {', '.join(sorted(unknown))}")
        return cls(mail=bool(asked & {"received", "sent"}), accesses="accesses" in asked,
                   mailbox="mailbox" in asked)

    @property
    def postfix(self) -> bool:
        return self.mail or self.accesses

    @property
    def dovecot(self) -> bool:
        return self.mail or self.accesses or self.mailbox

    def raw_skip(self) -> pl.Expr | None:
        """Raw lines (column ``raw``) that no asked view uses, to drop before the header
        split; None when every line may matter (accesses or mailbox asked for).

        Only for a mail-only run (`search received/sent`): Dovecot's logins, sessions
        and LMTP connects and Rspamd's housekeeping are a third of a mixed log, and
        the header split costs more per line than this test. Each pattern is a strict
        subset of what the filters and parsers below drop anyway (the tests compare
        such a run's rows with a full run's). smtpd's connect/TLS chatter is left in:
        telling it apart (anchored, so that no logged text can fake it) costs as much
        as splitting it.
        """
        if self.accesses or self.mailbox:
            return None
        raw = pl.col("raw")
        rspamd_chatter = raw.str.contains(_RSPAMD_FILE) & ~raw.str.contains(
            "rspamd_task_write_log", literal=True)
        # Dovecot submission's relays name the queue id of the user's message: kept.
        dovecot_chatter = raw.str.contains(_SKIP_MAIL_ONLY) & ~raw.str.contains(
            RELAYED, literal=True)
        return dovecot_chatter | rspamd_chatter

    def postfix_lines(self, lines: pl.DataFrame) -> pl.DataFrame:
        """The Postfix lines worth parsing: all of them, or for accesses alone the SMTP
        AUTH ones (``client=`` with a SASL user, SASL failure warnings, disconnects)."""
        pf = lines.filter(pl.col("program").str.starts_with("postfix"))
        if self.mail:
            return pf
        m = pl.col("msg")
        return pf.filter(m.str.contains(", sasl_username=", literal=True)
                         | m.str.starts_with("warning: ") | m.str.starts_with("disconnect from "))

    def dovecot_lines(self, lines: pl.DataFrame) -> pl.DataFrame:
        """The Dovecot lines worth parsing: all for accesses, else those of delivery
        processes (plus the other mail processes when mailbox events are asked)."""
        dv = lines.filter(pl.col("program") == "dovecot")
        if self.accesses:
            return dv
        procs = _DELIVERY_PROCS + (_MAIL_PROCS if self.mailbox else ())
        m = pl.col("msg")
        # One anchored regex without groups (a DFA pass) beats a dozen starts_with tests.
        keep = m.str.contains("^(?:" + "|".join(procs) + ")(?:[(<]|: )")
        if not self.mailbox:  # (with mailbox events all submission lines are kept)
            keep |= m.str.starts_with("submission(") & m.str.contains(RELAYED, literal=True)
        # LMTP "Connect from" / "Disconnect from" (about half the LMTP lines) are only
        # counted: the text after the head (up to the first ": ") is the line's kind. A
        # head holding a colon does not match and is kept, never wrongly dropped.
        chatter = m.str.contains(r"^[^:]*: (?:Connect|Disconnect) from ")
        return dv.filter(keep).filter(~chatter)
