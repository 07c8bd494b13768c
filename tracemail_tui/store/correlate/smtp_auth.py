"""SMTP AUTH on submission -> accesses rows (protocol ``smtp``).

* A failed attempt is Postfix's ``warning: host[ip]: SASL PLAIN authentication failed:
  ..., sasl_username=...``. Each warning is one row (``failed``, ``auth-failed``): a client
  that retries with the next mechanism (smtplib: PLAIN then LOGIN, scenario S07) made two
  attempts, and brute-force hunting counts attempts.
* A successful login is only visible through ``QID: client=..., sasl_method=...,
  sasl_username=...`` (Postfix does not log AUTH success by itself, so a session that
  authenticated but queued nothing leaves no trace). One row per connection, however
  many messages it sent; the logout is the smtpd ``disconnect from`` of that connection
  (same host, pid and client IP). Its id ends with the connection's first queue id
  (``a-<host>-<YYYYMMDDHHMMSS>-<pid>-<qid>``): one smtpd process serves many
  connections, sometimes within one second.

The correlator is incremental: connections without their ``disconnect`` yet are kept
and re-emitted when it arrives.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from tracemail_tui.store import schema

_OPEN_COLUMNS = {
    "time": schema.TS, "host": pl.String(), "pid": pl.String(), "client_ip": pl.String(),
    "user": pl.String(), "method": pl.String(), "kind": pl.String(), "qid": pl.String(),
}


def _id_stem() -> pl.Expr:
    """`a-<host>-<YYYYMMDDHHMMSS>-<smtpd pid>`: the start every SMTP AUTH row id shares."""
    return pl.concat_str(
        pl.lit("a-"), pl.col("host").fill_null("unknown"), pl.lit("-"),
        pl.col("time").dt.strftime("%Y%m%d%H%M%S"), pl.lit("-"), pl.col("pid").fill_null("0"),
    )


def failed_rows(ev: pl.DataFrame) -> pl.DataFrame:
    """One failed-access row per SASL failure warning."""
    f = ev.filter(pl.col("kind") == "sasl_fail")
    if f.height == 0:
        return schema.empty("accesses")
    f = f.sort("host", "time", "pid", "sasl_method", "sasl_user", nulls_last=True)
    n = pl.int_range(1, pl.len() + 1).over("host", "time", "pid")
    user = pl.col("sasl_user").str.to_lowercase()
    return schema.conform("accesses", f.with_columns(
        id=pl.concat_str(_id_stem(), pl.lit("-smtp-"), n.cast(pl.String)),
        status=pl.lit("failed"),
        error=pl.lit("auth-failed"),
        user=user,
        domain=schema.domain_of(user),
        protocol=pl.lit("smtp"),
        server=pl.col("host"),
        remote_ip=pl.col("client_ip"),
        method=pl.col("sasl_method"),
    ))


class SmtpAuthCorrelator:
    """Successful SMTP AUTH connections, carried over chunks until their disconnect."""

    def __init__(self, ttl: dt.timedelta = dt.timedelta(days=1)) -> None:
        self._open = pl.DataFrame(schema=_OPEN_COLUMNS)
        self._ttl = ttl

    def compact(self) -> None:
        """Copy the open sessions out of the chunks they came from (schema.compact)."""
        self._open = schema.compact(self._open)

    @property
    def open_sessions(self) -> int:
        return self._open.height

    def feed(self, ev: pl.DataFrame) -> pl.DataFrame:
        """Accesses rows (failed attempts and touched successful sessions) of a chunk."""
        failed = failed_rows(ev)
        auth = ev.filter((pl.col("kind") == "client") & pl.col("sasl_user").is_not_null()).select(
            "time", "host", "pid", "client_ip", user="sasl_user", method="sasl_method",
            kind=pl.lit("auth"), qid="qid",
        )
        if auth.height == 0 and self._open.height == 0:
            return failed
        disc = ev.filter(pl.col("kind") == "disconnect").select(
            "time", "host", "pid", "client_ip", user=pl.lit(None, pl.String),
            method=pl.lit(None, pl.String), kind=pl.lit("disc"), qid=pl.lit(None, pl.String),
        )
        carried = self._open
        keys = pl.concat([auth, carried]).select("host", "pid", "client_ip").unique()
        disc = disc.join(keys, on=["host", "pid", "client_ip"], how="semi", nulls_equal=True)
        allev = pl.concat([carried, auth, disc]).with_columns(
            _d=(pl.col("kind") == "disc").cast(pl.Int32)
        ).sort("host", "pid", "client_ip", "time", "_d", nulls_last=True)
        grp = ["host", "pid", "client_ip"]
        allev = allev.with_columns(_conn=(pl.col("_d").cum_sum() - pl.col("_d")).over(grp))
        sess = allev.group_by([*grp, "_conn"]).agg(
            time=pl.col("time").filter(pl.col("kind") == "auth").min(),
            user=pl.col("user").drop_nulls().first(),
            method=pl.col("method").drop_nulls().first(),
            qid=pl.col("qid").drop_nulls().first(),
            logout_time=pl.col("time").filter(pl.col("kind") == "disc").min(),
        ).filter(pl.col("time").is_not_null())
        # Keep the login event of connections still open (for the next chunk).
        still = sess.filter(pl.col("logout_time").is_null())
        newest = allev.get_column("time").max()
        if newest is not None:
            still = still.filter(pl.col("time") >= newest - self._ttl)  # type: ignore[operator]
        self._open = still.select(
            "time", "host", "pid", "client_ip", "user", "method", kind=pl.lit("auth"), qid="qid"
        ).cast(_OPEN_COLUMNS)  # type: ignore[arg-type]
        user = pl.col("user").str.to_lowercase()
        ok = sess.with_columns(
            id=pl.concat_str(_id_stem(), pl.lit("-"), pl.col("qid").fill_null("smtp")),
            status=pl.lit("success"),
            user=user,
            domain=schema.domain_of(user),
            protocol=pl.lit("smtp"),
            server=pl.col("host"),
            remote_ip=pl.col("client_ip"),
        )
        return pl.concat([failed, schema.conform("accesses", ok)])
