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


def _notices(frame: pl.LazyFrame, links: pl.DataFrame, since: dt.datetime | None
             ) -> pl.DataFrame:
    """Rows of `frame` whose (server, queue id) is one of the notices in `links`, within
    the days after the message (a queue id is reused, eventually)."""
    if links.height == 0 or since is None:
        return frame.head(0).collect()
    window = (pl.col("time") >= since - related.BEFORE) & (pl.col("time") <= since + related.AFTER)
    return (frame.filter(window).join(links.lazy(), on=["server", "queue_id"], how="semi")
            .sort("time", "id").collect())


def trace(scan: Callable[[str], pl.LazyFrame], message_id: str,
          around: dt.datetime | None = None) -> Trace:
    """The rows of `message_id` in received and sent, and the notices they caused.

    `around`: the time of one of its rows. Then only the days around it are read (a
    copy or a retry comes days later at most), which a 30-day store answers from a few
    day partitions instead of all of them (the detail screen knows the time).
    """
    mid = normalise(message_id)
    match = pl.col("message_id") == mid
    if around is not None:
        match &= (pl.col("time") >= around - related.AFTER) & (
            pl.col("time") <= around + related.AFTER)
    rows = {view: scan(view).filter(match).sort("time", "id").collect()
            for view in ("received", "sent")}
    links = pl.concat([
        rows[v].select("server", queue_id=pl.col("bounce_notice")) for v in rows
    ]).drop_nulls().unique()
    first = pl.concat([rows[v].select("time") for v in rows]).get_column("time").min()
    since = first if isinstance(first, dt.datetime) else None
    return Trace(mid, rows["received"], rows["sent"],
                 _notices(scan("received"), links, since), _notices(scan("sent"), links, since))
