"""Rows of other keys that finish one result's story (detail screen, PDF report).

- **Forwarded copies.** A Sieve `redirect` does not deliver the message itself: Dovecot
  hands a copy back to Postfix (pickup, a new queue id, the same Message-ID), and that copy
  succeeds, waits or bounces on its own, long after the original was filed as
  ``forwarded`` (lab R04, R27). "Does carol's forward work?" is answered by its sent row.
- **Later attempts.** A temporary refusal (4.x.x: greylisting, a check that could not
  finish) makes the sending server try again, as a new SMTP transaction: a received row of
  its own, with the same sender and recipient (lab R28, R29). "Did it get through?"
  is answered by that row.
- **The original of a copy.** Seen from Sent, a forwarded copy is mail from a stranger to
  a stranger (the original sender, the forward's target): its original received row says
  whose forward it is.
- **Bounce notices.** When mail bounces after it was queued, Postfix sends the envelope
  sender a notice, a message of its own (`bounce_notice` / `bounce_of` link the two queue
  ids; lab S02, R18, R27). "Was the sender told?" is answered by the notice's row: a
  received row when the sender is one of our users, a sent row when it is remote. Seen
  from the notice ("what is this MAILER-DAEMON mail?"), its row says which message bounced.
- **Around a failed login.** "Why can't this user log in?" needs two more facts: did the
  user get in afterwards (and from where), and is this address failing for many accounts
  (password guessing) or for this one only (real corpus: S07's and A04's failures for
  alice, A05's unknown user and A09's carol all came from the attacker's address; alice's
  own client got in a second after S07).

They are looked up when one result is shown, not correlated into the row: a copy may be
retried for days, and a retry arrives hours later, long after the engine let the
original's key go.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from tracemail_tui.store import schema

# A forwarded copy leaves within seconds of the Sieve action; Postfix retries for days
# (maximal_queue_lifetime, 5 days by default), and so does a sending server after a 4xx.
BEFORE: Final = dt.timedelta(minutes=5)
AFTER: Final = dt.timedelta(days=6)
MAX_RETRIES: Final = 5
# What a report says of a related row, plus the addresses that decide its scope.
FORWARD_COLUMNS: Final = ("id", "time", "status", "reason", "sender", "recipient", "account",
                          "dsn", "relay_host", "queue_id", "bounce_notice")
RETRY_COLUMNS: Final = ("id", "time", "status", "reason", "sender", "recipient", "dsn",
                        "delivery", "folder", "forwarded_to", "queue_id")
ACCESS_COLUMNS: Final = ("id", "time", "status", "error", "user", "protocol", "remote_ip")
# A success within a day answers "did they get in"; failures from one address within an
# hour either side tell a burst (guessing) from one user's typo.
LOGIN_AFTER: Final = dt.timedelta(days=1)
BURST: Final = dt.timedelta(hours=1)
MAX_BURST: Final = 1000

Row = dict[str, Any]

# Each field of `Related` and the view its rows belong to, in the order `r` opens them.
FIELD_VIEWS: Final = (("forwards", "sent"), ("retries", "received"),
                      ("originals", "received"), ("notices", "received"),
                      ("notices_sent", "sent"), ("bounced", "sent"),
                      ("bounced_received", "received"), ("logins", "accesses"),
                      ("burst", "accesses"))


@dataclass(frozen=True)
class Related:
    """What other rows say about one result (empty tuples when nothing applies)."""

    forwards: tuple[Row, ...] = ()
    """Sent rows of the copies a Sieve redirect sent on (received rows)."""
    retries: tuple[Row, ...] = ()
    """Later received rows of the same sender and recipient, after a temporary refusal."""
    originals: tuple[Row, ...] = ()
    """Received rows whose Sieve redirect this sent row is the copy of."""
    notices: tuple[Row, ...] = ()
    """The bounce notice this row's bounce caused, delivered to one of our users."""
    notices_sent: tuple[Row, ...] = ()
    """The same, sent to a remote sender."""
    bounced: tuple[Row, ...] = ()
    """A bounce notice's row: the sent rows (our users' mail) it reports as bounced."""
    bounced_received: tuple[Row, ...] = ()
    """The same when the bounced mail came from outside (received rows)."""
    logins: tuple[Row, ...] = ()
    """The same user's first successful login after a failed one."""
    burst: tuple[Row, ...] = ()
    """Other failed logins from the failed login's remote address, within an hour."""

    def map(self, fn: Callable[[str, pl.DataFrame], pl.DataFrame]) -> Related:
        """The same with each field's rows passed through `fn(view, frame)` as one frame
        of their view's types: scope and redaction apply to related rows as to any rows
        of their view (a failed login can have a thousand neighbours: a row at a time,
        that cost seconds)."""
        out: dict[str, tuple[Row, ...]] = {}
        for name, view in FIELD_VIEWS:
            rows: tuple[Row, ...] = getattr(self, name)
            if rows:
                types = schema.SCHEMAS[view]
                frame = pl.DataFrame(list(rows), schema={c: types[c] for c in rows[0]})
                out[name] = tuple(fn(view, frame).to_dicts())
        return Related(**out)

    def got_through(self) -> Row | None:
        """The first retry that was not refused again (None: none got through)."""
        return next((r for r in self.retries if r.get("status") != "rejected"), None)

    def first(self) -> tuple[str, Row] | None:
        """(view, row) of the first related row, the one the detail screen opens."""
        for name, view in FIELD_VIEWS:
            rows: tuple[Row, ...] = getattr(self, name)
            if rows:
                return view, rows[0]
        return None


def find(scan: Callable[[str], pl.LazyFrame], view: str, row: Mapping[str, Any]) -> Related:
    """The related rows of `row` of `view`; `scan(view)` gives a view's rows."""
    if view == "received":
        return Related(tuple(forward_copies(scan("sent"), row)),
                       tuple(later_attempts(scan("received"), row)), **_bounces(scan, row))
    if view == "sent":
        return Related(originals=tuple(forwarded_from(scan("received"), row)),
                       **_bounces(scan, row))
    if view == "accesses" and row.get("status") == "failed":
        accesses = scan("accesses")
        return Related(logins=tuple(later_login(accesses, row)),
                       burst=tuple(address_failures(accesses, row)))
    return Related()


def _bounces(scan: Callable[[str], pl.LazyFrame],
             row: Mapping[str, Any]) -> dict[str, tuple[Row, ...]]:
    """The notice of a bounced row, or the bounced rows of a notice (Related fields)."""
    out: dict[str, tuple[Row, ...]] = {}
    if row.get("bounce_notice"):
        out["notices"] = tuple(linked(scan("received"), row, "bounce_notice", RETRY_COLUMNS))
        out["notices_sent"] = tuple(linked(scan("sent"), row, "bounce_notice", FORWARD_COLUMNS))
    if row.get("bounce_of"):
        # Mail between two of our users is in both views: the sender's side is told.
        out["bounced"] = tuple(linked(scan("sent"), row, "bounce_of", FORWARD_COLUMNS))
        if not out["bounced"]:
            out["bounced_received"] = tuple(
                linked(scan("received"), row, "bounce_of", RETRY_COLUMNS))
    return out


def link_match(row: Mapping[str, Any], link: str) -> pl.Expr | None:
    """True for the rows whose queue id is `row[link]`, on `row`'s server: the notice
    comes after the bounce (`bounce_notice`), the bounce before it (`bounce_of`); the
    time window tells a reused queue id from this one. None: `row` has no such link."""
    qid, t = row.get(link), row.get("time")
    if not qid or not isinstance(t, dt.datetime):
        return None
    window = ((pl.col("time") >= t - BEFORE) & (pl.col("time") <= t + AFTER)
              if link == "bounce_notice"
              else (pl.col("time") >= t - AFTER) & (pl.col("time") <= t + BEFORE))
    return (pl.col("queue_id") == qid) & (pl.col("server") == row.get("server")) & window


def linked(frame: pl.LazyFrame, row: Mapping[str, Any], link: str,
           columns: tuple[str, ...]) -> list[Row]:
    """Rows of `frame` that `row[link]` names (`link_match`), oldest first."""
    match = link_match(row, link)
    if match is None:
        return []
    found = frame.filter(match).select(columns).sort("time", "id").head(MAX_RETRIES).collect()
    return found.to_dicts()


def targets(forwarded_to: object) -> list[str]:
    """The addresses of a ``forwarded_to`` value ("a@x, b@y"), lower-cased."""
    if not isinstance(forwarded_to, str):
        return []
    return sorted({a.lower() for a in re.split(r"[,\s]+", forwarded_to) if "@" in a})


def _another_queue_id(row: Mapping[str, Any]) -> pl.Expr:
    """True for rows of another message than `row` (a row without a queue id has none)."""
    qid = row.get("queue_id")
    return (pl.col("queue_id") != qid).fill_null(True) if qid else pl.lit(True)


def forward_copies(sent: pl.LazyFrame, row: Mapping[str, Any]) -> list[Row]:
    """Sent rows of the copies `row` (a received row) was forwarded as, oldest first.

    A copy has the row's Message-ID, a recipient among its ``forwarded_to`` and another
    queue id (an alias that Postfix expanded itself is the same message: its row already
    says how the forward went).
    """
    to = targets(row.get("forwarded_to"))
    mid, t = row.get("message_id"), row.get("time")
    if not to or not mid or not isinstance(t, dt.datetime):
        return []
    found = sent.filter(
        (pl.col("message_id") == mid)
        & pl.col("recipient").str.to_lowercase().is_in(to)
        & (pl.col("time") >= t - BEFORE) & (pl.col("time") <= t + AFTER)
        & _another_queue_id(row)
    ).select(FORWARD_COLUMNS).sort("time").collect()
    return found.to_dicts()


def forwarded_from(received: pl.LazyFrame, row: Mapping[str, Any]) -> list[Row]:
    """Received rows whose Sieve redirect `row` (a sent row) is the copy of: the same
    Message-ID, `forwarded_to` naming its recipient, another queue id, shortly before."""
    mid, rcpt, t = row.get("message_id"), row.get("recipient"), row.get("time")
    if not mid or not rcpt or not isinstance(t, dt.datetime):
        return []
    found = received.filter(
        (pl.col("message_id") == mid)
        & pl.col("forwarded_to").str.to_lowercase().str.contains(str(rcpt).lower(), literal=True)
        & (pl.col("time") >= t - AFTER) & (pl.col("time") <= t + BEFORE)
        & _another_queue_id(row)
    ).select(RETRY_COLUMNS).sort("time").collect()
    return [r for r in found.to_dicts()
            if str(rcpt).lower() in targets(r.get("forwarded_to"))]


def temporary_refusal(row: Mapping[str, Any]) -> bool:
    """A received row refused with a 4.x.x code: the sending server normally retries."""
    return row.get("status") == "rejected" and str(row.get("dsn") or "").startswith("4.")


def later_attempts(received: pl.LazyFrame, row: Mapping[str, Any]) -> list[Row]:
    """Received rows of the same sender and recipient after `row`, a temporary refusal,
    oldest first (at most MAX_RETRIES). A null sender (a bounce) matches nothing: too
    many notices share it."""
    sender, rcpt, t = row.get("sender"), row.get("recipient"), row.get("time")
    if not (temporary_refusal(row) and sender and rcpt and isinstance(t, dt.datetime)):
        return []
    found = received.filter(
        (pl.col("sender").str.to_lowercase() == str(sender).lower())
        & (pl.col("recipient").str.to_lowercase() == str(rcpt).lower())
        & (pl.col("time") >= t) & (pl.col("time") <= t + AFTER)
        & (pl.col("id") != row.get("id"))
    ).select(RETRY_COLUMNS).sort("time", "id").head(MAX_RETRIES).collect()
    return found.to_dicts()


def later_login(accesses: pl.LazyFrame, row: Mapping[str, Any]) -> list[Row]:
    """The first successful login of `row`'s user (any protocol, any address) after it,
    within a day."""
    user, t = row.get("user"), row.get("time")
    if not user or not isinstance(t, dt.datetime):
        return []
    found = accesses.filter(
        (pl.col("status") == "success")
        & (pl.col("user").str.to_lowercase() == str(user).lower())
        & (pl.col("time") >= t) & (pl.col("time") <= t + LOGIN_AFTER)
    ).select(ACCESS_COLUMNS).sort("time", "id").head(1).collect()
    return found.to_dicts()


def address_failures(accesses: pl.LazyFrame, row: Mapping[str, Any]) -> list[Row]:
    """The other failed logins from `row`'s remote address, an hour either side, oldest
    first (at most MAX_BURST)."""
    ip, t = row.get("remote_ip"), row.get("time")
    if not ip or not isinstance(t, dt.datetime):
        return []
    found = accesses.filter(
        (pl.col("status") == "failed") & (pl.col("remote_ip") == ip)
        & (pl.col("time") >= t - BURST) & (pl.col("time") <= t + BURST)
        & (pl.col("id") != row.get("id"))
    ).select(ACCESS_COLUMNS).sort("time", "id").head(MAX_BURST).collect()
    return found.to_dicts()
