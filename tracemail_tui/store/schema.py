"""The output contract of the engine: view names, columns, dtypes and status words.

Everything downstream (CLI, store, TUI, exports) relies on these names, which follow
`../shared/DESIGN.md`. Columns may be *added* at the end of a view (extras), never
renamed. Unknown values are null, never ``""`` or ``0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl

TS: Final = pl.Datetime("us")
"""Timestamps are naive datetimes in the logs' local time (microsecond precision)."""

VIEWS: Final = ("accesses", "received", "sent")

ACCESSES: Final[dict[str, pl.DataType]] = {
    "id": pl.String(),
    "time": TS,
    "logout_time": TS,
    "status": pl.String(),  # success | failed
    "error": pl.String(),  # auth-failed, unknown-user, ... ; null on success
    "user": pl.String(),
    "domain": pl.String(),
    "protocol": pl.String(),  # imap | pop3 | webmail | managesieve | smtp
    "client": pl.String(),
    "server": pl.String(),
    "local_ip": pl.String(),
    "remote_ip": pl.String(),
    "session": pl.String(),
    "bytes_in": pl.Int64(),
    "bytes_out": pl.Int64(),
    "deleted": pl.Int64(),
    "expunged": pl.Int64(),
    "trashed": pl.Int64(),
    # extras
    "tls": pl.Boolean(),  # STARTTLS/TLS used (Dovecot "TLS"/"secured" marks)
    "method": pl.String(),  # SASL mechanism (PLAIN, LOGIN, ...)
}

RECEIVED: Final[dict[str, pl.DataType]] = {
    "id": pl.String(),
    "time": TS,
    "status": pl.String(),  # accepted | quarantined | rejected
    "reason": pl.String(),
    "sender": pl.String(),
    "recipient": pl.String(),
    "domain": pl.String(),
    "subject": pl.String(),
    "size": pl.Int64(),
    "message_id": pl.String(),
    "queue_id": pl.String(),
    "server": pl.String(),
    "client_host": pl.String(),
    "client_ip": pl.String(),
    "delivery": pl.String(),  # delivered forwarded discarded deferred bounced held
    "folder": pl.String(),
    "forwarded_to": pl.String(),  # comma-separated when several
    "auto_reply": pl.Boolean(),
    "filter_rule": pl.String(),
    "spam_action": pl.String(),
    "spam_score": pl.Float64(),
    "virus": pl.String(),
    "dsn": pl.String(),
    # extras
    "subject_source": pl.String(),  # postfix (header_checks) or dovecot (mail_log)
    "orig_recipient": pl.String(),  # orig_to= (alias / plus address) when it differs
    "helo": pl.String(),
    "bounce_notice": pl.String(),  # queue id of the bounce notice sent for this row
    "bounce_of": pl.String(),  # a bounce notice: queue id of the message it is about
}

SENT: Final[dict[str, pl.DataType]] = {
    "id": pl.String(),
    "time": TS,
    "status": pl.String(),  # delivered | rejected | queued
    "reason": pl.String(),
    "sender": pl.String(),
    "recipient": pl.String(),
    "domain": pl.String(),
    "account": pl.String(),
    "subject": pl.String(),
    "size": pl.Int64(),
    "message_id": pl.String(),
    "queue_id": pl.String(),
    "server": pl.String(),
    "relay_host": pl.String(),
    "relay_ip": pl.String(),
    "relay_port": pl.Int64(),
    "dsn": pl.String(),
    "delay": pl.Float64(),
    "spam_action": pl.String(),
    "spam_score": pl.Float64(),
    "virus": pl.String(),
    "blocked": pl.Boolean(),
    # extras
    "subject_source": pl.String(),
    "client_ip": pl.String(),
    "bounce_notice": pl.String(),  # queue id of the bounce notice sent to the sender
    "bounce_of": pl.String(),  # a bounce notice: queue id of the message it is about
}

# Mailbox events (LMTP/Sieve deliveries and mail_log events) that `locate` replays.
MAILBOX: Final[dict[str, pl.DataType]] = {
    "time": TS,
    "server": pl.String(),
    "user": pl.String(),
    "session": pl.String(),
    "protocol": pl.String(),  # lmtp | imap | pop3 | ...
    "event": pl.String(),  # save copy expunge delete flag_change redirect vacation
    "folder": pl.String(),
    "uid": pl.Int64(),
    "message_id": pl.String(),
    "size": pl.Int64(),
    "subject": pl.String(),
    # extras
    "from_folder": pl.String(),  # copy: source mailbox; mailbox_rename: old name
}

# Raw log lines kept as evidence (detail view, timeline, PDF).
LINES: Final[dict[str, pl.DataType]] = {
    "time": TS,
    "server": pl.String(),
    "program": pl.String(),
    "raw": pl.String(),
}

SCHEMAS: Final[dict[str, dict[str, pl.DataType]]] = {
    "accesses": ACCESSES,
    "received": RECEIVED,
    "sent": SENT,
    "mailbox": MAILBOX,
    "lines": LINES,
}

STATUSES: Final[dict[str, tuple[str, ...]]] = {
    "accesses": ("success", "failed"),
    "received": ("accepted", "quarantined", "rejected"),
    "sent": ("delivered", "rejected", "queued"),
}

ACCESS_ERRORS: Final = (
    "auth-failed",
    "unknown-user",
    "user-disabled",
    "ip-notallowed",
    "many-connections",
    "plaintext-disallowed",
)

LOCATE_STATES: Final = ("in-folder", "deleted", "downloaded-pop", "unknown")

QUEUE_DELETED: Final = "deleted from the queue by an administrator (postsuper)"
"""How a reason starts when an administrator deleted the message from the queue
(`postsuper -d`): the sent view's status is then `rejected`, the received view's delivery
`deleted`. Front ends and reports recognise such rows by it."""
SIEVE_FAILED: Final = "script failed (implicit keep)"
"""`filter_rule` of a delivery whose Sieve script failed while it ran (Pigeonhole's
"Execution of script X failed, but implicit keep was successful", lab R33): the message
was kept in INBOX instead of where the rule meant it to go."""
QUEUE_EXPIRED: Final = (
    "returned to the sender: not delivered within the queue lifetime (maximal_queue_lifetime)"
)
"""How a reason starts when Postfix gave up on a recipient it kept deferring (qmgr's
``status=expired, returned to sender``, lab S11): the sent view's status is then
`rejected`, the received view's delivery `bounced`; the last attempt's error follows."""


def domain_of(address: pl.Expr) -> pl.Expr:
    """The `domain` field: the part after the last `@`, null when there is none (or it is
    empty), never ``""``."""
    return address.str.extract(r"@([^@]+)$", 1)


def empty(view: str) -> pl.DataFrame:
    """An empty frame with the exact columns and dtypes of `view`."""
    return pl.DataFrame(schema=SCHEMAS[view])


def conform(view: str, df: pl.DataFrame) -> pl.DataFrame:
    """Select and cast `df` to the contract of `view` (missing columns become null).

    Extra columns not in the contract are dropped, so a view never leaks
    internal helper columns into exports.
    """
    return to_columns(df, SCHEMAS[view])


def to_columns(df: pl.DataFrame, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """`df` with exactly `columns`, in that order and of those dtypes; a column `df`
    lacks becomes null, a column `columns` lacks is dropped."""
    return df.select(
        pl.col(name).cast(dtype) if name in df.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in columns.items()
    )


def compact(df: pl.DataFrame) -> pl.DataFrame:
    """The same frame, its strings copied out of the buffers they share.

    Polars keeps strings as views into shared buffers, so a few rows filtered out of a
    260k-line chunk keep that chunk's whole text alive. State carried from chunk to chunk
    is compacted this way so it holds only its own bytes (on a 5M-line run the resident
    memory otherwise grows with every chunk that leaves an open key behind).
    """
    if df.height == 0:
        return df
    out = pl.from_arrow(df.to_arrow(compat_level=pl.CompatLevel.oldest()))
    assert isinstance(out, pl.DataFrame)
    return out.cast(df.schema)
