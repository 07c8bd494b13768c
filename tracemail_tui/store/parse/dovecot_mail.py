"""Dovecot mail events: LMTP/LDA deliveries with their Sieve actions, and mail_log events.

Delivery lines (``lmtp(user)<pid><session>: ...``):

* ``sieve: msgid=<m>: stored mail into mailbox 'INBOX'`` (implicit keep)
* ``sieve: msgid=<m>: fileinto action: stored mail into mailbox 'News'``
* ``sieve: msgid=<m>: redirect action: forwarded to <x@y>`` (older Pigeonhole: ``forwarded to``)
* ``sieve: msgid=<m>: vacation action: sent vacation response to <x@y>``
* ``sieve: msgid=<m>: vacation action: discarded duplicate vacation response to <x@y>``
  and Pigeonhole's other reasons not to reply (`VACATION_SKIPS`: a list, an automatic
  message, a system address, ...): the rule ran, no reply left (lab R30)
* ``sieve: msgid=<m>: discarded duplicate forward to <x@y>`` / ``not forwarding message to
  <x@y>: the 'x-sieve-redirected-from' header indicates a mail loop``: a redirect that
  did not send (this Message-ID went to that address before; a loop). Pigeonhole 0.5.19
  then keeps the message (implicit keep: it lands in INBOX, lab R31)
* ``sieve: msgid=<m>: marked message to be discarded if not explicitly delivered (discard action)``
* ``sieve: msgid=<m>: rejected message from <x@y> (reason)``
* ``msgid=<m>: saved mail to INBOX`` (no Sieve) / ``msgid=<m>: save failed to INBOX: Quota ...``
* ``sieve: Execution of script X failed, but implicit keep was successful (user logfile Y
  may reveal additional details)``: an action of the user's script failed (e.g. a fileinto
  into a folder that is gone, lab R33) and the message was kept in INBOX instead. The
  failed action is logged only to the user's own Sieve log; this line names no Message-ID
  and belongs to its delivery by the session id

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

from tracemail_tui.store.parse.cut import after, before, cut, nbytes
from tracemail_tui.store.schema import MAILBOX, SIEVE_FAILED

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

SCRIPT_FAILED: Final = "failed, but implicit keep was successful"
"""Pigeonhole's note that the user's script failed and the message was kept instead (no
regex metacharacters: the `script_failed` pattern below embeds it as is)."""

# (action, where the action starts in the text after "msgid="): each pattern is anchored
# at the end and cannot span a hostile Message-ID, so the leftmost match is the real one.
_NO_COLON_SPACE = r"(?:[^:]|:[^ ])*"
_ACTIONS: Final = (
    ("store", r": (?:[a-z]+ action: )?stored mail into mailbox '[^']*'$"),
    ("store", r": saved mail to " + _NO_COLON_SPACE + "$"),
    ("redirect", r": (?:redirect action: )?forwarded to <[^>]*>$"),
    ("vacation", r": (?:vacation action: )?sent vacation response to <[^>]*>$"),
    ("discard", r": (?:discard action: )?marked message to be discarded"
                r" if not explicitly delivered(?: \(discard action\))?$"),
    ("reject", r": (?:reject action: )?rejected message from <[^>]*> \("
               + _NO_COLON_SPACE + r"\)$"),
    ("redirect_skip", r": (?:redirect action: )?(?:discarded duplicate forward to <[^>]*>"
     r"|not forwarding message to <[^>]*>: the '[^']*' header indicates a mail loop)$"),
    ("vacation_skip", r": (?:vacation action: )?(?:"
     r"discarded (?:duplicate )?vacation (?:reply|response) to (?:own address )?<[^>]*>"
     r"(?: \(as specified using :addresses argument\))?"
     r"|discarding vacation response to (?:mailinglist recipient |auto-submitted message "
     r"from |precedence=[^ ]* message from |message from )<[^>]*>(?: \([^()]*\))?"
     r"|discarding vacation response for implicitly delivered message; [^<>]*"
     r"\(recipient=<[^>]*>[^()]*\)"
     r"|not sending vacation (?:reply \(skipped\)|response to system address <[^>]*>))$"),
    ("failed", r": save failed to "),
    ("failed", r": failed to store into mailbox '"),
    # Anchored at both ends (it names no Message-ID): no other line can take this form.
    ("script_failed", rf"^Execution of script .* {SCRIPT_FAILED}(?: \(.*\))?$"),
)


VACATION_SKIPS: Final = (
    # (what Pigeonhole's line says, the short reason kept in `filter_rule`), first match
    ("duplicate vacation", "duplicate"),
    ("reply to own address", "own address"),
    ("reply to <>", "null sender"),
    ("mailinglist recipient", "mailing list"),
    ("auto-submitted message", "auto-submitted"),
    ("x-auto-response-suppress", "auto-response-suppress"),
    ("precedence=", "precedence"),
    ("system address", "system address"),
    ("implicitly delivered", "not addressed to the recipient"),
    ("(skipped)", "skipped"),
)
"""Why Pigeonhole's vacation action sent no reply (cmd-vacation.c, act_vacation_commit)."""


def mail_log_test(text: pl.Expr) -> pl.Expr:
    """True for mail_log plugin lines (cheap ``starts_with`` tests)."""
    return pl.any_horizontal(*(text.str.starts_with(p) for p in _MAIL_LOG_PREFIXES))


def delivery_lines(df: pl.DataFrame) -> pl.DataFrame:
    """Per line: time, host, proc, user, session, action, arg, verb, message_id, raw.

    ``action`` is null for a delivery line of no known form (the caller counts it).
    """
    d = df.filter(pl.col("kind") == "delivery")
    t = pl.col("text")
    body = pl.when(t.str.starts_with("sieve: ")).then(cut(t, 7)).otherwise(t)
    body = pl.when(body.str.starts_with("msgid=")).then(cut(body, 6)).otherwise(body)
    d = d.with_columns(_b=body)
    b = pl.col("_b")
    action, pos = pl.lit(None, pl.String), pl.lit(None, pl.UInt32)
    for name, rx in reversed(_ACTIONS):
        p = b.str.find(rx)
        action = pl.when(p.is_not_null()).then(pl.lit(name)).otherwise(action)
        pos = pl.when(p.is_not_null()).then(p).otherwise(pos)
    d = d.with_columns(action=action, _p=pos)
    p = pl.col("_p")
    d = d.with_columns(mid=cut(b, 0, p), _t=cut(b, p + 2))
    tail, a = pl.col("_t"), pl.col("action")
    verb = pl.when(tail.str.contains(r"^[a-z]+ action: ")).then(before(tail, " action: "))
    in_quotes = after(tail, " '").str.strip_suffix("'")
    in_angles = after(tail, "<").str.strip_suffix(">")
    arg = (
        pl.when((a == "store") & tail.str.starts_with("saved mail to "))
        .then(cut(tail, len("saved mail to ")))
        .when(a == "store").then(in_quotes)
        .when(a.is_in(("redirect", "vacation"))).then(in_angles)
        .when(a == "reject").then(after(tail, "> (").str.strip_suffix(")"))
        .when(a == "vacation_skip").then(_skip_reason(tail))
        .when(a == "redirect_skip").then(pl.concat_str([  # the rule as a whole
            pl.lit('redirect "'), in_angles.str.extract(r"^([^>]*)", 1),
            pl.lit('" (not sent: '),
            pl.when(tail.str.ends_with("indicates a mail loop")).then(pl.lit("mail loop"))
            .otherwise(pl.lit("duplicate")),
            pl.lit(")")]))
        .when(a == "failed").then(tail)  # "save failed to INBOX: Quota exceeded (...)"
    )
    return d.select(
        "time", "host", "proc", "user", "session", "action", "raw",
        arg=arg, verb=verb, message_id=_msgid(pl.col("mid")),
    )


def _skip_reason(tail: pl.Expr) -> pl.Expr:
    """The short reason of a vacation reply not sent (`VACATION_SKIPS`)."""
    out = pl.lit(None, pl.String)
    for needle, label in reversed(VACATION_SKIPS):
        out = pl.when(tail.str.contains(needle, literal=True)).then(pl.lit(label)).otherwise(out)
    return out


def _msgid(mid: pl.Expr) -> pl.Expr:
    """Message-ID as logged; Pigeonhole's ``unspecified`` / empty become null."""
    return mid.str.strip_chars().replace(["", "unspecified"], None)


def mail_log_lines(df: pl.DataFrame) -> pl.DataFrame:
    """mail_log lines → one row each with event, folder, from_folder, uid, msgid, size, subject.

    The fields come in a fixed order (box, uid, msgid, size, vsize, flags, from, subject;
    ``uid box msgid size`` by default): box runs to ``, uid=``, the Message-ID to
    ``, size=`` (or the next field), the subject to the end of the line.
    """
    ml = df.filter(pl.col("kind") == "mail_log")
    t = pl.col("text")
    # Eager expressions are not de-duplicated: find each marker once, as a column.
    marks = {"_pb": ": box=", "_pu": ", uid=", "_pm": ", msgid=", "_ps": ", size=",
             "_pv": ", vsize=", "_pf": ", flags=", "_pr": ", from=", "_pj": ", subject="}
    ml = ml.with_columns(
        *(t.str.find(m, literal=True).alias(k) for k, m in marks.items()), _n=nbytes(t),
    )
    pb, pu, pm, ps, pv, pf, pr, pj, n = (pl.col(k) for k in (*marks, "_n"))
    box_end = pl.min_horizontal(pu, pm, ps, pv, pf, pr, pj, n)
    mid_end = pl.min_horizontal(ps, pv, pf, pr, pj, n)
    event = t.str.extract(r"^([a-z_]+)")
    folder = cut(t, pb + 6, box_end - pb - 6)
    from_folder: pl.Expr = pl.when(t.str.starts_with("copy from ")).then(cut(t, 10, pb - 10))
    if ml["text"].str.starts_with("Mailbox ").any():  # rare: keep it off the common path
        mb = t.str.starts_with("Mailbox ")
        ml = ml.with_columns(_rest=after(t, ": "))
        rest = pl.col("_rest")
        renamed = t.str.starts_with("Mailbox renamed: ")
        # Mailbox renamed/deleted/created → mailbox_rename / mailbox_delete / mailbox_create
        event = pl.when(mb).then(pl.concat_str([pl.lit("mailbox_"), before(cut(t, 8), ": ")])
                                 .str.strip_suffix("d")).otherwise(event)
        folder = pl.when(renamed).then(after(rest, " -> ")).when(mb).then(rest) \
            .otherwise(folder)
        from_folder = pl.when(renamed).then(before(rest, " -> ")).otherwise(from_folder)
    return ml.select(
        "time", "host", "proc", "user", "session", "raw",
        event=event, folder=folder, from_folder=from_folder,
        uid=t.str.extract(r", uid=(\d+)").cast(pl.Int64, strict=False),
        message_id=_msgid(cut(t, pm + 8, mid_end - pm - 8)),
        size=t.str.extract(r", size=(\d+)").cast(pl.Int64, strict=False),
        subject=cut(t, pj + 10),
    )


def deliveries(df: pl.DataFrame, lines: pl.DataFrame | None = None,
               mail_log: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per LMTP/LDA delivery session (per recipient), see ``DELIVERIES``.

    Rows are per chunk: a delivery whose lines straddle two chunks yields two partial rows
    with the same (host, session); :func:`combine_deliveries` merges them.
    """
    if lines is None:
        lines = delivery_lines(df)
    if mail_log is None:
        mail_log = mail_log_lines(df)
    saves = mail_log.filter(pl.col("proc").is_in(DELIVERY_PROCS) & (pl.col("event") == "save"))
    a, arg, verb = pl.col("action"), pl.col("arg"), pl.col("verb")
    rule = (
        pl.when((a == "store") & (verb == "fileinto"))
        .then(pl.concat_str([pl.lit('fileinto "'), arg, pl.lit('"')]))
        .when((a == "store") & (verb == "keep")).then(pl.lit("keep"))
        .when(a == "redirect").then(pl.concat_str([pl.lit('redirect "'), arg, pl.lit('"')]))
        .when(a.is_in(("vacation", "discard", "reject"))).then(a)
        .when(a == "vacation_skip").then(pl.concat_str(
            [pl.lit("vacation (not sent: "), arg.fill_null("?"), pl.lit(")")]))
        .when(a == "redirect_skip").then(arg)
        .when(a == "script_failed").then(pl.lit(SIEVE_FAILED))
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
    a, arg = pl.col("action"), pl.col("arg")
    # Aggregate the values as lists and join them afterwards, vectorised: a per-group
    # ``unique().str.join()`` costs about twice as much (measured).
    lists = {"_stored": arg.filter(a == "store"), "_saved": arg.filter(a == "mail_log_save"),
             "_fwd": arg.filter(a == "redirect"), "_rule": pl.col("rule"),
             "_err": arg.filter(a.is_in(("failed", "reject")))}
    out = ev.group_by("host", "_key", maintain_order=True).agg(
        *(e.drop_nulls().alias(k) for k, e in lists.items()),
        time=pl.col("time").min(),
        session=pl.col("session").drop_nulls().first(),
        user=pl.col("user").drop_nulls().first(),
        message_id=pl.col("message_id").drop_nulls().first(),
        auto_reply=(a == "vacation").any(),
        # A discard, or a redirect that did not send (duplicate, loop) and nothing else:
        # no copy was kept or sent anywhere.
        discarded=((a == "discard").any() | ((a == "redirect_skip").any()
                                             & ~(a == "redirect").any()))
        & ~(a == "store").any() & ~(a == "mail_log_save").any(),
        subject=pl.col("subject").drop_nulls().first(),
        size=pl.col("size").drop_nulls().first(),
    )

    def joined(col: str) -> pl.Expr:
        out = pl.col(col).list.unique(maintain_order=True).list.join(", ")
        return pl.when(out == "").then(None).otherwise(out)

    out = out.with_columns(
        folder=pl.coalesce(joined("_stored"), joined("_saved")),
        forwarded_to=joined("_fwd"), filter_rule=joined("_rule"), error=joined("_err"),
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


def mailbox(df: pl.DataFrame, lines: pl.DataFrame | None = None,
            mail_log: pl.DataFrame | None = None) -> pl.DataFrame:
    """Mailbox events (``schema.MAILBOX``): mail_log events of every process plus one
    ``deliver`` / ``redirect`` / ``vacation`` / ``discard`` / ``reject`` (or
    ``vacation-not-sent`` / ``redirect-not-sent``) event per Sieve or LMTP delivery line.
    A delivery logged both by mail_log (``save``) and by Sieve (``deliver``) yields both
    events; ``locate`` treats them as one arrival."""
    if lines is None:
        lines = delivery_lines(df)
    if mail_log is None:
        mail_log = mail_log_lines(df)
    ml = mail_log.select(
        "time", server="host", user="user", session="session", protocol="proc", event="event",
        folder="folder", uid="uid", message_id="message_id", size="size", subject="subject",
        from_folder="from_folder",
    )
    a = pl.col("action")
    # A failed save or script is no event of the message (the script note names none).
    dl = lines.filter(a.is_not_null() & ~a.is_in(("failed", "script_failed"))).select(
        "time", server="host", user="user", session="session", protocol="proc",
        event=pl.when(a == "store").then(pl.lit("deliver"))
        .when(a.str.ends_with("_skip")).then(a.str.replace("_skip", "-not-sent"))
        .otherwise(a),
        folder=pl.when(a == "store").then(pl.col("arg")),
        uid=pl.lit(None, pl.Int64), message_id="message_id", size=pl.lit(None, pl.Int64),
        subject=pl.lit(None, pl.String), from_folder=pl.lit(None, pl.String),
    )
    out = pl.concat([ml, dl], how="vertical_relaxed").sort("time", maintain_order=True)
    return out.select([pl.col(c).cast(t) for c, t in MAILBOX.items()])
