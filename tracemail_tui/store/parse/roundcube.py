"""Roundcube webmail logins (``userlogins`` log, file or syslog form).

Roundcube writes (``rcmail::log_login`` → ``rcube::write_log('userlogins', ...)``)::

    [27-Nov-2026 05:01:02 +0000]: <abcd1234> Successful login for alice@example.com (ID: 3)
        from 192.0.2.7 in session abcd1234ef...
    [27-Nov-2026 05:01:09 +0000]: <k2j3h4g5> Failed login for alice@example.com
        from 192.0.2.7 in session k2j3h4g5... (error: 0)

(one line each, wrapped here).

With ``log_driver = syslog`` the same text follows ``host roundcube: `` (the ``syslog_id``).
The ``<xxxxxxxx>`` prefix is the first ``log_session_id`` (default 8) characters of the
session id; old versions omit it (and very old ones the ``in session`` part). The address
may carry proxy headers: ``10.0.0.5 (X-Real-IP: 192.0.2.7,X-Forwarded-For: 192.0.2.7)``.

The typed user name is hostile (up to 256 characters): the fixed tail is matched from the
end so whatever the user typed stays in ``user``, literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

# rcmail::ERROR_* codes logged as "(error: N)".
ERRORS: Final = {
    0: "auth-failed",  # the IMAP server refused the login
    -2: "storage-error",  # IMAP server unreachable / storage failure
    1: "invalid-request",
    2: "invalid-host",
    3: "cookies-disabled",
    4: "rate-limited",
}

_OK = (r"^(?:<(?<sk>[^>]*)> )?Successful login for (?<ok_user>.*) \(ID: (?<uid>-?\d+)\)"
       r" from (?<ok_ip>.*?)(?: in session (?<ok_sid>\S*))?$")
_FAIL = (r"^(?:<(?<fk>[^>]*)> )?Failed login for (?<f_user>.*) from (?<f_ip>.*?)"
         r"(?: in session (?<f_sid>\S*))? \(error: (?<code>-?\d+)\)$")
_PRIVATE = r"^(?:127\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|::1$|f[cd][0-9a-f]{2}:)"

WEBMAIL: Final[dict[str, pl.DataType]] = {
    "time": pl.Datetime("us"),
    "host": pl.String(),
    "status": pl.String(),
    "error": pl.String(),
    "user": pl.String(),
    "remote_ip": pl.String(),
    "session": pl.String(),
    "user_id": pl.Int64(),
}


@dataclass
class WebmailEvents:
    """Roundcube login records of one chunk (``WEBMAIL`` columns) and the count of
    Roundcube lines that are not login records (errors log and the like)."""

    logins: pl.DataFrame
    unparsed: int = 0


def is_roundcube(program: pl.Expr) -> pl.Expr:
    """Programs that carry Roundcube lines (file form, or the usual syslog tags)."""
    return program.is_in(("roundcube", "roundcubemail", "rcube", "webmail"))


def _client_ip(addr: pl.Expr) -> pl.Expr:
    """The browser's address: behind a local proxy, the forwarded one; else the peer."""
    g = addr.str.extract_groups(r"^(?<peer>[^ (]+)\s*(?:\((?<fwd>.*)\))?$")
    peer, fwd = g.struct.field("peer"), g.struct.field("fwd")
    real = fwd.str.extract(r"X-Real-IP: ([^,)\s]+)")
    xff = fwd.str.extract(r"X-Forwarded-For: ([^,)\s]+)")
    proxied = peer.str.contains(_PRIVATE) & pl.coalesce(real, xff).is_not_null()
    return pl.when(proxied).then(pl.coalesce(real, xff)).otherwise(pl.coalesce(peer, addr))


def parse(lines: pl.DataFrame) -> WebmailEvents:
    """Webmail login rows (``WEBMAIL``) and the number of Roundcube lines that are not
    login records (errors log, other messages — counted by the caller, never dropped)."""
    rc = lines.filter(is_roundcube(pl.col("program"))).select("time", "host", "msg")
    m = pl.col("msg")
    rc = rc.with_columns(_ok=m.str.extract_groups(_OK), _f=m.str.extract_groups(_FAIL))
    rc = rc.unnest("_ok", "_f")
    ok = pl.col("ok_user").is_not_null()
    fail = pl.col("f_user").is_not_null()
    code = pl.col("code").cast(pl.Int64)
    err = pl.lit(None, pl.String)
    for k, word in ERRORS.items():
        err = pl.when(code == k).then(pl.lit(word)).otherwise(err)
    sid = pl.coalesce(pl.col("ok_sid"), pl.col("f_sid"))
    sk = pl.coalesce(pl.col("sk"), pl.col("fk"))
    out = rc.filter(ok | fail).select(
        "time", "host",
        status=pl.when(ok).then(pl.lit("success")).otherwise(pl.lit("failed")),
        error=pl.when(ok).then(None).otherwise(
            err.fill_null(pl.concat_str([pl.lit("error-"), pl.col("code")]))),
        user=pl.when(ok).then(pl.col("ok_user")).otherwise(pl.col("f_user")).str.to_lowercase(),
        remote_ip=_client_ip(pl.when(ok).then(pl.col("ok_ip")).otherwise(pl.col("f_ip"))),
        # Only the short prefix Roundcube itself logs: the full id is a live session cookie.
        session=pl.coalesce(sk, sid.str.slice(0, 8)),
        user_id=pl.col("uid").cast(pl.Int64),
    )
    out = out.with_columns(session=pl.when(pl.col("session") == "").then(None)
                           .otherwise(pl.col("session")))
    other = rc.height - out.height
    return WebmailEvents(out.select([pl.col(c).cast(t) for c, t in WEBMAIL.items()]), other)
