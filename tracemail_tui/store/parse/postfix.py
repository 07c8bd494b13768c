"""Postfix lines -> one events frame (one row per understood line).

Lines are first split by service (the part of ``program`` after the last ``/``, so
``postfix/submission/smtpd`` and multi-instance ``postfix-out/smtp`` work), then each
kind is recognised with an anchored prefix test and its fields taken with small
anchored ``str.extract`` calls. Nothing here loops over lines in Python.

Every event carries ``host`` and, when the line has one, the queue id ``qid``: a queue
id is never guessed from another line. Known diagnostics (connect/disconnect, TLS,
warnings, ...) are counted as *ignored*; anything else is *unparsed*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from tracemail_tui.store.schema import TS, to_columns
from tracemail_tui.store.stats import sample_of

# Short ids are upper-case hex; long ids (enable_long_queue_ids) are base-52 with a "z".
_B52: Final = "[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]"  # digits and consonants, no "z"
QID: Final = rf"(?:[0-9A-F]{{6,12}}|{_B52}{{8,16}}z{_B52}{{2,12}})"
_QID_PREFIX: Final = rf"^({QID}): "

EVENTS: Final[dict[str, pl.DataType]] = {
    "time": TS,
    "host": pl.String(),
    "program": pl.String(),
    "pid": pl.String(),
    "qid": pl.String(),
    "kind": pl.String(),
    "client_host": pl.String(),
    "client_ip": pl.String(),
    # postscreen's NOQUEUE rejects name the client as "[ip]:port": one postscreen process
    # serves every client, so the port tells apart rejects of the same second (lab R34/R35)
    "client_port": pl.String(),
    "sasl_method": pl.String(),
    "sasl_user": pl.String(),
    "sender": pl.String(),
    "recipient": pl.String(),
    "orig_to": pl.String(),
    "size": pl.Int64(),
    "nrcpt": pl.Int64(),
    "message_id": pl.String(),
    "subject_raw": pl.String(),
    "helo": pl.String(),
    "relay": pl.String(),
    "delay": pl.Float64(),
    "dsn": pl.String(),
    "status": pl.String(),  # delivery status, or the action of a reject/hold/discard
    "text": pl.String(),  # reply / reason text
    "stage": pl.String(),  # RCPT, END-OF-MESSAGE, header, ...
    "session": pl.String(),  # Dovecot LMTP session id from the 250 reply
    "link_qid": pl.String(),  # bounce: the notice's queue id; delivery: "queued as" id
}

# Event kinds (the `kind` column).
KINDS: Final = (
    "client", "pickup", "subject", "message_id", "action", "qmgr", "removed", "expired",
    "delivery", "ndr", "ndr_of", "reject", "sasl_fail", "disconnect", "hold", "release",
    "deleted", "lost",
)

# Known lines that carry nothing the views need (counted as ignored, not unparsed).
_IGNORED: Final = (
    r"^(?:connect|disconnect) from |^(?:Anonymous|Trusted|Untrusted|Verified) TLS connection |"
    r"^lost connection |^timeout after |^too many errors |^(?:warning|error|fatal|panic): |"
    r"^improper command pipelining |^daemon started|^starting the Postfix|^stopping the Postfix|"
    r"^refreshing the Postfix|^reload |^terminating on signal|^statistics: |^SSL_accept error|"
    r"^waiting for the Postfix|^the Postfix mail system is |^Postfix is (?:using|running) |"
    r"^See http://www\.postfix\.org/COMPATIBILITY|^To disable backwards compatibility |"
    r"^(?:CONNECT|PASS NEW|PASS OLD|DNSBL rank|HANGUP|DISCONNECT|WHITELISTED|PREGREET|BARE NEWLINE|"
    r"COMMAND PIPELINING|NON-SMTP COMMAND|COMMAND TIME LIMIT|WHITELIST VETO|BLACKLISTED|"
    r"ALLOWLISTED|"
    r"DENYLISTED|ALLOWLIST VETO|cache) |^(?:Placed on hold|Released from hold|Deleted|Requeued): |"
    # One MX of several failed (smtp_site_fail): the recipient's to= line tells the end.
    rf"^{QID}: (?:host |conversation with |lost connection |enabling PIX |skipped, |"
    r"Cannot start TLS: |TLS is required, but |Server certificate not |"
    r"SASL authentication failed; |"
    rf"resent-message-id=|replace: |prepend: |(?:warning|info): (?:header|body) |"
    rf"sender delivery status notification|postmaster (?:non-)?delivery|uid=\d+ )|"
    r"^connect to |^mapping DSN |^setting up TLS|^Host offered STARTTLS|^NOQUEUE: (?:lost|filter)|"
    r"^addr \S+ listed by domain "  # postscreen's dnsblog: the verdict comes from postscreen
)

# What cleanup appends to a logged header: " from CLIENT; from=<S> to=<R>[ proto=P
# helo=<H>][: TEXT]". Anchored at the end, and addresses cannot hold "<" or ">".
_TAIL: Final = (
    r"(?<_tail> from (?:local|[^\[\s]*\[[^\]]*\](?::\d+)?); from=<(?<sender>[^<>]*)> "
    r"to=<(?<recipient>[^<>]*)>(?: proto=\S+ helo=<(?<helo>[^<>]*)>)?(?:: (?<_ttext>[^<>]*))?)$"
)


@dataclass
class PostfixEvents:
    """Parsed Postfix events plus per-program counts of lines not turned into events."""

    events: pl.DataFrame
    ignored: pl.DataFrame  # program, n
    unparsed: pl.DataFrame  # program, n
    samples: pl.DataFrame | None = None  # program, sample (a few unparsed messages each)


def _client(expr: pl.Expr, key: str) -> dict[str, Any]:
    """``name[ip]`` after `key` (e.g. "client=") -> client_host, client_ip (typed Any:
    they are spread into `take(**cols)` next to its other parameters)."""
    return {
        "client_host": expr.str.extract(rf"{key}([^\[\s,;]*)\[", 1),
        "client_ip": expr.str.extract(rf"{key}[^\[\s,;]*\[([^\]]*)\]", 1),
    }


def _service(lines: pl.DataFrame) -> pl.Expr:
    """The part of ``program`` after the last ``/``: a lookup over the few distinct names."""
    progs = lines.get_column("program").drop_nulls().unique()
    svc = progs.str.extract(r"([^/]+)$", 1)
    return pl.col("program").replace_strict(
        dict(zip(progs.to_list(), svc.to_list(), strict=True)), default=None,
        return_dtype=pl.String,
    )


def parse(lines: pl.DataFrame, *, sessions: bool = True) -> PostfixEvents:
    """Parse the Postfix lines of a lines frame (other programs are left alone).

    `sessions=False` skips what only the accesses view uses (SMTP AUTH failures and
    smtpd disconnects): those lines are then counted as ignored, like other chatter.
    """
    pf = lines.filter(pl.col("program").str.starts_with("postfix")).with_row_index("_i").select(
        "_i", "time", "host", "program", "pid", "msg",
        service=_service(lines),
        qid=pl.col("msg").str.extract(_QID_PREFIX, 1),
    )
    msg = pl.col("msg")
    # Text after "QID: " (or the whole message when there is none).
    pf = pf.with_columns(
        body=pl.when(pl.col("qid").is_not_null())
        .then(msg.str.slice(pl.col("qid").str.len_chars() + 2))
        .otherwise(msg)
    )
    body = pl.col("body")
    svc = pl.col("service")
    has_q = pl.col("qid").is_not_null()
    parts: list[pl.DataFrame] = []
    # Every kind but rejects is either with or without a queue id: test each on its half
    # (one split instead of ~17 tests over all lines), regex tests behind a cheap `pre`.
    withq, noqid = pf.filter(has_q), pf.filter(~has_q)

    def take(cond: pl.Expr, kind: str, groups: str | None = None, src: pl.Expr = body,
             frame: pl.DataFrame | None = None, pre: pl.Expr | None = None,
             **cols: pl.Expr | str) -> None:
        """Events of one kind: rows of `frame` (default all) matching `pre` then `cond`;
        `groups` (named groups, one regex pass on `src`) feeds columns of the same name,
        `cols` computes the rest."""
        sub = pf if frame is None else frame
        if pre is not None:
            sub = sub.filter(pre)
        sub = sub.filter(cond)
        if sub.height == 0:
            return
        names: list[str] = []
        if groups is not None:
            sub = sub.with_columns(_g=src.str.extract_groups(groups)).unnest("_g")
            names = [n for n in sub.columns if n in EVENTS and n not in pf.columns]
        parts.append(sub.select("_i", "time", "host", "program", "pid", "qid", *names,
                                kind=pl.lit(kind), **cols))

    # --- deliveries (any delivery agent, also qmgr status lines): "QID: to=<..>, ..."
    take(
        body.str.starts_with("to=<"),
        "delivery",
        r"^to=<(?<recipient>[^>]*)>(?:, orig_to=<(?<orig_to>[^>]*)>)?, relay=(?<relay>[^,]*),"
        r"(?: [a-z_]+=[^,]*,)*? delay=(?<_delay>[\d.]+),(?: [a-z_]+=[^,]*,)*? "
        r"dsn=(?<dsn>[\d.]+), status=(?<status>\w+)(?: \((?<text>.*)\))?$",
        frame=withq,
        delay=pl.col("_delay").cast(pl.Float64, strict=False),
        session=pl.col("text").str.extract(r"<[^>]*> ([A-Za-z0-9+/]{16,}(?::R\d+)?) Saved$", 1),
        link_qid=pl.col("text").str.extract(rf"queued as ({QID})$", 1),
    )
    # --- qmgr
    take(
        body.str.contains(", size=", literal=True),
        "qmgr",
        frame=withq,
        pre=(svc == "qmgr") & body.str.starts_with("from=<"),
        sender=body.str.extract(r"^from=<([^>]*)>", 1),
        size=body.str.extract(r", size=(\d+)", 1).cast(pl.Int64, strict=False),
        nrcpt=body.str.extract(r", nrcpt=(\d+)", 1).cast(pl.Int64, strict=False),
    )
    # qmgr removes a message once every recipient is done; postsuper's "removed" is an
    # administrator deleting it (`postsuper -d`), finished or not (lab R22, S09).
    take((body == "removed") & svc.is_in(["qmgr", "postsuper"]), "removed", frame=withq,
         status=pl.when(svc == "postsuper").then(pl.lit("deleted")).otherwise(pl.lit("removed")))
    take(
        body.str.contains(r"^from=<[^>]*>, status=expired"),
        "expired",
        frame=withq,
        pre=(svc == "qmgr") & body.str.contains(", status=expired", literal=True),
        sender=body.str.extract(r"^from=<([^>]*)>", 1),
        status=pl.lit("expired"),
        text=body.str.extract(r"status=expired, (.*)$", 1),
    )
    postsuper = withq.filter(svc == "postsuper")
    take(body.str.starts_with("placed on hold"), "hold", frame=postsuper,
         status=pl.lit("hold"), text=pl.lit("placed on hold by postsuper"))
    take(body.str.starts_with("released from hold"), "release", frame=postsuper)
    take(body.str.starts_with("requeued"), "release", frame=postsuper)
    # --- smtpd
    take(
        body.str.starts_with("client="),
        "client",
        frame=withq,
        **_client(body, "client="),
        sasl_method=body.str.extract(r", sasl_method=([^,]*)", 1),
        sasl_user=body.str.extract(r", sasl_username=([^,]*)", 1),
    )
    reject = body.str.contains(
        r"^(?:reject|discard|hold|redirect): "
        r"(?:RCPT|MAIL|DATA|END-OF-MESSAGE|CONNECT|HELO|EHLO|ETRN|VRFY|BDAT|UNKNOWN) from "
    )
    noq = msg.str.starts_with("NOQUEUE: ")
    rbody = pl.when(noq).then(msg.str.slice(9)).otherwise(body)
    reject_words = pl.any_horizontal(
        *(body.str.starts_with(w) for w in ("reject: ", "discard: ", "hold: ", "redirect: "))
    )
    # Without a queue id also a milter's reject at RCPT or MAIL, and (with
    # smtpd_delay_reject=no) rejects at CONNECT or HELO, which name no sender, recipient or
    # HELO: "NOQUEUE: reject: CONNECT from unknown[IP]: 554 5.7.1 ...; proto=SMTP" (lab).
    take(
        (has_q | noq) & pl.when(noq).then(msg.str.slice(9).str.contains(
            r"^(?:milter-)?(?:reject|discard|hold|redirect): \S+ from ")).otherwise(reject),
        "reject",
        r"^(?:milter-)?(?<status>\w+): (?<stage>\S+) from (?<client_host>[^\[\s]*)\["
        r"(?<client_ip>[^\]]*)\](?::(?<client_port>\d+))?: (?<_rtext>.*); "
        r"(?:from=<(?<sender>[^<>]*)>,? "
        r"(?:to=<(?<recipient>[^<>]*)>,? )?)?proto=\S+(?:,? helo=<(?<helo>[^<>]*)>)?$",
        src=rbody,
        pre=noq | (has_q & reject_words),
        dsn=pl.col("_rtext").str.extract(r"^\d{3} (\d\.\d+\.\d+) ", 1),
        text=pl.col("_rtext"),
    )
    if sessions:
        _sessions(take, body, svc, noqid)
    # --- cleanup
    # A message without a Message-ID header is logged as `message-id=<>` (seen from
    # Postfix 3.7): that is no id, not an id to join on.
    mid = body.str.slice(11).str.strip_chars()
    take(body.str.starts_with("message-id="), "message_id", frame=withq,
         message_id=pl.when(~mid.is_in(["", "<>"])).then(mid))
    subj = body.str.contains(r"^\w+: header Subject: ")
    # The header value is everything between the prefix and Postfix's own tail; the tail
    # is matched anchored at the end (cheap, and a hostile header cannot fake it).
    take(
        subj,
        "subject",
        _TAIL,
        frame=withq,
        pre=body.str.contains(": header Subject: ", literal=True),
        subject_raw=body.str.slice(
            body.str.find(": header Subject: ", literal=True) + 18,
            body.str.len_chars() - pl.col("_tail").str.len_chars()
            - body.str.find(": header Subject: ", literal=True) - 18,
        ),
    )
    take(
        body.str.contains(r"^(?:hold|discard|reject|redirect|filter): (?:header|body) "),
        "action",
        _TAIL,
        frame=withq,
        pre=body.str.contains(": header ", literal=True)
        | body.str.contains(": body ", literal=True),
        status=body.str.extract(r"^(\w+):", 1),
        stage=body.str.extract(r"^\w+: (header|body) ", 1),
        dsn=pl.col("_ttext").str.extract(r"^(\d\.\d+\.\d+) ", 1),
        text=pl.coalesce(
            pl.col("_ttext").str.extract(r"^(?:\d\.\d+\.\d+ )?(.+)$", 1),
            body.str.slice(body.str.find(": ", literal=True) + 2,
                           body.str.len_chars() - pl.col("_tail").str.len_chars()
                           - body.str.find(": ", literal=True) - 2).str.slice(0, 80),
        ),
    )
    take(
        body.str.contains(r"^milter-(?:reject|hold|discard): "),
        "action",
        r"^milter-(?<status>\w+): (?<stage>\S+) from (?<client_host>[^\[\s]*)\["
        r"(?<client_ip>[^\]]*)\](?::\d+)?: (?<_mtext>.*); from=<(?<sender>[^<>]*)> "
        r"to=<(?<recipient>[^<>]*)>(?: proto=\S+ helo=<(?<helo>[^<>]*)>)?$",
        frame=withq,
        pre=body.str.starts_with("milter-"),
        dsn=pl.col("_mtext").str.extract(r"^(?:\d{3} )?(\d\.\d+\.\d+) ", 1),
        text=pl.col("_mtext").str.extract(r"^(?:\d{3} )?(?:\d\.\d+\.\d+ )?(.*)$", 1),
    )
    # The client went away (or timed out) in the middle of DATA: smtpd logs it without a
    # queue id and cleanup drops the unfinished queue file, so the message was never
    # received. The engine links the line to its queue id by the smtpd process
    # (`correlate/lost.py`); "after END-OF-MESSAGE" is not taken: that message may be queued.
    take(
        (svc == "smtpd") & body.str.contains(
            r"^(?:lost connection|timeout) after (?:DATA|BDAT)(?: \(\d+ bytes\))? from "),
        "lost",
        frame=noqid,
        pre=body.str.starts_with("lost connection after ") | body.str.starts_with("timeout after "),
        text=body.str.extract(r"^(.*?) from ", 1),
    )
    # A message over message_size_limit whose client announced no SIZE: smtpd (and at
    # times cleanup) log "warning: QID: queue file size limit exceeded", the client is told
    # "552 5.3.4 Error: message file too big", and no reject line nor "removed" follows
    # (lab scenario R19).
    big = noqid.filter(body.str.starts_with("warning: ")).filter(
        body.str.contains(rf"^warning: {QID}: queue file size limit exceeded$"))
    if big.height:
        parts.append(big.select(
            "_i", "time", "host", "program", "pid",
            qid=body.str.extract(rf"^warning: ({QID}):", 1),
            kind=pl.lit("action"), status=pl.lit("reject"), stage=pl.lit("END-OF-MESSAGE"),
            dsn=pl.lit("5.3.4"),
            text=pl.lit("message file too big (queue file size limit exceeded)"),
        ))
    # --- pickup, bounce
    take(
        (svc == "pickup") & body.str.starts_with("uid="),
        "pickup",
        frame=withq,
        sender=body.str.extract(r"from=<([^>]*)>", 1),
    )
    # A bounce notice, or (delay_warning_time) a "still being retried" notice: a message
    # of its own, linked to the one it is about (lab, Postfix 3.7, for both).
    ndr = body.str.contains(
        rf"^(?:sender|postmaster) (?:non-delivery|delay) notification: {QID}$")
    ndr_pre = body.str.contains(" notification: ", literal=True)
    take(ndr, "ndr", frame=withq, pre=ndr_pre,
         link_qid=body.str.extract(rf"notification: ({QID})$", 1),
         status=body.str.extract(r"^(\w+ [\w-]+) notification", 1))  # "sender non-delivery"
    # The notice's own key learns where it came from (its origin is not smtpd/pickup).
    sub = withq.filter(ndr_pre).filter(ndr)
    if sub.height:
        parts.append(sub.select(
            "_i", "time", "host", "program", "pid",
            qid=body.str.extract(rf"notification: ({QID})$", 1),
            kind=pl.lit("ndr_of"),
            link_qid=pl.col("qid"),
        ))

    events = (
        pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame(schema=EVENTS)
    )
    # Count what was not understood, per program.
    seen = events.get_column("_i").unique().implode() if parts else None
    rest = pf.filter(~pl.col("_i").is_in(seen)) if seen is not None else pf
    events = _conform(events)
    rest = rest.with_columns(ign=msg.str.contains(_IGNORED))
    counts = rest.group_by("program", "ign").len("n")
    # Samples of the (few) unparsed lines only: ignored ones are a third of Postfix's.
    bad = rest.filter(~pl.col("ign"))
    return PostfixEvents(
        events=events,
        ignored=counts.filter(pl.col("ign")).select("program", "n"),
        unparsed=counts.filter(~pl.col("ign")).select("program", "n"),
        samples=bad.group_by("program").agg(sample=sample_of(msg)) if bad.height else None,
    )


def _sessions(take: Callable[..., None], body: pl.Expr, svc: pl.Expr,
              noqid: pl.DataFrame) -> None:
    """SMTP AUTH failures and smtpd disconnects (the accesses view's Postfix events)."""
    take(
        body.str.contains(r"^warning: [^\[\s]*\[[^\]]*\]: SASL \S+ authentication failed"),
        "sasl_fail",
        frame=noqid,
        pre=body.str.starts_with("warning: "),
        **_client(body, "warning: "),
        sasl_method=body.str.extract(r"SASL (\S+) authentication failed", 1),
        sasl_user=body.str.extract(r", sasl_username=(.*)$", 1),
        text=body.str.extract(r"authentication failed: (.*?)(?:, sasl_username=.*)?$", 1),
    )
    take(
        (svc == "smtpd") & body.str.starts_with("disconnect from "),
        "disconnect",
        frame=noqid,
        **_client(body, "disconnect from "),
    )


def _conform(df: pl.DataFrame) -> pl.DataFrame:
    # postscreen writes "from [ip]:port" (no name), smtpd "unknown[ip]" when the client's
    # address has no (verified) name: both are an unknown name, so null (DESIGN.md).
    no_name = pl.col("client_host").is_in(["", "unknown"])
    return to_columns(df, EVENTS).with_columns(
        client_host=pl.when(no_name).then(None).otherwise(pl.col("client_host"))
    )
