"""Which work a set of views needs, and the cheap line filters that skip the rest.

A one-shot `tracemail search received` does not need Dovecot IMAP/POP sessions nor the
access correlator, and `search accesses` needs neither the mail correlation nor Rspamd.
The filters here drop lines *before* the parsers see them; every parser works line by
line (a line's events never depend on another line of the chunk), so a filtered frame
yields exactly the events the full frame yields for the kinds kept. The tests compare
``run(views={v})[v]`` with ``run()[v]`` to hold that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import polars as pl

ALL_VIEWS: Final = ("accesses", "received", "sent", "mailbox")

# Dovecot processes whose lines can become a delivery (LMTP/LDA + their mail_log saves)
# or a mailbox event (mail_log of any mail process). Mirrors parse/dovecot*.py, which
# classify a line by the process name before the first "(", "<" or ": ".
_DELIVERY_PROCS: Final = ("lmtp", "lda", "dovecot-lda", "deliver")
_MAIL_PROCS: Final = ("imap", "pop3", "managesieve", "submission", "indexer-worker",
                      "doveadm", "imap-hibernate")


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
        # LMTP "Connect from" / "Disconnect from" (about half the LMTP lines) are only
        # counted: the text after the head (up to the first ": ") is the line's kind. A
        # head holding a colon does not match and is kept, never wrongly dropped.
        chatter = m.str.contains(r"^[^:]*: (?:Connect|Disconnect) from ")
        return dv.filter(keep).filter(~chatter)
