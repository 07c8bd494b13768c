"""Postfix events (+ Rspamd verdicts, Dovecot deliveries, ClamAV) -> received and sent rows.

`correlate` is a pure function of all the events of a set of keys: the engine calls it
for the keys a chunk touched, with every event it kept for them, so a batch run and a
live feed compute the same rows. A *key* is ``(host, key)`` where ``key`` is the queue
id, or ``NOQUEUE-HHMMSS-pid`` for rejects that never got one.

Rows are one per message and recipient. Which view a row lands in:

* received: the message came in unauthenticated through smtpd (or was refused there),
  or the recipient was delivered locally (lmtp/local/virtual/pipe): internal mail and
  bounce notices to our users are receipts too;
* sent: submitted by an authenticated user or injected locally (pickup: sieve
  redirects, vacation replies, scripts), plus remote deliveries of mail of unknown
  origin (e.g. a bounce notice to a remote sender).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl

from tracemail_tui.store import schema
from tracemail_tui.store.correlate.recipients import expire, recipients
from tracemail_tui.store.correlate.subject import merge_subjects

LOCAL_AGENTS: Final = ("lmtp", "local", "virtual", "pipe")
SPAM_ACTIONS: Final = ("add header", "rewrite subject")
SPAM_FOLDER: Final = r"(?i)^(?:junk|spam)(?:$|[./])|(?:^|[./])(?:junk|spam)$"
SUBMISSION: Final = r"/(?:submission|submissions|smtps)/"
SCAN_WINDOW: Final = dt.timedelta(hours=1)  # Rspamd's scan vs the message's first line
RELAY_WINDOW: Final = dt.timedelta(minutes=5)  # Dovecot's relay line vs the message's
# Delivery statuses Postfix logs only for address verification probes (verify(8) behind
# reject_unverified_recipient/sender, and `sendmail -bv`): the next hop was asked about an
# address, no mail was sent.
VERIFY_STATUSES: Final = ("deliverable", "undeliverable")

DOVECOT_COLUMNS: Final[dict[str, pl.DataType]] = {
    "time": schema.TS, "host": pl.String(), "session": pl.String(), "user": pl.String(),
    "message_id": pl.String(), "folder": pl.String(), "forwarded_to": pl.String(),
    "auto_reply": pl.Boolean(), "discarded": pl.Boolean(), "filter_rule": pl.String(),
    "subject": pl.String(), "size": pl.Int64(), "error": pl.String(),
}


def messages(ev: pl.DataFrame) -> pl.DataFrame:
    """One row per key with what the whole message shares."""
    ev = ev.sort("time", maintain_order=True)
    k = pl.col("kind")
    # Each "first/last X of kind K" reads a column masked to K's rows: plain first/last
    # non-null aggregations, no per-group filter.
    masks = {
        "client": k == "client", "reject": k == "reject", "qmgr": k == "qmgr",
        "pickup": k == "pickup", "sar": k.is_in(["subject", "action", "reject"]),
        "subject": k == "subject", "action": k == "action", "message_id": k == "message_id",
        "ndr_of": k == "ndr_of",
        # The bounce notice Postfix sent the sender (not a delay warning, not the
        # postmaster's copy): the sender's answer to "was I told?" (lab S02, R18, R27).
        "ndr": (k == "ndr") & (pl.col("status") == "sender non-delivery"),
    }
    wanted = {
        "client_host": ("client", "reject"), "client_ip": ("client", "reject"),
        "sasl_user": ("client",), "program": ("client", "reject"),
        "sender": ("qmgr", "pickup", "sar"), "size": ("qmgr",), "nrcpt": ("qmgr",),
        "message_id": ("message_id",), "subject_raw": ("subject",), "helo": ("sar",),
        "status": ("action",), "text": ("action",), "dsn": ("action",),
        "recipient": ("action", "subject"), "link_qid": ("ndr_of", "ndr"),
    }
    ev = ev.with_columns(
        [pl.when(masks[m]).then(pl.col(c)).alias(f"_{c}_{m}")
         for c, ms in wanted.items() for m in ms]
    )

    def first(c: str, m: str) -> pl.Expr:
        return pl.col(f"_{c}_{m}").first(ignore_nulls=True)

    def last(c: str, m: str) -> pl.Expr:
        return pl.col(f"_{c}_{m}").last(ignore_nulls=True)

    hold = (k == "hold") | ((k == "action") & pl.col("status").is_in(("hold",)))
    ev = ev.with_columns(_hold_t=pl.when(hold).then(pl.col("time")),
                         _rel_t=pl.when(k == "release").then(pl.col("time")),
                         _del_t=pl.when((k == "removed") & (pl.col("status") == "deleted"))
                         .then(pl.col("time")),
                         _exp_t=pl.when(k == "expired").then(pl.col("time")))
    return ev.group_by("host", "key").agg(
        qid=pl.col("qid").first(ignore_nulls=True),
        first_time=pl.col("time").min(),
        last_time=pl.col("time").max(),
        client_host=pl.coalesce(first("client_host", "client"), first("client_host", "reject")),
        client_ip=pl.coalesce(first("client_ip", "client"), first("client_ip", "reject")),
        sasl_user=first("sasl_user", "client"),
        smtpd=pl.coalesce(first("program", "client"), first("program", "reject")),
        pickup=(k == "pickup").any(),
        has_client=(k == "client").any(),
        m_sender=pl.coalesce(first("sender", "qmgr"), first("sender", "pickup"),
                             first("sender", "sar")),
        size=last("size", "qmgr"),
        nrcpt=last("nrcpt", "qmgr"),
        message_id=last("message_id", "message_id"),
        subject_raw=first("subject_raw", "subject"),
        helo=first("helo", "sar"),
        action=last("status", "action"),
        action_text=last("text", "action"),
        action_dsn=last("dsn", "action"),
        action_rcpt=first("recipient", "action"),
        subject_rcpt=first("recipient", "subject"),
        hold_time=pl.col("_hold_t").max(),
        release_time=pl.col("_rel_t").max(),
        removed=(k == "removed").any(),
        deleted_time=pl.col("_del_t").max(),
        expired_time=pl.col("_exp_t").max(),
        ndr_of=first("link_qid", "ndr_of"),
        notice=first("link_qid", "ndr"),
    )


def _join_dovecot(rows: pl.DataFrame, dv: pl.DataFrame) -> pl.DataFrame:
    """Dovecot delivery per row: by LMTP session id, else by message-id + user.

    Not keyed by host: Postfix on an MX hands mail over LMTP to Dovecot on a mailbox
    server, and the session id (random, 22 characters) is what both sides log.
    """
    dv = dv.select([pl.col(c).cast(t) for c, t in DOVECOT_COLUMNS.items()])
    dv = dv.rename({c: f"dv_{c}" for c in dv.columns if c not in ("host",)})
    dv = dv.drop("host")
    by_session = dv.filter(pl.col("dv_session").is_not_null()).unique(
        ["dv_session"], keep="last", maintain_order=True
    )
    rows = rows.join(by_session, left_on="session", right_on="dv_session", how="left")
    user_key = pl.col("rcpt").str.replace(r"\+[^@]*@", "@")
    rows = rows.with_columns(_user=user_key)
    fb = dv.unique(["dv_message_id", "dv_user"], keep="last", maintain_order=True)
    fb = fb.rename({c: f"fb_{c}" for c in fb.columns})
    rows = rows.join(
        fb, left_on=["message_id", "_user"], right_on=["fb_dv_message_id", "fb_dv_user"],
        how="left",
    )
    use_fb = pl.col("dv_time").is_null() & pl.col("fb_dv_time").is_not_null() & pl.col("is_local")
    cols = [c for c in DOVECOT_COLUMNS if c not in ("host", "session", "message_id", "user")]
    return rows.with_columns(
        [pl.when(use_fb).then(pl.col(f"fb_dv_{c}")).otherwise(pl.col(f"dv_{c}")).alias(f"dv_{c}")
         for c in cols]
    ).drop([c for c in rows.columns if c.startswith("fb_")] + ["_user"])


def _join_verdicts(
    msgs: pl.DataFrame, verdicts: pl.DataFrame, findings: pl.DataFrame
) -> pl.DataFrame:
    """Rspamd verdict by (queue id, message-id), else (host, queue id); clamav-milter by qid.

    The envelope (``sp_rcpts``, which adds rows) is taken only from a scan near the
    message's first line (Rspamd scans during the SMTP session), and only from the
    (queue id, message-id) match, or from the (host, queue id) one when neither side has
    a Message-ID (Rspamd logs `<undef>`): a queue id is reused, and a stray line of
    another instance of it must not lend that message's recipients to this one.
    """
    rows = msgs
    v = verdicts.select(
        "host", "qid", "message_id", sp_action="action", sp_score="score", sp_virus="virus",
        sp_forced="forced_text", sp_user="user", sp_rcpts="rcpts", sp_time="time",
    )
    by_mid = v.filter(pl.col("message_id").is_not_null()).unique(
        ["qid", "message_id"], keep="last", maintain_order=True).drop("host")
    rows = rows.join(by_mid, on=["qid", "message_id"], how="left")
    by_host = v.unique(["host", "qid"], keep="last", maintain_order=True)
    by_host = by_host.rename({c: f"h_{c}" for c in by_host.columns if c.startswith("sp_")}
                             | {"message_id": "h_mid"})
    rows = rows.join(by_host, on=["host", "qid"], how="left")
    miss = pl.col("sp_action").is_null()
    no_ids = pl.col("message_id").is_null() & pl.col("h_mid").is_null()
    rows = rows.with_columns(
        [pl.when(miss).then(pl.col(f"h_{c}")).otherwise(pl.col(c)).alias(c)
         for c in ("sp_action", "sp_score", "sp_virus", "sp_forced", "sp_user")],
        sp_rcpts=pl.when(miss & no_ids).then(pl.col("h_sp_rcpts")).otherwise(pl.col("sp_rcpts")),
        sp_time=pl.when(miss & no_ids).then(pl.col("h_sp_time")).otherwise(pl.col("sp_time")),
    )
    near = (pl.col("sp_time") - pl.col("first_time")).abs() <= SCAN_WINDOW
    rows = rows.with_columns(sp_rcpts=pl.when(near).then(pl.col("sp_rcpts"))).drop(
        ["sp_time", "h_mid"] + [c for c in rows.columns if c.startswith("h_sp_")])
    cm = findings.filter(pl.col("qid").is_not_null()).unique(["host", "qid"], keep="last")
    return rows.join(cm.select("host", "qid", cm_virus="virus"), on=["host", "qid"], how="left")


def _join_relays(msgs: pl.DataFrame, relays: pl.DataFrame | None) -> pl.DataFrame:
    """The user Dovecot's submission service relayed a message for, by queue id.

    Not by host (the MTA may be another machine), so only a relay near the message's
    first line counts: a short queue id is reused, and another instance of it must not
    lend this message a user.
    """
    if relays is None or relays.height == 0:
        return msgs.with_columns(relay_user=pl.lit(None, pl.String))
    r = relays.filter(pl.col("qid").is_not_null()).select(
        "qid", relay_user="user", relay_time="time")
    rows = msgs.join(r, on="qid", how="left")
    gap = (pl.col("relay_time") - pl.col("first_time")).abs()
    rows = rows.with_columns(relay_user=pl.when(gap <= RELAY_WINDOW).then(pl.col("relay_user")),
                             _gap=gap)
    # One row per key: the nearest relay if a reused queue id matched several.
    return (rows.sort(pl.col("relay_user").is_null(), "_gap", nulls_last=True,
                      maintain_order=True)
            .unique(["host", "key"], keep="first", maintain_order=True)
            .drop("relay_time", "_gap"))


def correlate(
    ev: pl.DataFrame,
    verdicts: pl.DataFrame,
    deliveries: pl.DataFrame,
    findings: pl.DataFrame,
    relays: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All events of some keys -> (received, sent) rows conforming to the schema.

    Both frames carry one extra column, ``_key`` (the key each row came from).
    Address verification probes give no rows: nobody sent them (lab R23, where they
    showed as sent mail from double-bounce@, "queued" for ever).
    """
    probes = ev.filter((pl.col("kind") == "delivery")
                       & pl.col("status").is_in(VERIFY_STATUSES)).select("host", "key")
    if probes.height:
        ev = ev.join(probes.unique(), on=["host", "key"], how="anti")
    if ev.height == 0:
        return (schema.empty("received").with_columns(_key=pl.lit(None, pl.String)),
                schema.empty("sent").with_columns(_key=pl.lit(None, pl.String)))
    # Verdicts are per message: joined once per key, before the rows multiply them.
    msgs = _join_relays(_join_verdicts(messages(ev), verdicts, findings), relays)
    rows = expire(recipients(ev, msgs).join(msgs, on=["host", "key"], how="left"))
    rows = rows.with_columns(
        is_local=pl.col("agent").is_in(LOCAL_AGENTS).fill_null(False),
        submitted=pl.col("sasl_user").is_not_null()
        | pl.col("relay_user").is_not_null()
        | pl.col("pickup")
        | (pl.col("smtpd").str.contains(SUBMISSION).fill_null(False) & ~pl.col("has_client")),
    ).with_columns(
        inbound=~pl.col("submitted") & (pl.col("has_client") | pl.col("smtpd").is_not_null()),
        # Forwarded by the MTA: an alias of ours names an outside address, so Postfix hands
        # the message to smtp with `orig_to=` our address (lab R26). It is our user's mail.
        mta_forward=(pl.col("agent") == "smtp").fill_null(False)
        & (pl.col("orig_to").str.to_lowercase()
           != pl.col("recipient").str.to_lowercase()).fill_null(False),
    )
    rows = _join_dovecot(rows, deliveries)
    rows = merge_subjects(rows, "subject_raw", "dv_subject")
    rows = _outcome(rows)
    rows = _ids(rows)
    received = rows.filter(pl.col("inbound") | pl.col("is_local") | pl.col("mta_forward") | (
        ~pl.col("submitted") & ~pl.col("inbound") & pl.col("agent").is_null()))
    sent = rows.filter(pl.col("submitted") | (~pl.col("inbound") & ~pl.col("is_local")
                                              & pl.col("agent").is_not_null()))
    return _received_view(received), _sent_view(sent)


def _outcome(rows: pl.DataFrame) -> pl.DataFrame:
    """Shared outcome facts of a row: reject, hold, delivery state, texts, virus."""
    action = pl.col("action")
    rejected_msg = action.is_in(["reject"]).fill_null(False)
    held = (
        pl.col("hold_time").is_not_null()
        & (pl.col("release_time").is_null() | (pl.col("release_time") < pl.col("hold_time")))
        & pl.col("d_status").is_null()
    )
    virus = pl.coalesce(
        pl.col("sp_virus"), pl.col("cm_virus"),
        pl.coalesce(pl.col("r_text"), pl.col("action_text")).str.extract(
            r"(?i)(?:virus found: \"([^\"]+)\"|infected(?: by|:) ?(\S+))", 1),
    )
    # Deleted by an administrator (`postsuper -d`) before this recipient was done: not
    # queued any more, and never delivered (a recipient delivered before stays delivered).
    deleted = (
        pl.col("deleted_time").is_not_null()
        & (pl.col("d_status").is_null() | (pl.col("d_status") == "deferred"))
    )
    return rows.with_columns(
        is_rejected=pl.col("r_status").is_not_null()
        | (rejected_msg & pl.col("d_status").is_null()),
        is_held=held,
        is_deleted=deleted & pl.col("r_status").is_null() & ~rejected_msg,
        deleted_text=pl.concat_str(
            pl.lit(schema.QUEUE_DELETED),
            pl.when(pl.col("d_status") == "deferred")
            .then(pl.concat_str(pl.lit("; last attempt: "), pl.col("d_text")))
            .otherwise(pl.lit("")),
        ),
        virus=virus,
        sender=pl.coalesce("m_sender", "r_sender").str.to_lowercase(),
        recipient=pl.col("recipient").str.to_lowercase(),
        reject_text=pl.coalesce(
            pl.col("r_text").str.replace(r"^\d{3} (?:\d\.\d+\.\d+ )?(?:<[^>]*>: )?", ""),
            pl.when(rejected_msg).then(pl.col("action_text")),
        ),
        reject_dsn=pl.coalesce(
            "r_dsn", pl.when(rejected_msg).then(pl.col("action_dsn")), "dsn"
        ),
        blocked=(rejected_msg | action.is_in(["discard"]).fill_null(False))
        | pl.col("sp_action").is_in(["reject", "discard"]).fill_null(False),
        time=pl.coalesce("first_time", "seen"),
    ).with_columns(
        sender=pl.when(pl.col("sender") == "").then(None).otherwise(pl.col("sender")),
    )


def _ids(rows: pl.DataFrame) -> pl.DataFrame:
    """Stable ids: ``<host>-<YYYYMMDDHHMMSS>-<queue id or NOQUEUE-pid>-<n>``.

    The stamp is the key's first event (queue ids get reused, so the second is part of
    the identity); `n` ranks the key's recipients by first sight, then address.
    """
    rows = rows.sort("host", "key", "seen", "rcpt", nulls_last=True)
    n = pl.int_range(1, pl.len() + 1).over("host", "key")
    parts = pl.col("key").str.split_exact("@", 1)
    base, stamp = parts.struct.field("field_0"), parts.struct.field("field_1")
    return rows.with_columns(
        _idtail=pl.concat_str(
            pl.col("host").fill_null("unknown"), stamp, base, n.cast(pl.String), separator="-",
        )
    )


def _bounce_links() -> dict[str, pl.Expr]:
    """The queue ids that tie a bounce to its notice: `bounce_notice` on the rows that
    bounced (the notice is about them, not about the message's delivered recipients),
    `bounce_of` on the notice's own rows."""
    bounced = pl.col("d_status").is_in(["bounced", "expired"]).fill_null(False)
    return {"bounce_notice": pl.when(bounced).then(pl.col("notice")),
            "bounce_of": pl.col("ndr_of")}


def _received_view(r: pl.DataFrame) -> pl.DataFrame:
    # An MTA forward's row is about our address (orig_to), forwarded to the one delivered to.
    fwd = pl.col("mta_forward")
    r = r.with_columns(
        recipient=pl.when(fwd).then(pl.col("orig_to").str.to_lowercase())
        .otherwise(pl.col("recipient")),
        dv_forwarded_to=pl.when(fwd).then(pl.col("recipient"))
        .otherwise(pl.col("dv_forwarded_to")),
    )
    st = pl.col("d_status")
    flagged = pl.col("sp_action").is_in(SPAM_ACTIONS).fill_null(False) & pl.col(
        "dv_folder").str.contains(SPAM_FOLDER).fill_null(False)
    discarded = pl.col("dv_discarded").fill_null(False) | pl.col("action").eq(
        "discard").fill_null(False)
    status = (
        pl.when(pl.col("is_rejected")).then(pl.lit("rejected"))
        .when(pl.col("is_held")).then(pl.lit("quarantined"))
        .when(discarded & pl.col("virus").is_not_null()).then(pl.lit("rejected"))
        .when(flagged & (st == "sent")).then(pl.lit("quarantined"))
        .otherwise(pl.lit("accepted"))
    )
    delivery = (
        pl.when(pl.col("is_rejected")).then(None)
        .when(pl.col("is_deleted")).then(pl.lit("deleted"))
        .when(pl.col("is_held")).then(pl.lit("held"))
        .when(discarded).then(pl.lit("discarded"))
        .when(st == "sent").then(
            pl.when(pl.col("dv_forwarded_to").is_not_null() & pl.col("dv_folder").is_null())
            .then(pl.lit("forwarded")).otherwise(pl.lit("delivered")))
        .when(st == "deferred").then(pl.lit("deferred"))
        .when(st.is_in(["bounced", "expired"])).then(pl.lit("bounced"))
    )
    reason = (
        pl.when(pl.col("is_rejected")).then(pl.col("reject_text"))
        .when(pl.col("is_held")).then(pl.coalesce(
            pl.when(pl.col("sp_action") == "quarantine").then(pl.col("sp_forced")),
            pl.col("action_text")))
        .when(flagged & (st == "sent")).then(pl.concat_str(
            pl.lit("spam: "), pl.col("sp_action"),
            pl.when(pl.col("sp_score").is_not_null())
            .then(pl.format(" (score {})", pl.col("sp_score"))).otherwise(pl.lit(""))))
        .when(discarded).then(pl.col("action_text"))
        .when(pl.col("is_deleted")).then(pl.col("deleted_text"))
        .when(st.is_in(["deferred", "bounced", "expired"])).then(pl.col("d_text"))
    )
    out = r.with_columns(
        id=pl.concat_str(pl.lit("r-"), pl.col("_idtail")),
        status=status,
        delivery=delivery,
        reason=reason,
        domain=schema.domain_of(pl.col("recipient")),
        server=pl.col("host"),
        queue_id=pl.col("qid"),
        folder=pl.col("dv_folder"),
        forwarded_to=pl.col("dv_forwarded_to"),
        auto_reply=pl.col("dv_auto_reply"),
        filter_rule=pl.col("dv_filter_rule"),
        spam_action=pl.col("sp_action"),
        spam_score=pl.col("sp_score"),
        dsn=pl.coalesce(pl.when(pl.col("is_rejected")).then(pl.col("reject_dsn")), pl.col("dsn")),
        size=pl.coalesce("size", "dv_size"),
        orig_recipient=pl.col("orig_to").str.to_lowercase(),
        **_bounce_links(),
    )
    return schema.conform("received", out).with_columns(_key=out.get_column("key"))


def _sent_view(s: pl.DataFrame) -> pl.DataFrame:
    st = pl.col("d_status")
    rejected = (pl.col("is_rejected") | st.is_in(["bounced", "expired"]).fill_null(False)
                | pl.col("is_deleted"))
    status = (
        pl.when(rejected).then(pl.lit("rejected"))
        .when(st == "sent").then(pl.lit("delivered"))
        .otherwise(pl.lit("queued"))
    )
    reason = (
        pl.when(pl.col("is_rejected")).then(pl.col("reject_text"))
        .when(pl.col("is_deleted")).then(pl.col("deleted_text"))
        .when(st.is_in(["bounced", "expired", "deferred"])).then(pl.col("d_text"))
        .when(pl.col("is_held")).then(pl.coalesce("sp_forced", "action_text"))
    )
    relay = pl.col("relay")
    out = s.with_columns(
        id=pl.concat_str(pl.lit("s-"), pl.col("_idtail")),
        status=status,
        reason=reason,
        domain=schema.domain_of(pl.col("sender")),
        account=pl.coalesce(
            pl.col("sasl_user"), pl.col("relay_user"), pl.col("sp_user"),
            pl.col("reject_text").str.extract(r"not owned by user (\S+)", 1),
        ).str.to_lowercase(),
        server=pl.col("host"),
        queue_id=pl.col("qid"),
        relay_host=relay.str.extract(r"^([^\[,]+)", 1).replace("none", None),
        relay_ip=relay.str.extract(r"\[([0-9a-fA-F.:]+)\]", 1),
        relay_port=relay.str.extract(r"\]:(\d+)$", 1).cast(pl.Int64, strict=False),
        dsn=pl.coalesce(pl.when(pl.col("is_rejected")).then(pl.col("reject_dsn")), pl.col("dsn")),
        spam_action=pl.col("sp_action"),
        spam_score=pl.col("sp_score"),
        size=pl.coalesce("size", "dv_size"),
        **_bounce_links(),
    )
    return schema.conform("sent", out).with_columns(_key=out.get_column("key"))
