"""Who a message's rows are for: one row per (key, recipient).

A recipient's row comes from its last delivery attempt, else from its reject. Postfix
names the other recipients of a message only when it delivers to them: a message a
milter rejected or held, or one still in the queue, shows in Postfix's lines with its
*first* recipient alone (``milter-reject: ... to=<first>``, ``header Subject: ...
to=<first>``). Rspamd's task log lists the whole envelope (``rcpts: <a,b,c>``), so for
a scanned message every recipient it lists and Postfix has not yet accounted for gets a
row too: "did carol get it?" must find carol, not only the first address.
"""

from __future__ import annotations

from typing import Final

import polars as pl

# An envelope recipient as Rspamd lists it (it cuts long lists with a "..." element and
# has been seen writing an empty element after a comma).
_ADDRESS: Final = r"^[^\s,<>@]+@[^\s,<>@]+$"
_KEY: Final = ["host", "key"]


def recipients(ev: pl.DataFrame, msgs: pl.DataFrame, verdicts: pl.DataFrame) -> pl.DataFrame:
    """One row per (key, recipient): last delivery attempt, reject, or named recipient.

    `msgs` is :func:`mail.messages` of `ev`; `verdicts` are the Rspamd verdicts of its
    queue ids. A key with no recipient at all keeps one row with a null recipient.
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
        pl.concat([named, _scanned(msgs, verdicts)])
        .filter(pl.col("recipient").is_not_null())
        .with_columns(rcpt=pl.col("recipient").str.to_lowercase())
        .unique([*_KEY, "rcpt"], keep="first", maintain_order=True)
        .join(covered, on=[*_KEY, "rcpt"], how="anti")
    )
    rows = pl.concat([last, rj, others], how="diagonal_relaxed")
    bare = msgs.join(rows.select(_KEY).unique(), on=_KEY, how="anti").select(
        *_KEY, recipient=pl.lit(None, pl.String), seen=pl.col("first_time"),
        rcpt=pl.lit(None, pl.String),
    )
    rows = pl.concat([rows, bare], how="diagonal_relaxed")
    # A recipient both rejected and delivered (retries) keeps its delivery.
    return rows.group_by("host", "key", "rcpt", maintain_order=True).agg(
        pl.all().first(ignore_nulls=True)
    )


def _scanned(msgs: pl.DataFrame, verdicts: pl.DataFrame) -> pl.DataFrame:
    """(host, key, recipient, seen) of the envelope Rspamd logged for each message.

    Joined like the verdict itself: by queue id and Message-ID (Rspamd may run on another
    host), else by host and queue id.
    """
    empty = pl.DataFrame(schema={"host": pl.String(), "key": pl.String(),
                                 "recipient": pl.String(), "seen": msgs.schema["first_time"]})
    v = verdicts.filter(pl.col("rcpts").is_not_null() & pl.col("qid").is_not_null())
    if v.height == 0:
        return empty
    m = msgs.select(*_KEY, "qid", "message_id", seen="first_time")
    by_mid = m.join(
        v.filter(pl.col("message_id").is_not_null())
        .unique(["qid", "message_id"], keep="last", maintain_order=True)
        .select("qid", "message_id", _mid="rcpts"),
        on=["qid", "message_id"], how="left",
    )
    by_host = v.unique(["host", "qid"], keep="last", maintain_order=True).select(
        "host", "qid", _host="rcpts")
    got = by_mid.join(by_host, on=["host", "qid"], how="left").select(
        *_KEY, "seen", recipient=pl.coalesce("_mid", "_host").str.split(","))
    got = got.explode("recipient").filter(pl.col("recipient").str.contains(_ADDRESS))
    if got.height == 0:
        return empty
    # Rspamd may add the canonical form of an address it was given (plus tag removed:
    # "alice+news@" also listed as "alice@"): that one was never an envelope recipient.
    got = got.with_columns(_lc=pl.col("recipient").str.to_lowercase())
    got = got.with_columns(_canon=_canonical(pl.col("_lc")))
    aliases = got.filter(pl.col("_canon") != pl.col("_lc")).select(*_KEY, _lc="_canon")
    return got.join(aliases, on=[*_KEY, "_lc"], how="anti").select(
        *_KEY, "recipient", "seen")


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
