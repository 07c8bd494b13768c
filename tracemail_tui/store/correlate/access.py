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

Which failure word wins when a session has several (A09 logs ``Plaintext authentication
disabled`` and then ``auth failed``): plaintext-disallowed, then many-connections, then
a login-side reason that is not plain ``auth failed`` (user-disabled ...), then the auth
process's verdict (unknown-user, ip-notallowed, auth-failed), then the login-side word.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import polars as pl

from tracemail_tui.store.parse.dovecot import PROTOCOL, DovecotEvents, attach_deny
from tracemail_tui.store.parse.roundcube import WebmailEvents
from tracemail_tui.store.schema import conform, empty

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

    def best(c: str) -> pl.Expr:  # first non-null by source preference login > fail > ...
        return pl.col(c).sort_by("_rank", maintain_order=True).drop_nulls().first()

    def last_of(c: str, kind: str) -> pl.Expr:
        return pl.col(c).filter(k == kind).drop_nulls().last()

    g = ev.group_by("host", "session", maintain_order=True).agg(
        has_login=(k == "login").any(),
        has_fail=(k == "fail").any(),
        has_logout=(k == "logout").any(),
        attempt=k.is_in(("login", "fail", "refused", "auth", "logout")).any(),
        t_login=pl.col("time").filter(k == "login").min(),
        t_fail=pl.col("time").filter(k.is_in(("fail", "refused", "auth"))).min(),
        t_first=pl.col("time").min(),
        last_seen=pl.col("time").max(),
        logout_time=pl.col("time").filter(k == "logout").max(),
        user=best("user"), proto=best("proto"), method=best("method"),
        rip=best("rip"), lip=best("lip"), tls=best("tls"),
        client=last_of("client", "id"),
        fail_errors=pl.col("error").filter(k.is_in(("fail", "refused"))).drop_nulls(),
        auth_error=last_of("error", "auth"),
        bytes_in=last_of("bytes_in", "logout"), bytes_out=last_of("bytes_out", "logout"),
        deleted=last_of("deleted", "logout"), expunged=last_of("expunged", "logout"),
        trashed=last_of("trashed", "logout"),
    )
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
        .otherwise(pl.coalesce("t_fail", "t_first")),
        logout_time=pl.when(ok).then(pl.col("logout_time")),
        status=pl.when(ok).then(pl.lit("success")).otherwise(pl.lit("failed")),
        error=pl.when(ok).then(None).otherwise(error),
        domain=pl.when(user.str.contains("@", literal=True)).then(
            user.str.extract(r"@([^@]*)$")),
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


def webmail_rows(web: pl.DataFrame) -> pl.DataFrame:
    """Roundcube login records → access rows (protocol ``webmail``; no logout is logged)."""
    if web.height == 0:
        return empty("accesses")
    stamp = pl.col("time").dt.strftime("%Y%m%d%H%M%S")
    web = web.with_columns(
        _n=pl.int_range(pl.len()).over("host", "session", stamp).cast(pl.String),
    )
    sid = pl.col("session").fill_null("")
    return conform("accesses", web.with_columns(
        id=pl.concat_str([pl.lit("a-"), pl.col("host"), pl.lit("-rc"), sid, pl.lit("-"), stamp,
                          pl.lit("-"), pl.col("_n")]),
        domain=pl.col("user").str.extract(r"@([^@]*)$"),
        protocol=pl.lit("webmail"), server=pl.col("host"),
    ))


class AccessCorrelator:
    """Turns chunks of parsed events into access rows, carrying open sessions."""

    def __init__(self) -> None:
        self._pending = pl.DataFrame(schema=_EV)
        self._deny = pl.DataFrame()  # deny-passdb hits not yet matched to their failure
        self._nosession_seq: dict[tuple[str, str], int] = {}

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
            out.append(webmail_rows(webmail))
        out = [o for o in out if o.height]
        if not out:
            return empty("accesses")
        return pl.concat(out, how="vertical").sort("time", "id")

    def _dovecot(self, events: DovecotEvents) -> pl.DataFrame:
        new = session_events(events, self._auth_with_carried_deny(events))
        if new.height == 0:
            return empty("accesses")
        keys = ["host", "session"]
        touched = new.select(keys).unique()
        carried = self._pending.join(touched, on=keys, how="semi")
        rest = self._pending.join(touched, on=keys, how="anti")
        ev = pl.concat([carried, new], how="vertical")
        rows = conform("accesses", _aggregate(ev).filter(pl.col("attempt")))
        self._pending = self._evict(pl.concat([rest, ev], how="vertical"), new["time"].max())
        return rows

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
        """Login-side failures without a session id (old Dovecot): one row each, with the
        id ``a-<host>-<YYYYMMDDHHMMSS>-<n>`` (n counts within the second, across chunks)."""
        f = events.failures.filter(pl.col("session").is_null() | (pl.col("session") == ""))
        if f.height == 0:
            return empty("accesses")
        f = f.sort("time", maintain_order=True).with_columns(
            _s=pl.col("time").dt.strftime("%Y%m%d%H%M%S"))
        f = f.with_columns(_n=pl.int_range(pl.len()).over("host", "_s"))
        base = [self._nosession_seq.get((h, s), 0) for h, s in f.select("host", "_s").iter_rows()]
        f = f.with_columns(_n=pl.col("_n") + pl.Series(base, dtype=pl.Int64))
        for h, s, n in f.group_by("host", "_s").agg(pl.col("_n").max()).iter_rows():
            self._nosession_seq[(h, s)] = int(n) + 1
        newest = f["_s"].max()
        self._nosession_seq = {k: v for k, v in self._nosession_seq.items() if k[1] >= newest}
        user = pl.col("user")
        return conform("accesses", f.with_columns(
            id=pl.concat_str([pl.lit("a-"), pl.col("host"), pl.lit("-"), pl.col("_s"), pl.lit("-"),
                              pl.col("_n").cast(pl.String)]),
            status=pl.lit("failed"), domain=user.str.extract(r"@([^@]*)$"),
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
