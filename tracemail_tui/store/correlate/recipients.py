"""Who a message's rows are for: one row per (key, recipient).

A recipient's row comes from its last delivery attempt, else from its reject. Postfix
names the other recipients of a message only when it delivers to them: a message a
milter rejected or held, or one still in the queue, shows in Postfix's lines with one
recipient alone (``milter-reject: ... to=<one>``, ``header Subject: ... to=<one>``; the
lab saw the first of two named in R16 and the second in R17). Rspamd's task log lists
the whole envelope (``rcpts: <a,b,c>``), so for a scanned message every recipient it lists
and Postfix has not yet accounted for gets a row too: "did carol get it?" must find carol,
not only the address Postfix named. `expire` then marks the recipients still deferred when
the message's queue lifetime ran out (qmgr's ``status=expired`` names none of them).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from tracemail_tui.store import schema

# An envelope recipient as Rspamd lists it (it cuts long lists with a "..." element and
# has been seen writing an empty element after a comma).
_ADDRESS: Final = r"^[^\s,<>@]+@[^\s,<>@]+$"
_KEY: Final = ["host", "key"]


def recipients(ev: pl.DataFrame, msgs: pl.DataFrame) -> pl.DataFrame:
    """One row per (key, recipient): last delivery attempt, reject, or named recipient.

    `msgs` is :func:`mail.messages` of `ev` with the Rspamd verdict joined (its envelope
    in ``sp_rcpts``). A key with no recipient at all keeps one row with a null recipient
    if a message is under way (not for an SMTP session that only opened a queue file).
    """
    dl = ev.filter(pl.col("kind") == "delivery").sort("time", maintain_order=True)
    dl = dl.with_columns(
        rcpt=pl.col("recipient").str.to_lowercase(),
        agent=pl.col("program").str.extract(r"([^/]+)$", 1),
    )
    last = dl.group_by("host", "key", "rcpt").agg(
        seen=pl.col("time").min(),
        d_time=pl.col("time").last(),
        recipient=pl.col("recipient").last(),
        orig_to=pl.col("orig_to").last(ignore_nulls=True),
        relay=pl.col("relay").last(),
        delay=pl.col("delay").last(),
        dsn=pl.col("dsn").last(),
        d_status=pl.col("status").last(),
        d_text=pl.col("text").last(),
        session=pl.col("session").last(),
        agent=pl.col("agent").last(),
    )
    rj = ev.filter(pl.col("kind") == "reject").with_columns(
        rcpt=pl.col("recipient").str.to_lowercase()
    )
    rj = rj.group_by("host", "key", "rcpt").agg(
        seen=pl.col("time").min(),
        recipient=pl.col("recipient").first(),
        r_sender=pl.col("sender").first(),
        r_status=pl.col("status").first(),
        r_text=pl.col("text").first(),
        r_dsn=pl.col("dsn").first(),
    )
    # Accounted for: delivered to (also as the original address of an alias), or rejected.
    covered = pl.concat([
        dl.select(*_KEY, "rcpt"),
        dl.select(*_KEY, rcpt=pl.col("orig_to").str.to_lowercase()),
        rj.select(*_KEY, "rcpt"),
    ]).drop_nulls("rcpt")
    named = msgs.select(*_KEY, recipient=pl.coalesce("action_rcpt", "subject_rcpt"),
                        seen=pl.col("first_time"))
    others = (
        pl.concat([named, _scanned(msgs)])
        .filter(pl.col("recipient").is_not_null())
        .with_columns(rcpt=pl.col("recipient").str.to_lowercase())
        .join(covered, on=[*_KEY, "rcpt"], how="anti")  # repeats: merged below
    )
    rows = pl.concat([last, rj, others], how="diagonal_relaxed")
    # A key with no recipient keeps one row with a null recipient, once a message is under
    # way (cleanup, qmgr, pickup or an action saw it). A session that only opened a queue
    # file (``client=``) received no message: a sender-verification probe (MAIL FROM:<>,
    # RCPT, QUIT: lab-verified), which every MX gets all day, must not show as "accepted".
    under_way = pl.col("pickup") | pl.any_horizontal(
        pl.col(c).is_not_null()
        for c in ("message_id", "size", "subject_raw", "action", "hold_time", "ndr_of")
    )
    bare = msgs.filter(under_way).join(rows.select(_KEY).unique(), on=_KEY, how="anti").select(
        *_KEY, recipient=pl.lit(None, pl.String), seen=pl.col("first_time"),
        rcpt=pl.lit(None, pl.String),
    )
    rows = pl.concat([rows, bare], how="diagonal_relaxed")
    # A recipient both rejected and delivered (retries) keeps its delivery.
    return rows.group_by("host", "key", "rcpt", maintain_order=True).agg(
        pl.all().first(ignore_nulls=True)
    )


def expire(rows: pl.DataFrame) -> pl.DataFrame:
    """Recipients still deferred when the message's queue lifetime ran out (`rows`: the
    recipients joined to their message, which carries ``expired_time``).

    qmgr's ``from=<s>, status=expired, returned to sender`` names no recipient: it is about
    every recipient whose last attempt was deferred (lab S11). Such a recipient is not
    queued any more, and its sender got a non-delivery notice.
    """
    gave_up = ((pl.col("d_status") == "deferred")
               & (pl.col("expired_time") >= pl.col("d_time"))).fill_null(False)
    return rows.with_columns(
        d_status=pl.when(gave_up).then(pl.lit("expired")).otherwise(pl.col("d_status")),
        d_text=pl.when(gave_up).then(pl.concat_str(
            pl.lit(schema.QUEUE_EXPIRED + "; last attempt: "), pl.col("d_text").fill_null("")))
        .otherwise(pl.col("d_text")),
    )


def _scanned(msgs: pl.DataFrame) -> pl.DataFrame:
    """(host, key, recipient, seen) of the envelope Rspamd logged for each message
    (``sp_rcpts``, joined to the message like the rest of its verdict)."""
    got = msgs.filter(pl.col("sp_rcpts").is_not_null()).select(
        *_KEY, recipient="sp_rcpts", seen="first_time")
    # Most messages have one recipient: only lists are split and checked for aliases.
    is_list = pl.col("recipient").str.contains(",", literal=True)
    lists = got.filter(is_list)
    got = got.filter(~is_list)
    if lists.height:
        lists = lists.with_columns(pl.col("recipient").str.split(",")).explode("recipient")
        # Rspamd may add the canonical form of an address it was given (plus tag removed:
        # "alice+news@" also listed as "alice@"): that one was never an envelope recipient.
        lists = lists.with_columns(_lc=pl.col("recipient").str.to_lowercase())
        lists = lists.with_columns(_canon=_canonical(pl.col("_lc")))
        aliases = lists.filter(pl.col("_canon") != pl.col("_lc")).select(*_KEY, _lc="_canon")
        lists = lists.join(aliases, on=[*_KEY, "_lc"], how="anti")
        got = pl.concat([got, lists.select(got.columns)])
    return got.filter(pl.col("recipient").str.contains(_ADDRESS))


def _canonical(addr: pl.Expr) -> pl.Expr:
    """Rspamd's alias removal (lua_util.remove_email_aliases): the ``+tag`` goes, and
    Gmail addresses also lose their dots (googlemail.com is gmail.com)."""
    local = addr.str.extract(r"^(.*)@", 1)
    domain = addr.str.extract(r"@([^@]*)$", 1)
    gmail = domain.is_in(["gmail.com", "googlemail.com"])
    local = pl.when(gmail).then(local.str.replace_all(".", "", literal=True)).otherwise(local)
    return pl.concat_str(
        local.str.replace(r"^([^+][^+]*)\+.*$", "${1}"),
        pl.lit("@"),
        pl.when(gmail).then(pl.lit("gmail.com")).otherwise(domain),
    )
