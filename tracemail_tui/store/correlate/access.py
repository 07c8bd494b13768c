"""Access rows (DESIGN.md ``accesses``): one per login session or failed login attempt.

Dovecot events are keyed by (host, session id): the login process's ``Login:`` or failure
line, the auth process's verdict (``Password mismatch`` / ``unknown user`` / ...), the
``ID sent:`` client announcement and the mail process's logout with its counters all carry
the same ``session=<...>``. Connections that never tried to log in are not accesses (the
parser keeps them in ``DovecotEvents.connections`` for stats). Auth verdicts without a
session id are Postfix SASL lookups: the SMTP AUTH rows come from Postfix's own warning
(``correlate/smtp_auth.py``), so they are not turned into rows here.

Incremental: :meth:`AccessCorrelator.feed` returns the rows of every session the chunk
touched and keeps the events of unfinished sessions (an IMAP login whose logout has not
been seen yet can stay open for days) for the next chunk. Feeding all chunks and keeping
the last row of each ``id`` gives the same result as one big chunk.

The time of a failed attempt is when it was made: the auth process's verdict when
logged (the login process reports the failure later, after anvil's penalty delay), else
the login process's failure line. Which failure word wins when a session has
several (A09 logs ``Plaintext authentication disabled`` and then ``auth failed``):
plaintext-disallowed, then many-connections, then a login-side reason that is not plain
``auth failed`` (user-disabled ...), then the auth process's verdict (unknown-user,
ip-notallowed, auth-failed), then the login-side word.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl

from tracemail_tui.store.parse.dovecot import PROTOCOL, DovecotEvents, attach_deny
from tracemail_tui.store.parse.roundcube import WebmailEvents
from tracemail_tui.store.schema import compact, conform, domain_of, empty

_EV: Final[dict[str, pl.DataType]] = {
    "host": pl.String(), "session": pl.String(), "time": pl.Datetime("us"),
    "kind": pl.String(), "proto": pl.String(), "user": pl.String(), "method": pl.String(),
    "rip": pl.String(), "lip": pl.String(), "tls": pl.Boolean(), "client": pl.String(),
    "error": pl.String(), "bytes_in": pl.Int64(), "bytes_out": pl.Int64(),
    "deleted": pl.Int64(), "expunged": pl.Int64(), "trashed": pl.Int64(),
}
_KIND_RANK: Final = {"login": 0, "fail": 1, "refused": 1, "logout": 2, "auth": 3, "id": 4}
# Sessions with no login seen are forgotten after this long without news (ID or auth
# lines of a connection whose end was not logged); logged-in sessions after OPEN_FOR.
PENDING_FOR: Final = dt.timedelta(hours=1)
OPEN_FOR: Final = dt.timedelta(days=30)
# Finished sessions are kept this long for stragglers (lines of the same second that a
# chunk boundary split, the anvil penalty delaying the login process's last word).
GRACE: Final = dt.timedelta(minutes=2)


def _frame(df: pl.DataFrame, kind: str, **cols: pl.Expr | str) -> pl.DataFrame:
    exprs = [pl.lit(kind).alias("kind")]
    for name, dtype in _EV.items():
        if name == "kind":
            continue
        src = cols.get(name, name if name in df.columns else None)
        e = pl.col(src) if isinstance(src, str) else src
        exprs.append((e if e is not None else pl.lit(None)).cast(dtype).alias(name))
    return df.select(exprs).select(list(_EV))


def session_events(ev: DovecotEvents, auth: pl.DataFrame | None = None) -> pl.DataFrame:
    """The Dovecot events that belong to a session, in one long frame (``_EV``)."""
    auth = ev.auth if auth is None else auth
    parts = [
        _frame(ev.logins, "login"),
        _frame(ev.failures.filter(pl.col("final")), "fail"),
        _frame(ev.failures.filter(~pl.col("final")), "refused"),
        _frame(auth.filter(pl.col("session").is_not_null()), "auth", rip="ip"),
        _frame(ev.ids, "id"),
        _frame(ev.logouts.filter(pl.col("session").is_not_null()), "logout"),
    ]
    out = pl.concat([p for p in parts if p.height] or [pl.DataFrame(schema=_EV)])
    return out.filter(pl.col("session").is_not_null() & (pl.col("session") != ""))


def _aggregate(ev: pl.DataFrame) -> pl.DataFrame:
    """Events of whole sessions → one access row per session (plus bookkeeping columns)."""
    k = pl.col("kind")
    ev = ev.with_columns(_rank=k.replace_strict(_KIND_RANK, default=9)).sort("time", "_rank")

    def last_of(c: str, kind: str) -> pl.Expr:
        return pl.col(c).filter(k == kind).drop_nulls().last()

    g = ev.group_by("host", "session", maintain_order=True).agg(
        has_login=(k == "login").any(),
        has_fail=(k == "fail").any(),
        has_logout=(k == "logout").any(),
        attempt=k.is_in(("login", "fail", "refused", "auth", "logout")).any(),
        t_login=pl.col("time").filter(k == "login").min(),
        t_fail=pl.col("time").filter(k.is_in(("fail", "refused"))).min(),
        t_auth=pl.col("time").filter(k == "auth").min(),
        t_first=pl.col("time").min(),
        last_seen=pl.col("time").max(),
        logout_time=pl.col("time").filter(k == "logout").max(),
        client=last_of("client", "id"),
        fail_errors=pl.col("error").filter(k.is_in(("fail", "refused"))).drop_nulls(),
        auth_error=last_of("error", "auth"),
        bytes_in=last_of("bytes_in", "logout"), bytes_out=last_of("bytes_out", "logout"),
        deleted=last_of("deleted", "logout"), expunged=last_of("expunged", "logout"),
        trashed=last_of("trashed", "logout"),
    )
    # First non-null by source preference (login > fail > ...), then time: one stable sort
    # of the frame and a join is ~3x cheaper than a sort_by inside each group.
    keys = ["host", "session"]
    best = ev.sort("_rank", "time", maintain_order=True).group_by(keys).agg(
        pl.col(c).drop_nulls().first() for c in ("user", "proto", "method", "rip", "lip", "tls"))
    g = g.join(best, on=keys, how="left", nulls_equal=True, maintain_order="left")
    fe = pl.col("fail_errors")
    specific = fe.list.eval(pl.element().filter(pl.element() != "auth-failed")).list.first()
    error = (
        pl.when(fe.list.contains("plaintext-disallowed")).then(pl.lit("plaintext-disallowed"))
        .when(fe.list.contains("many-connections")).then(pl.lit("many-connections"))
        .when(specific.is_not_null()).then(specific)
        .when(pl.col("auth_error").is_not_null()).then(pl.col("auth_error"))
        .otherwise(fe.list.first())
    )
    ok = pl.col("has_login") | (pl.col("has_logout") & ~pl.col("has_fail"))
    user = pl.col("user")
    return g.with_columns(
        id=pl.concat_str([pl.lit("a-"), pl.col("host"), pl.lit("-"), pl.col("session")]),
        time=pl.when(pl.col("has_login")).then(pl.col("t_login"))
        .otherwise(pl.coalesce(pl.min_horizontal("t_fail", "t_auth"), "t_first")),
        logout_time=pl.when(ok).then(pl.col("logout_time")),
        status=pl.when(ok).then(pl.lit("success")).otherwise(pl.lit("failed")),
        error=pl.when(ok).then(None).otherwise(error),
        domain=domain_of(user),
        protocol=pl.col("proto").replace(PROTOCOL),
        server=pl.col("host"),
        local_ip=pl.col("lip"), remote_ip=pl.col("rip"),
    )


def _status(pending: pl.DataFrame) -> pl.DataFrame:
    """Per pending session: last event time, logged in, finished (logged out, or refused
    by the login process's last word)."""
    k = pl.col("kind")
    return pending.group_by("host", "session").agg(
        last=pl.col("time").max(), login=(k == "login").any(),
        done=((k == "login").any() & (k == "logout").any())
        | (~(k == "login").any() & (k == "fail").any()),
    )


# How far back a webmail failure looks for the IMAP failure Roundcube's own login caused.
WEBMAIL_IMAP_WINDOW: Final = dt.timedelta(seconds=15)
_IMAP_FAIL: Final[dict[str, pl.DataType]] = {
    "time": pl.Datetime("us"), "user": pl.String(), "imap_error": pl.String()}


def webmail_rows(web: pl.DataFrame, imap_failures: pl.DataFrame | None = None) -> pl.DataFrame:
    """Roundcube login records → access rows (protocol ``webmail``; no logout is logged).

    Roundcube's ``(error: 0)`` only says the IMAP server refused the login; the IMAP
    failure of the same user just before it (``imap_failures``: time, user, imap_error)
    says why (unknown-user, user-disabled, ...), so a plain ``auth-failed`` takes its word.
    """
    if web.height == 0:
        return empty("accesses")
    if imap_failures is not None and imap_failures.height:
        web = web.with_row_index("_r").sort("time").join_asof(
            imap_failures.sort("time"), on="time", by="user", strategy="backward",
            tolerance=WEBMAIL_IMAP_WINDOW, check_sortedness=False,
        ).sort("_r").drop("_r")
        web = web.with_columns(error=pl.when(pl.col("error") == "auth-failed")
                               .then(pl.coalesce("imap_error", "error"))
                               .otherwise(pl.col("error")))
    stamp = pl.col("time").dt.strftime("%Y%m%d%H%M%S")
    web = web.with_columns(
        _n=pl.int_range(pl.len()).over("host", "session", stamp).cast(pl.String),
    )
    sid = pl.col("session").fill_null("")
    return conform("accesses", web.with_columns(
        id=pl.concat_str([pl.lit("a-"), pl.col("host"), pl.lit("-rc"), sid, pl.lit("-"), stamp,
                          pl.lit("-"), pl.col("_n")]),
        domain=domain_of(pl.col("user")),
        protocol=pl.lit("webmail"), server=pl.col("host"),
    ))


class AccessCorrelator:
    """Turns chunks of parsed events into access rows, carrying open sessions."""

    def __init__(self) -> None:
        self._pending = pl.DataFrame(schema=_EV)
        self._deny = pl.DataFrame()  # deny-passdb hits not yet matched to their failure
        self._imap_fail = pl.DataFrame(schema=_IMAP_FAIL)  # recent, for webmail failures
        self._nosession_seq: dict[tuple[str, str], int] = {}

    def compact(self) -> None:
        """Copy the carried sessions out of the chunks they came from (schema.compact)."""
        self._pending = compact(self._pending)
        self._imap_fail = compact(self._imap_fail)

    @property
    def open_sessions(self) -> int:
        """Sessions whose story is not finished yet (kept for the next chunk)."""
        return _status(self._pending).filter(~pl.col("done")).height

    def feed(self, events: DovecotEvents | WebmailEvents | None = None,
             webmail: WebmailEvents | pl.DataFrame | None = None) -> pl.DataFrame:
        """Access rows (``schema.ACCESSES``) of every session this chunk touched.

        Takes the parsed Dovecot events and/or the Roundcube ones (either positionally).
        """
        if isinstance(events, WebmailEvents):
            events, webmail = None, events
        if isinstance(webmail, WebmailEvents):
            webmail = webmail.logins
        out = []
        if events is not None:
            out.append(self._dovecot(events))
            out.append(self._sessionless(events))
        if webmail is not None:
            out.append(webmail_rows(webmail, self._imap_fail))
        out = [o for o in out if o.height]
        if not out:
            return empty("accesses")
        return pl.concat(out, how="vertical").sort("time", "id")

    def _dovecot(self, events: DovecotEvents) -> pl.DataFrame:
        new = session_events(events, self._auth_with_carried_deny(events))
        new = pl.concat([new, self._attach_orphan_logouts(events, new)], how="vertical")
        if new.height == 0:
            return empty("accesses")
        keys = ["host", "session"]
        touched = new.select(keys).unique()
        carried = self._pending.join(touched, on=keys, how="semi")
        rest = self._pending.join(touched, on=keys, how="anti")
        ev = pl.concat([carried, new], how="vertical")
        rows = conform("accesses", _aggregate(ev).filter(pl.col("attempt")))
        now = new["time"].max()
        self._pending = self._evict(pl.concat([rest, ev], how="vertical"), now)
        failed = rows.filter((pl.col("status") == "failed") & pl.col("user").is_not_null())
        recent = pl.concat([self._imap_fail, failed.select(
            "time", "user", imap_error="error")], how="vertical")
        # Keep the whole chunk (its Roundcube lines are fed next) plus a margin before it.
        first = new["time"].min()
        if isinstance(first, dt.datetime):
            recent = recent.filter(pl.col("time") >= first - 4 * WEBMAIL_IMAP_WINDOW)
        self._imap_fail = recent
        return rows

    def _attach_orphan_logouts(self, events: DovecotEvents, new: pl.DataFrame) -> pl.DataFrame:
        """Dovecot 2.2 mail processes log ``imap(user): Logged out in=..`` without the
        session id: give such a logout to the latest open login of the same host, user
        and protocol before it."""
        lo = events.logouts.filter(pl.col("session").is_null() & pl.col("user").is_not_null())
        if lo.height == 0:
            return pl.DataFrame(schema=_EV)
        k = pl.col("kind")
        cand = pl.concat([self._pending, new], how="vertical").group_by("host", "session").agg(
            t_login=pl.col("time").filter(k == "login").min(),
            user=pl.col("user").filter(k == "login").first(),
            proto=pl.col("proto").filter(k == "login").first(),
            closed=(k == "logout").any(),
        ).filter(pl.col("t_login").is_not_null() & ~pl.col("closed")).drop("closed")
        if cand.height == 0:
            return pl.DataFrame(schema=_EV)
        got = lo.drop("session").sort("time").join_asof(
            cand.sort("t_login"), left_on="time", right_on="t_login",
            by=["host", "user", "proto"], strategy="backward", check_sortedness=False,
        ).filter(pl.col("session").is_not_null())
        return _frame(got, "logout")

    def _auth_with_carried_deny(self, events: DovecotEvents) -> pl.DataFrame:
        """The chunk's auth verdicts, with deny-passdb hits of earlier chunks matched too."""
        auth = events.auth
        if self._deny.height:
            auth = attach_deny(pl.concat([self._deny, auth], how="vertical_relaxed"),
                               events.failures)
        open_deny = auth.filter(pl.col("session").is_null() & pl.col("user").is_null()
                                & (pl.col("error") == "user-disabled"))
        now = auth["time"].max() if auth.height else None
        if isinstance(now, dt.datetime):
            open_deny = open_deny.filter(pl.col("time") >= now - dt.timedelta(seconds=30))
        self._deny = open_deny
        return auth

    def _evict(self, pending: pl.DataFrame, now: object) -> pl.DataFrame:
        """Forget finished sessions after a grace period, and sessions that will not be
        finished (bounded memory): logged-in ones after OPEN_FOR, others after PENDING_FOR."""
        if pending.height == 0 or not isinstance(now, dt.datetime):
            return pending
        by = _status(pending)
        last = pl.col("last")
        keep = by.filter(
            pl.when(pl.col("done")).then(last >= now - GRACE)
            .when(pl.col("login")).then(last >= now - OPEN_FOR)
            .otherwise(last >= now - PENDING_FOR)
        ).select("host", "session")
        return pending.join(keep, on=["host", "session"], how="semi")

    def _sessionless(self, events: DovecotEvents) -> pl.DataFrame:
        """Logins and login-side failures without a session id (old Dovecot, or a
        ``login_log_format_elements`` without ``session``): one row each, nothing to join,
        with the id ``a-<host>-<YYYYMMDDHHMMSS>-<n>`` (n counts within the second and host,
        across chunks)."""
        none = pl.col("session").is_null() | (pl.col("session") == "")
        cols = ["time", "host", "proto", "user", "method", "rip", "lip", "tls"]
        f = pl.concat([
            events.logins.filter(none).select(*cols, status=pl.lit("success"),
                                              error=pl.lit(None, pl.String)),
            events.failures.filter(none).select(*cols, status=pl.lit("failed"), error="error"),
        ], how="vertical_relaxed")
        if f.height == 0:
            return empty("accesses")
        f = f.sort("time", maintain_order=True).with_columns(
            _s=pl.col("time").dt.strftime("%Y%m%d%H%M%S"))
        seq = pl.DataFrame(
            [(h, s, n) for (h, s), n in self._nosession_seq.items()],
            schema={"host": pl.String, "_s": pl.String, "_base": pl.Int64}, orient="row")
        f = f.join(seq, on=["host", "_s"], how="left", maintain_order="left").with_columns(
            _n=pl.int_range(pl.len()).over("host", "_s") + pl.col("_base").fill_null(0))
        newest = f["_s"].max()
        nxt = f.group_by("host", "_s").agg(pl.col("_n").max() + 1).filter(pl.col("_s") >= newest)
        self._nosession_seq = {(h, s): int(n) for h, s, n in nxt.iter_rows()}
        user = pl.col("user")
        return conform("accesses", f.with_columns(
            id=pl.concat_str([pl.lit("a-"), pl.col("host"), pl.lit("-"), pl.col("_s"), pl.lit("-"),
                              pl.col("_n").cast(pl.String)]),
            domain=domain_of(user),
            protocol=pl.col("proto").replace(PROTOCOL), server=pl.col("host"),
            local_ip=pl.col("lip"), remote_ip=pl.col("rip"),
        ))


def correlate(events: DovecotEvents | WebmailEvents | None = None,
              webmail: WebmailEvents | pl.DataFrame | None = None) -> pl.DataFrame:
    """One-shot: all access rows of a whole frame of events."""
    return AccessCorrelator().feed(events, webmail)


def latest(chunks: list[pl.DataFrame]) -> pl.DataFrame:
    """Keep the last version of each ``id`` across the rows of several feeds (batch search)."""
    if not chunks:
        return empty("accesses")
    rows = pl.concat(chunks, how="vertical")
    return rows.unique("id", keep="last", maintain_order=True).sort("time", "id")
