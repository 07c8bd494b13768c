"""Every row of one message across the views: `tracemail trace MESSAGE_ID`.

Support often starts from a Message-ID (the sender's copy, a customer's screenshot of the
headers). One message can be several rows in two views: one received row per recipient,
the sent rows of mail between our users, the copies a Sieve redirect sent on (the same
Message-ID, another queue id), and the bounce notices it caused (their own Message-ID,
linked by `bounce_notice`). Here they are found together, oldest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from tracemail_tui.store import related


def normalise(message_id: str) -> str:
    """A Message-ID as the views hold it: trimmed, in angle brackets."""
    mid = message_id.strip()
    return mid if mid.startswith("<") else f"<{mid.strip('<>')}>"


@dataclass(frozen=True)
class Trace:
    """The rows of one message (frames of their views' schemas, oldest first)."""

    message_id: str
    received: pl.DataFrame
    sent: pl.DataFrame
    notices_received: pl.DataFrame
    """Bounce notices it caused that went to our users."""
    notices_sent: pl.DataFrame
    """Bounce notices it caused that went to remote senders."""


def where(view: str, row: dict[str, Any]) -> str | None:
    """Where a row's message went, in a few words, for the one-line-per-row lists (the
    trace, the details' "same message"): the folder or the forward of a received row, the
    relay that took a delivered sent row; otherwise what the row's reason says (why it
    was refused, why it waits), which tells more than the relay that refused it.
    """
    if view.endswith("sent"):
        if row.get("status") == "delivered" and row.get("relay_host"):
            return f"relay {row['relay_host']}"
        return row.get("reason") or (f"relay {row['relay_host']}"
                                     if row.get("relay_host") else None)
    if row.get("folder"):
        return f"folder {row['folder']}"
    if row.get("forwarded_to"):
        return f"to {row['forwarded_to']}"
    return row.get("reason")


def _notices(frame: pl.LazyFrame, bounced: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of `frame` that are the bounce notice of one of the `bounced` rows (the same
    link the detail screen follows: `related.link_match`)."""
    matches = [m for r in bounced if (m := related.link_match(r, "bounce_notice")) is not None]
    if not matches:
        return frame.head(0).collect()
    return frame.filter(pl.any_horizontal(matches)).sort("time", "id").collect()


def message_rows(scan: Callable[[str], pl.LazyFrame], message_id: str,
                 around: dt.datetime | None = None) -> dict[str, pl.DataFrame]:
    """The rows of `message_id` per view (received, sent), oldest first.

    `around`: the time of one of its rows. Then only the days around it are read (a
    copy or a retry comes days later at most), which a 30-day store answers from a few
    day partitions instead of all of them (the detail screen knows the time).
    """
    match = pl.col("message_id") == normalise(message_id)
    if around is not None:
        match &= (pl.col("time") >= around - related.AFTER) & (
            pl.col("time") <= around + related.AFTER)
    return {view: scan(view).filter(match).sort("time", "id").collect()
            for view in ("received", "sent")}


def trace(scan: Callable[[str], pl.LazyFrame], message_id: str) -> Trace:
    """The rows of `message_id` in received and sent, and the notices they caused."""
    rows = message_rows(scan, message_id)
    bounced = [r for v in rows for r in rows[v].filter(
        pl.col("bounce_notice").is_not_null()).to_dicts()]
    return Trace(normalise(message_id), rows["received"], rows["sent"],
                 _notices(scan("received"), bounced), _notices(scan("sent"), bounced))
