"""What became of the copy a Sieve redirect sent on: the received row's forward, in Sent.

A Sieve `redirect` does not deliver the message itself: Dovecot hands a copy back to
Postfix (pickup, a new queue id, the same Message-ID), and that copy succeeds, waits or
bounces on its own, long after the original was filed as ``forwarded`` (lab R04, R27).
"Does carol's forward to her private address work?" is answered by that copy's sent row.
It is looked up when one result is shown (detail screen, PDF report), not correlated into
the row: the copy may be retried for days, long after the engine let the original go.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final

import polars as pl

# The copy leaves within seconds of the Sieve action; retries run for days (Postfix's
# maximal_queue_lifetime is 5 days by default).
BEFORE: Final = dt.timedelta(minutes=5)
AFTER: Final = dt.timedelta(days=6)
# What a report says of a copy, plus the addresses that decide its scope (privacy.py).
COLUMNS: Final = ("id", "time", "status", "reason", "sender", "recipient", "account", "dsn",
                  "relay_host", "queue_id")


def targets(forwarded_to: object) -> list[str]:
    """The addresses of a ``forwarded_to`` value ("a@x, b@y"), lower-cased."""
    if not isinstance(forwarded_to, str):
        return []
    return sorted({a.lower() for a in re.split(r"[,\s]+", forwarded_to) if "@" in a})


def forward_copies(sent: pl.LazyFrame, row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Sent rows of the copies `row` (a received row) was forwarded as, oldest first.

    A copy has the row's Message-ID, a recipient among its ``forwarded_to`` and another
    queue id (an alias that Postfix expanded itself is the same message: its row already
    says how the forward went).
    """
    to = targets(row.get("forwarded_to"))
    mid, t = row.get("message_id"), row.get("time")
    if not to or not mid or not isinstance(t, dt.datetime):
        return []
    same_queue = pl.col("queue_id") == row.get("queue_id") if row.get("queue_id") else pl.lit(False)
    found = sent.filter(
        (pl.col("message_id") == mid)
        & pl.col("recipient").str.to_lowercase().is_in(to)
        & (pl.col("time") >= t - BEFORE) & (pl.col("time") <= t + AFTER)
        & ~same_queue.fill_null(False)
    ).select(COLUMNS).sort("time").collect()
    return found.to_dicts()
