"""Dovecot mail events: LMTP/LDA deliveries with their Sieve actions, and mail_log events.

Delivery lines (``lmtp(user)<pid><session>: ...``):

* ``sieve: msgid=<m>: stored mail into mailbox 'INBOX'`` (implicit keep)
* ``sieve: msgid=<m>: fileinto action: stored mail into mailbox 'News'``
* ``sieve: msgid=<m>: redirect action: forwarded to <x@y>`` (older Pigeonhole: ``forwarded to``)
* ``sieve: msgid=<m>: vacation action: sent vacation response to <x@y>``
* ``sieve: msgid=<m>: marked message to be discarded if not explicitly delivered (discard action)``
* ``sieve: msgid=<m>: rejected message from <x@y> (reason)``
* ``msgid=<m>: saved mail to INBOX`` (no Sieve) / ``msgid=<m>: save failed to INBOX: Quota ...``

The Message-ID is the sender's header and may be hostile (``<a>: stored mail into mailbox
'X'``): every action pattern is anchored at the *end* of the line with bracketed arguments
that cannot span, so the real action is the one found.

mail_log lines (any mail process): ``save|copy from X|expunge|delete|undelete|flag_change:
box=.., uid=.., msgid=.., size=.., from=.., subject=..`` and ``Mailbox renamed: A -> B`` /
``Mailbox deleted: X`` / ``Mailbox created: X``.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from tracemail_tui.store.schema import MAILBOX

DELIVERY_PROCS: Final = ("lmtp", "lda", "dovecot-lda", "deliver")
_MAIL_LOG_PREFIXES: Final = (
    "save: ", "copy from ", "copy: ", "expunge: ", "delete: ", "undelete: ", "flag_change: ",
    "Mailbox renamed: ", "Mailbox deleted: ", "Mailbox created: ",
)

DELIVERIES: Final[dict[str, pl.DataType]] = {
    "time": pl.Datetime("us"),
    "host": pl.String(),
    "session": pl.String(),
    "user": pl.String(),
    "message_id": pl.String(),
    "folder": pl.String(),
    "forwarded_to": pl.String(),
    "auto_reply": pl.Boolean(),
    "discarded": pl.Boolean(),
    "filter_rule": pl.String(),
    "subject": pl.String(),
    "size": pl.Int64(),
    "error": pl.String(),  # save failed / sieve reject text, else null
}

# (action, regex on the text after "msgid="); first match wins.
_ACTIONS: Final = (
    ("store", r"^(?<mid>.*?): (?:(?<verb>\w+) action: )?stored mail into mailbox '(?<arg>[^']*)'$"),
    ("store", r"^(?<mid>.*): saved mail to (?<arg>.*)$"),
    ("redirect", r"^(?<mid>.*?): (?:redirect action: )?forwarded to <(?<arg>[^>]*)>$"),
    ("vacation", r"^(?<mid>.*?): (?:vacation action: )?sent vacation response to <(?<arg>[^>]*)>$"),
    ("discard", r"^(?<mid>.*?): (?:discard action: )?marked message to be discarded"
                r" if not explicitly delivered(?: \(discard action\))?$"),
    ("reject", r"^(?<mid>.*?): (?:reject action: )?rejected message from <[^>]*> \((?<arg>.*)\)$"),
    ("failed", r"^(?<mid>.*?): save failed to (?<arg>.*?): .*$"),
    ("failed", r"^(?<mid>.*?): failed to store into mailbox '(?<arg>[^']*)': .*$"),
)


def mail_log_test(text: pl.Expr) -> pl.Expr:
    """True for mail_log plugin lines (cheap ``starts_with`` tests)."""
    return pl.any_horizontal(*(text.str.starts_with(p) for p in _MAIL_LOG_PREFIXES))


def delivery_lines(df: pl.DataFrame) -> pl.DataFrame:
    """Per line: time, host, proc, user, session, action, arg, verb, message_id, raw.

    ``action`` is null for a delivery line of no known form (the caller counts it).
    """
    d = df.filter(pl.col("kind") == "delivery")
    t = pl.col("text")
    body = t.str.replace(r"^sieve: ", "").str.replace(r"^msgid=", "")
    d = d.with_columns(_b=body, action=pl.lit(None, pl.String), mid=pl.lit(None, pl.String),
                       arg=pl.lit(None, pl.String), verb=pl.lit(None, pl.String))
    for action, rx in _ACTIONS:
        g = pl.col("_b").str.extract_groups(rx)
        hit = pl.col("action").is_null() & g.struct.field("mid").is_not_null()
        fields = [("mid", "mid"), ("arg", "arg"), ("verb", "verb")]
        names = [n for n in ("mid", "arg", "verb") if f"<{n}>" in rx]
        d = d.with_columns(
            action=pl.when(hit).then(pl.lit(action)).otherwise(pl.col("action")),
            **{
                col: pl.when(hit).then(g.struct.field(name)).otherwise(pl.col(col))
                for col, name in fields if name in names
            },
        )
    return d.select(
        "time", "host", "proc", "user", "session", "action", "arg", "verb", "raw",
        message_id=_msgid(pl.col("mid")),
    )


def _msgid(mid: pl.Expr) -> pl.Expr:
    """Message-ID as logged; Pigeonhole's ``unspecified`` / empty become null."""
    m = mid.str.strip_chars()
    return pl.when((m == "") | (m == "unspecified")).then(None).otherwise(m)


def _mail_log_lines(df: pl.DataFrame) -> pl.DataFrame:
    """mail_log lines → one row each with event, folder, from_folder, uid, msgid, size, subject."""
    ml = df.filter(pl.col("kind") == "mail_log")
    t = pl.col("text")
    g = t.str.extract_groups(
        r"^(?<ev>save|copy|expunge|delete|undelete|flag_change)(?: from (?<src>.*?))?: (?<rest>.*)$"
    )
    mb = t.str.extract_groups(r"^Mailbox (?<mev>renamed|deleted|created): (?<mrest>.*)$")
    ml = ml.with_columns(_g=g, _m=mb).unnest("_g", "_m")
    r = pl.col("rest")
    stop = r"(?:, (?:uid|box|msgid|size|vsize|flags|from|subject)=|$)"
    ren = pl.col("mrest").str.extract_groups(r"^(?<old>.*) -> (?<new>.*)$")
    ml = ml.with_columns(_r=ren).unnest("_r")
    # "Mailbox renamed" → mailbox_rename (the mail_log event names)
    mev = pl.concat_str([pl.lit("mailbox_"), pl.col("mev")]).str.replace(r"d$", "")
    event = pl.coalesce(pl.col("ev"), mev)
    return ml.select(
        "time", "host", "proc", "user", "session", "raw",
        event=event,
        folder=pl.when(pl.col("mev") == "renamed").then(pl.col("new"))
        .when(pl.col("mev").is_not_null()).then(pl.col("mrest"))
        .otherwise(r.str.extract(r"(?:^|, )box=(.*?)" + stop)),
        from_folder=pl.when(pl.col("mev") == "renamed").then(pl.col("old"))
        .otherwise(pl.col("src")),
        uid=r.str.extract(r"(?:^|, )uid=(\d+)").cast(pl.Int64),
        message_id=_msgid(r.str.extract(r"(?:^|, )msgid=(.*?)" + stop)),
        size=r.str.extract(r"(?:^|, )size=(\d+)").cast(pl.Int64),
        subject=r.str.extract(r"(?:^|, )subject=(.*)$"),
    )


def deliveries(df: pl.DataFrame, lines: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per LMTP/LDA delivery session (per recipient), see ``DELIVERIES``.

    Rows are per chunk: a delivery whose lines straddle two chunks yields two partial rows
    with the same (host, session); :func:`combine_deliveries` merges them.
    """
    if lines is None:
        lines = delivery_lines(df)
    saves = _mail_log_lines(df.filter(pl.col("proc").is_in(DELIVERY_PROCS))).filter(
        pl.col("event") == "save"
    )
    a, arg, verb = pl.col("action"), pl.col("arg"), pl.col("verb")
    rule = (
        pl.when((a == "store") & (verb == "fileinto"))
        .then(pl.concat_str([pl.lit('fileinto "'), arg, pl.lit('"')]))
        .when((a == "store") & (verb == "keep")).then(pl.lit("keep"))
        .when(a == "redirect").then(pl.concat_str([pl.lit('redirect "'), arg, pl.lit('"')]))
        .when(a.is_in(("vacation", "discard", "reject"))).then(a)
    )
    ev = pl.concat(
        [
            lines.filter(a.is_not_null()).select(
                "time", "host", "user", "session", "message_id", "action", "arg",
                rule=rule, subject=pl.lit(None, pl.String), size=pl.lit(None, pl.Int64),
            ),
            saves.select(
                "time", "host", "user", "session", "message_id",
                action=pl.lit("mail_log_save"), arg=pl.col("folder"), rule=pl.lit(None, pl.String),
                subject="subject", size="size",
            ),
        ],
        how="vertical_relaxed",
    )
    return combine_deliveries(ev.with_columns(_key=_delivery_key()))


def _delivery_key() -> pl.Expr:
    """(session) or, for LDA without a session id, user + Message-ID."""
    return pl.coalesce(
        pl.col("session"),
        pl.concat_str([pl.lit("lda:"), pl.col("user"), pl.lit(":"), pl.col("message_id")]),
    )


def combine_deliveries(ev: pl.DataFrame) -> pl.DataFrame:
    """Per-action events (or partial delivery rows) → one row per (host, delivery session)."""
    if "action" not in ev.columns:  # already delivery rows: merge partial rows
        return _merge_rows(ev)
    a = pl.col("action")

    def joined(expr: pl.Expr) -> pl.Expr:
        out = expr.drop_nulls().unique(maintain_order=True).str.join(", ")
        return pl.when(out == "").then(None).otherwise(out)

    stored = joined(pl.col("arg").filter(a == "store"))
    saved = joined(pl.col("arg").filter(a == "mail_log_save"))
    out = ev.group_by("host", "_key", maintain_order=True).agg(
        time=pl.col("time").min(),
        session=pl.col("session").drop_nulls().first(),
        user=pl.col("user").drop_nulls().first(),
        message_id=pl.col("message_id").drop_nulls().first(),
        folder=pl.coalesce(stored, saved),
        forwarded_to=joined(pl.col("arg").filter(a == "redirect")),
        auto_reply=(a == "vacation").any(),
        discarded=(a == "discard").any() & ~(a == "store").any() & ~(a == "mail_log_save").any(),
        filter_rule=joined(pl.col("rule")),
        subject=pl.col("subject").drop_nulls().first(),
        size=pl.col("size").drop_nulls().first(),
        error=joined(pl.col("arg").filter(a.is_in(("failed", "reject")))),
    )
    return out.select([pl.col(c).cast(t) for c, t in DELIVERIES.items()])


def _merge_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Merge partial delivery rows of one (host, session) from different chunks."""
    def joined(c: str) -> pl.Expr:
        out = (pl.col(c).drop_nulls().str.split(", ").explode().drop_nulls()
               .unique(maintain_order=True).str.join(", "))
        return pl.when(out == "").then(None).otherwise(out)

    rows = rows.sort("time").with_columns(_key=_delivery_key())
    out = rows.group_by("host", "_key", maintain_order=True).agg(
        time=pl.col("time").min(),
        session=pl.col("session").drop_nulls().first(),
        user=pl.col("user").drop_nulls().first(),
        message_id=pl.col("message_id").drop_nulls().first(),
        folder=joined("folder"),
        forwarded_to=joined("forwarded_to"),
        auto_reply=pl.col("auto_reply").any(),
        discarded=pl.col("discarded").all() & pl.col("folder").is_null().all(),
        filter_rule=joined("filter_rule"),
        subject=pl.col("subject").drop_nulls().first(),
        size=pl.col("size").drop_nulls().first(),
        error=joined("error"),
    )
    return out.select([pl.col(c).cast(t) for c, t in DELIVERIES.items()])


def mailbox(df: pl.DataFrame, lines: pl.DataFrame | None = None) -> pl.DataFrame:
    """Mailbox events (``schema.MAILBOX``): mail_log events of every process plus one
    ``deliver`` / ``redirect`` / ``vacation`` / ``discard`` / ``reject`` event per Sieve or
    LMTP delivery line. A delivery logged both by mail_log (``save``) and by Sieve
    (``deliver``) yields both events; ``locate`` treats them as one arrival."""
    if lines is None:
        lines = delivery_lines(df)
    ml = _mail_log_lines(df).select(
        "time", server="host", user="user", session="session", protocol="proc", event="event",
        folder="folder", uid="uid", message_id="message_id", size="size", subject="subject",
        from_folder="from_folder",
    )
    a = pl.col("action")
    dl = lines.filter(a.is_not_null() & (a != "failed")).select(
        "time", server="host", user="user", session="session", protocol="proc",
        event=pl.when(a == "store").then(pl.lit("deliver")).otherwise(a),
        folder=pl.when(a == "store").then(pl.col("arg")),
        uid=pl.lit(None, pl.Int64), message_id="message_id", size=pl.lit(None, pl.Int64),
        subject=pl.lit(None, pl.String), from_folder=pl.lit(None, pl.String),
    )
    out = pl.concat([ml, dl], how="vertical_relaxed").sort("time", maintain_order=True)
    return out.select([pl.col(c).cast(t) for c, t in MAILBOX.items()])
