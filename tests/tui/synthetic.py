"""Synthetic view frames conforming to `store/schema.py`, for the TUI tests and benchmark
(a million rows per view without running the engine; hostile subjects included).

Deterministic (no random module, no clock): values come from integer hashes of the row
number, so the same arguments always give the same frames. Vectorised with Polars, so
a million rows build in about a second.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from tracemail_tui.store import schema

DOMAINS = ("example.com", "example.org", "mail.test", "acme.test")
USERS = ("mario", "luigi", "anna", "paolo", "giulia", "root", "info", "sales")
REMOTES = ("gmail.com", "outlook.com", "libero.it", "proton.me", "corp.test")
SUBJECTS = (
    "Invoice 2026/114",
    "Re: meeting tomorrow",
    "Your parcel is on its way",
    "Password reset",
    "Weekly report",
    "Fwd: contract draft",
    "Cheap watches!!!",
    "Lunch?",
)
PROTOCOLS = ("imap", "pop3", "webmail", "managesieve", "smtp")
ERRORS = ("auth-failed", "unknown-user", "user-disabled", "ip-notallowed")


def _pick(idx: pl.Expr, values: tuple[str, ...]) -> pl.Expr:
    """values[idx % len(values)] as an expression (vectorised lookup)."""
    return pl.lit(pl.Series(values)).get(idx % len(values))


def _hash(seed: int) -> pl.Expr:
    """A cheap deterministic pseudo-random non-negative integer per row."""
    i = pl.int_range(pl.len(), dtype=pl.Int64)
    return ((i * 2654435761 + seed * 40503) ^ (i * 97 + seed)) % 1_000_003


def _times(n: int, day: dt.date, days: int) -> pl.DataFrame:
    """`n` sorted timestamps spread over `days` days ending with `day`."""
    start = dt.datetime.combine(day - dt.timedelta(days=days - 1), dt.time())
    span_us = days * 86_400_000_000
    step = span_us // max(n, 1)
    return pl.DataFrame({"n": pl.int_range(n, eager=True, dtype=pl.Int64)}).with_columns(
        time=pl.lit(start) + pl.duration(microseconds=pl.col("n") * step + (pl.col("n") % 7) * 1000)
    )


def accesses(n: int, day: dt.date, days: int = 1, host: str = "mx1") -> pl.DataFrame:
    """`n` access rows (login sessions and failed attempts)."""
    df = _times(n, day, days).with_columns(h=_hash(1), h2=_hash(2))
    failed = pl.col("h") % 10 == 0
    user = _pick(pl.col("h2"), USERS) + "@" + _pick(pl.col("h") // 7, DOMAINS)
    df = df.with_columns(
        id=pl.format("a-{}-{}", pl.lit(host), pl.col("n")),
        logout_time=pl.when(failed)
        .then(None)
        .otherwise(pl.col("time") + pl.duration(seconds=pl.col("h") % 600)),
        status=pl.when(failed).then(pl.lit("failed")).otherwise(pl.lit("success")),
        error=pl.when(failed).then(_pick(pl.col("h2") // 3, ERRORS)),
        user=user,
        domain=_pick(pl.col("h") // 7, DOMAINS),
        protocol=_pick(pl.col("h") // 11, PROTOCOLS),
        client=pl.when(pl.col("h") % 3 == 0).then(pl.lit("Thunderbird 128.4")),
        server=pl.lit(host),
        local_ip=pl.lit("192.0.2.10"),
        remote_ip=pl.format("198.51.100.{}", pl.col("h") % 250),
        session=pl.format("S{}", pl.col("h2")),
        bytes_in=pl.when(~failed).then(pl.col("h") % 5000),
        bytes_out=pl.when(~failed).then(pl.col("h2") % 90000),
        deleted=pl.when(~failed).then(pl.lit(0)),
        expunged=pl.when(~failed).then(pl.col("h") % 3),
        trashed=pl.when(~failed).then(pl.lit(0)),
    )
    return schema.conform("accesses", df)


def received(n: int, day: dt.date, days: int = 1, host: str = "mx1") -> pl.DataFrame:
    """`n` inbound rows: mostly accepted, some quarantined, some rejected."""
    df = _times(n, day, days).with_columns(h=_hash(3), h2=_hash(4))
    bucket = pl.col("h") % 20
    status = (
        pl.when(bucket == 0)
        .then(pl.lit("rejected"))
        .when(bucket == 1)
        .then(pl.lit("quarantined"))
        .otherwise(pl.lit("accepted"))
    )
    df = df.with_columns(status=status).with_columns(
        id=pl.format("r-{}-{}", pl.lit(host), pl.col("n")),
        reason=pl.when(pl.col("status") == "rejected")
        .then(pl.lit("Recipient address rejected: User unknown in virtual mailbox table"))
        .when(pl.col("status") == "quarantined")
        .then(pl.lit("rspamd: add header")),
        sender=_pick(pl.col("h2"), USERS) + "@" + _pick(pl.col("h") // 13, REMOTES),
        recipient=_pick(pl.col("h") // 5, USERS) + "@" + _pick(pl.col("h2") // 7, DOMAINS),
        domain=_pick(pl.col("h2") // 7, DOMAINS),
        subject=_pick(pl.col("h") // 3, SUBJECTS),
        size=pl.col("h") % 200_000 + 800,
        message_id=pl.format(
            "<{}.{}@{}>", pl.col("n"), pl.col("h"), _pick(pl.col("h") // 13, REMOTES)
        ),
        queue_id=pl.format("{}", (pl.col("h") * 31 + pl.col("n")) % 0xFFFFFFFF).str.to_uppercase(),
        server=pl.lit(host),
        client_host=_pick(pl.col("h") // 13, REMOTES),
        client_ip=pl.format("203.0.113.{}", pl.col("h2") % 250),
        delivery=pl.when(pl.col("status") == "accepted").then(pl.lit("delivered")),
        folder=pl.when(pl.col("status") == "accepted")
        .then(pl.lit("INBOX"))
        .when(pl.col("status") == "quarantined")
        .then(pl.lit("Junk")),
        spam_action=pl.when(pl.col("status") == "quarantined")
        .then(pl.lit("add header"))
        .otherwise(pl.lit("no action")),
        spam_score=(pl.col("h") % 200).cast(pl.Float64) / 10 - 2,
        dsn=pl.when(pl.col("status") == "rejected")
        .then(pl.lit("5.1.1"))
        .otherwise(pl.lit("2.0.0")),
    )
    return schema.conform("received", df)


def sent(n: int, day: dt.date, days: int = 1, host: str = "mx1") -> pl.DataFrame:
    """`n` outbound rows: mostly delivered, some rejected, some queued."""
    df = _times(n, day, days).with_columns(h=_hash(5), h2=_hash(6))
    bucket = pl.col("h") % 25
    status = (
        pl.when(bucket == 0)
        .then(pl.lit("rejected"))
        .when(bucket == 1)
        .then(pl.lit("queued"))
        .otherwise(pl.lit("delivered"))
    )
    sender = _pick(pl.col("h2"), USERS) + "@" + _pick(pl.col("h") // 7, DOMAINS)
    df = df.with_columns(status=status).with_columns(
        id=pl.format("s-{}-{}", pl.lit(host), pl.col("n")),
        reason=pl.when(pl.col("status") == "rejected")
        .then(pl.lit("host mx.remote said: 550 5.7.1 Message rejected as spam"))
        .when(pl.col("status") == "queued")
        .then(pl.lit("connect to mx.remote[192.0.2.99]:25: Connection timed out")),
        sender=sender,
        recipient=_pick(pl.col("h") // 5, USERS) + "@" + _pick(pl.col("h2") // 13, REMOTES),
        domain=_pick(pl.col("h") // 7, DOMAINS),
        account=sender,
        subject=_pick(pl.col("h2") // 3, SUBJECTS),
        size=pl.col("h2") % 100_000 + 600,
        message_id=pl.format(
            "<{}.{}@{}>", pl.col("n"), pl.col("h2"), _pick(pl.col("h") // 7, DOMAINS)
        ),
        queue_id=pl.format("{}", (pl.col("h2") * 17 + pl.col("n")) % 0xFFFFFFFF),
        server=pl.lit(host),
        relay_host=_pick(pl.col("h2") // 13, REMOTES),
        relay_ip=pl.format("192.0.2.{}", pl.col("h") % 250),
        relay_port=pl.lit(25),
        dsn=pl.when(pl.col("status") == "rejected")
        .then(pl.lit("5.7.1"))
        .when(pl.col("status") == "queued")
        .then(pl.lit("4.4.1"))
        .otherwise(pl.lit("2.0.0")),
        delay=(pl.col("h") % 500).cast(pl.Float64) / 100,
        spam_action=pl.lit("no action"),
        spam_score=(pl.col("h2") % 60).cast(pl.Float64) / 10 - 1,
        blocked=pl.lit(False),
    )
    return schema.conform("sent", df)


HOSTILE_SUBJECTS = (
    "[bold red]URGENT[/] pay now",
    "\x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07",
    "bell\x07 and\r\nnew line\ttab",
    "מבצע מיוחד \u202eevil\u202c עכשיו",
    '=HYPERLINK("http://x")',
    "x" * 500,
)


def with_hostile(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Overwrite the subject/sender of the newest rows with hostile content."""
    out = dict(frames)
    for view in ("received", "sent"):
        df = frames[view]
        k = min(len(HOSTILE_SUBJECTS), df.height)
        if k == 0:
            continue
        subj = pl.Series(
            "subject", [None] * (df.height - k) + list(HOSTILE_SUBJECTS[:k]), pl.String
        )
        df = df.with_columns(
            subject=pl.when(subj.is_not_null()).then(subj).otherwise(pl.col("subject"))
        )
        out[view] = df
    return out


def frames(
    n: int,
    day: dt.date = dt.date(2026, 11, 27),
    days: int = 1,
    hostile: bool = False,
) -> dict[str, pl.DataFrame]:
    """All three views with `n` rows each (plus empty `mailbox` and `lines`)."""
    out = {
        "accesses": accesses(n, day, days),
        "received": received(n, day, days),
        "sent": sent(n, day, days),
    }
    if hostile:
        out = with_hostile(out)
    return out
