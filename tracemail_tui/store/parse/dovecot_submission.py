"""Dovecot's submission service handing a user's message to the MTA.

With Dovecot as the submission server (port 587), the user authenticates to Dovecot,
which relays the message to Postfix over plain SMTP (``submission_relay_host``). Postfix
then sees an unauthenticated client, Dovecot's host, and logs no SASL user: without this
line the message would look like inbound mail from that host, and the user's outbound
mail would be missing from Sent. Dovecot 2.3 logs, once per relayed message (lab, real
Dovecot 2.3.19 + Postfix 3.7)::

    submission(alice@example.com)<12250><9Saeb0ph8KF/AAAB>: Successfully relayed message:
        from=<alice@example.com>, size=133, id=JZsDF2wSCmvaLwAAg+zDdQ, nrcpt=2,
        reply=`250 2.0.0 Ok: 314 bytes queued as 5F8241686A1'

(one line, wrapped here). Postfix's reply names the queue id: that is the link.
"""

from __future__ import annotations

from typing import Final

import polars as pl

RELAYED: Final = "Successfully relayed message: "

RELAYS: Final[dict[str, pl.DataType]] = {
    "time": pl.Datetime("us"),
    "host": pl.String(),
    "qid": pl.String(),
    "user": pl.String(),
    "session": pl.String(),
}


def relay_test(proc: pl.Expr, text: pl.Expr) -> pl.Expr:
    """True for a submission process's "Successfully relayed message" line."""
    return (proc == "submission") & text.str.starts_with(RELAYED)


def relays(df: pl.DataFrame) -> pl.DataFrame:
    """One row per relayed message (`RELAYS`) from split Dovecot lines (kind ``relayed``).

    The queue id is read at the end of the line (Postfix's reply comes last, after the
    envelope sender the user chose), so no address can fake it; a relay to an MTA that
    names no queue id gives a null `qid` (nothing to link).
    """
    r = df.filter(pl.col("kind") == "relayed")
    if r.height == 0:
        return pl.DataFrame(schema=RELAYS)
    return r.select(
        "time", "host",
        qid=pl.col("text").str.extract(r" queued as ([0-9A-Za-z]+)'$", 1),
        user=pl.col("user").str.to_lowercase(),
        session="session",
    ).select([pl.col(c).cast(t) for c, t in RELAYS.items()])
