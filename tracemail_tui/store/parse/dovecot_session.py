"""Dovecot session events: logins, login failures, IMAP ID, auth verdicts, logouts.

Works on the frame of :func:`dovecot.split` (``kind`` already set). The failure words
follow DESIGN.md (``auth-failed``, ``unknown-user``, ``user-disabled``, ``ip-notallowed``,
``many-connections``, ``plaintext-disallowed``, else a short kebab-case word).
"""

from __future__ import annotations

import polars as pl

from tracemail_tui.store.parse import cut as c_
from tracemail_tui.store.parse.cut import after, before, cut, upto

# --- login side: Login / failures / ID -------------------------------------------------

# The real user ends at the last ">, method=" / ">, rip=": what follows has no ">, ".
_USER_END = r">, (?:method|rip)=(?:[^>]|>[^,])*>?$"


def _client_info(df: pl.DataFrame) -> pl.DataFrame:
    """Split ``<reason>: user=<u>, method=.., rip=.., lip=.., mpid=.., TLS, session=<..>``.

    The user may be hostile (it is whatever the client typed), so the user is taken up to
    the *last* ``>, method=`` / ``>, rip=`` and the fields are read from what follows.
    """
    t = pl.col("text")
    login = t.str.starts_with("Login: ")
    df = df.with_columns(
        reason=pl.when(login).then(pl.lit("Login")).otherwise(before(t, ": user=<")),
        _info=pl.when(login).then(cut(t, 7)).otherwise(
            pl.concat_str([pl.lit("user=<"), after(t, ": user=<")])),
    )
    i = pl.col("_info")
    df = df.with_columns(_e=i.str.find(_USER_END))
    e = pl.col("_e")  # a column: eager expressions are not de-duplicated
    df = df.with_columns(
        _luser=pl.when(e.is_not_null()).then(cut(i, 6, e - 6))
        .otherwise(i.str.strip_prefix("user=<").str.strip_suffix(">")),
        _tail=cut(i, e + 3).fill_null(""),
    )
    tail = pl.col("_tail")
    return df.with_columns(
        login_user=pl.col("_luser").replace("", None),
        method=tail.str.extract(r"^method=([^,]*)"),
        rip=c_.field(tail, "rip=", ","),
        lip=c_.field(tail, "lip=", ","),
        mpid=c_.field(tail, "mpid=", ","),
        tls=tail.str.contains(r"(?:^|, )TLS(?:, |$)"),
        secured=tail.str.contains(r"(?:^|, )secured(?:, |$)"),
        session=pl.coalesce(c_.field(tail, "session=<", ">"), pl.col("session")),
    ).drop("_info", "_e", "_luser", "_tail")


def failure_error(reason: pl.Expr) -> pl.Expr:
    """Login-side failure text → DESIGN.md error word (null for a mere connection)."""
    c = reason.str.contains
    pairs = [
        ("Maximum number of connections", "many-connections"),
        ("Plaintext authentication disabled", "plaintext-disallowed"),
        ("(tried to use disallowed plaintext auth)", "plaintext-disallowed"),
        ("(user disabled)", "user-disabled"),
        ("(login disabled)", "user-disabled"),
        ("(internal failure, ", "user-disabled"),  # nologin: auth ok, login refused
        ("(auth failed, ", "auth-failed"),
        ("(password expired)", "password-expired"),
        ("(authorization failed", "authz-failed"),
        ("(auth service reported temporary failure)", "auth-tempfail"),
        ("(tried to use unsupported auth mechanism)", "unsupported-mechanism"),
        ("(sent invalid base64 in response)", "invalid-base64"),
        ("(client didn't finish SASL auth", "auth-unfinished"),
        ("(disconnected while authenticating", "auth-interrupted"),
        ("(disconnected while finishing login", "login-interrupted"),
        ("(aborted authentication)", "auth-aborted"),
        ("(auth process communication failure)", "auth-unavailable"),
        ("(proxy dest auth failed)", "proxy-auth-failed"),
        ("(cert required, client didn't start TLS)", "cert-required"),
        ("(client didn't send a cert)", "cert-required"),
        ("(client sent an invalid cert)", "cert-invalid"),
    ]
    out = pl.lit(None, pl.String)
    for needle, word in reversed(pairs):
        out = pl.when(c(needle, literal=True)).then(pl.lit(word)).otherwise(out)
    return out


def connection_reason(reason: pl.Expr) -> pl.Expr:
    """Short kebab word for a login-side disconnect without any auth attempt (stats)."""
    c = reason.str.contains
    kebab = (
        reason.str.replace(r"^(?:Disconnected|Login aborted|Aborted login)[: ]*", "")
        .str.replace(r"\(.*$", "")
        .str.to_lowercase().str.replace_all(r"[^a-z]+", "-").str.strip_chars("-").str.slice(0, 40)
    )
    return (
        pl.when(c("SSL_accept() failed", literal=True) | c("TLS handshaking", literal=True))
        .then(pl.lit("tls-handshake-failed"))
        .when(c("Inactivity", literal=True)).then(pl.lit("inactivity"))
        .when(c("(disconnected before auth was ready", literal=True)).then(pl.lit("auth-not-ready"))
        .when(c("Too many invalid", literal=True)).then(pl.lit("too-many-invalid-commands"))
        .when(c("(no auth attempts", literal=True)).then(pl.lit("no-auth-attempts"))
        .when(kebab == "").then(pl.lit("disconnected"))
        .otherwise(kebab)
    )


def login_side(df: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(logins, failures, connections, ids) from the login processes' lines."""
    base = ["time", "host", "proto", "session", "user", "method", "rip", "lip", "mpid", "tls",
            "secured"]
    side = df.filter(pl.col("kind").is_in(("login", "failure")))
    side = side.with_columns(proto=pl.col("proc").str.replace("-login", "", literal=True))
    side = _client_info(side).with_columns(user=pl.col("login_user").str.to_lowercase())
    logins = side.filter(pl.col("kind") == "login").select(*base)
    fails = side.filter(pl.col("kind") == "failure").with_columns(
        error=failure_error(pl.col("reason"))
    )
    attempt = pl.col("error").is_not_null() | pl.col("user").is_not_null()
    failures = fails.filter(attempt).with_columns(
        error=pl.col("error").fill_null(connection_reason(pl.col("reason")))
    ).select(
        *base, "reason", "error", user_raw="login_user",
        # "Login failed: ..." is said while the client may still try again; the other
        # failure lines end the connection.
        final=~pl.col("reason").str.starts_with("Login failed"),
    )
    connections = fails.filter(~attempt).select(
        "time", "host", "proto", "session", "rip", "lip", "tls", "reason",
        why=connection_reason(pl.col("reason")),
    )
    ids = _ids(df)
    return logins, failures, connections, ids


def _ids(df: pl.DataFrame) -> pl.DataFrame:
    """IMAP ID announcements: ``ID sent: name=X, version=Y, ...: user=<>, ..., session=<S>``."""
    ids = df.filter(pl.col("kind") == "id")
    t = pl.col("text")
    # The ID values come first and may be hostile: the client info starts at the last
    # ": user=<...>, rip=" (post-login ID lines have none and carry the session in their
    # prefix).
    ids = ids.with_columns(_p=t.str.find(r": user=<[^>]*" + _USER_END))
    p = pl.col("_p")  # null offset / length: see cut.py
    ids = ids.with_columns(
        idv=cut(t, 9, p - 9),
        session=pl.coalesce(c_.field(cut(t, p), "session=<", ">"), pl.col("session")),
    )
    v = pl.col("idv")
    stop = r", [a-z][a-z0-9_-]*="
    ids = ids.with_columns(
        _name=pl.when(v.str.starts_with("name=")).then(cut(v, 5)).otherwise(after(v, ", name=")),
        _version=pl.when(v.str.starts_with("version=")).then(cut(v, 8))
        .otherwise(after(v, ", version=")),
    )
    ids = ids.with_columns(name=upto(pl.col("_name"), stop, regex=True),
                           version=upto(pl.col("_version"), stop, regex=True))
    name, version = pl.col("name"), pl.col("version")
    client = pl.when(version.is_not_null() & name.is_not_null()).then(
        pl.concat_str([name, pl.lit(" "), version])).otherwise(name)
    return ids.select("time", "host", "session", client=client, id_fields=v)


# --- auth process ---------------------------------------------------------------------

def auth_error(reason: pl.Expr) -> pl.Expr:
    """auth process verdict text → DESIGN.md error word (null when it is not a refusal)."""
    sw, c = reason.str.starts_with, reason.str.contains
    return (
        pl.when(sw("Password mismatch")).then(pl.lit("auth-failed"))
        .when(sw("unknown user")).then(pl.lit("unknown-user"))
        .when(c("allow_nets check failed", literal=True)).then(pl.lit("ip-notallowed"))
        .when(sw("User found from deny passdb")).then(pl.lit("user-disabled"))
        .when(c("User not known to the underlying authentication module", literal=True))
        .then(pl.lit("unknown-user"))
        .when(c("Authentication failure", literal=True)).then(pl.lit("auth-failed"))
        .when(c("Account expired", literal=True) | c("Password expired", literal=True))
        .then(pl.lit("password-expired"))
        # "Username character disallowed by auth_username_chars: 0x5b (username: ...)": the
        # name itself was refused, no password checked (a space or pasted text; real line
        # in tests/fixtures/webmail-roundcube)
        .when(sw("Username character disallowed")).then(pl.lit("invalid-user-name"))
        .otherwise(None)
    )


def parse_auth(df: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """``passwd-file(user,ip[,<session>]): verdict`` lines (and the deny-passdb hit)."""
    a = df.filter(pl.col("kind") == "auth")
    g = pl.col("text").str.extract_groups(
        r"^(?<driver>[a-z][a-z0-9_-]*)\((?<auser>.*),(?<ip>[0-9A-Fa-f:.]*)"
        r"(?:,<(?<asess>[^>]*)>)?\): (?<verdict>.*)$"
    )
    a = a.with_columns(_g=g).unnest("_g").with_columns(
        reason=pl.coalesce(pl.col("verdict"), pl.col("text"))
    )
    a = a.select(
        "time", "host", "driver", "reason",
        user=pl.col("auser").str.to_lowercase(), ip=pl.when(pl.col("ip") != "").then(pl.col("ip")),
        session=pl.col("asess"), error=auth_error(pl.col("reason")),
    )
    return attach_deny(a, failures)


def attach_deny(auth: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """Give a deny-passdb hit (which names nobody) the session, user and IP of the next
    ``(user disabled)`` login failure on the same host within 30 s."""
    a = auth.with_row_index("_r")
    deny = a.filter(pl.col("session").is_null() & (pl.col("error") == "user-disabled"))
    if deny.height and failures.height:
        cand = failures.filter(pl.col("error") == "user-disabled").select(
            "host", f_time="time", f_sess="session", f_user="user", f_ip="rip"
        ).sort("f_time")
        joined = deny.sort("time").join_asof(
            cand, left_on="time", right_on="f_time", by="host", strategy="forward",
            tolerance="30s", check_sortedness=False,
        ).select("_r", "f_sess", "f_user", "f_ip")
        a = a.join(joined, on="_r", how="left").with_columns(
            session=pl.coalesce("session", "f_sess"), user=pl.coalesce("user", "f_user"),
            ip=pl.coalesce("ip", "f_ip"),
        ).drop("f_sess", "f_user", "f_ip")
    return a.sort("_r").drop("_r")


# --- mail processes: logouts ------------------------------------------------------------

def logouts(df: pl.DataFrame) -> pl.DataFrame:
    """Session ends with their counters (IMAP in/out/deleted/expunged/trashed, POP3
    top/retr/del/size, ManageSieve and old IMAP ``bytes=in/out``), and the ends of proxied
    sessions (``imap-login: proxy(u): disconnecting IP (... in=N, out=M)): ...``)."""
    t = pl.col("text")
    lo = df.filter(pl.col("kind") == "logout").with_columns(proto=pl.col("proc"))
    px = df.filter((pl.col("kind") == "proxy")
                   & t.str.contains("): disconnecting ", literal=True)).with_columns(
        proto=pl.col("proc").str.strip_suffix("-login"),
        user=before(cut(t, 6), "): ").str.to_lowercase(),
        session=c_.field(t, "session=<", ">"),
    )
    if px.height:
        lo = pl.concat([lo, px.select(lo.columns)], how="vertical")
    imap = t.str.extract_groups(
        r"\bin=(?<i_in>\d+),? out=(?<i_out>\d+)"
        r"(?: deleted=(?<i_del>\d+) expunged=(?<i_exp>\d+) trashed=(?<i_tr>\d+))?"
    )
    pop = t.str.extract_groups(
        r"\btop=(?<t_n>\d+)/(?<t_b>\d+), retr=(?<r_n>\d+)/(?<r_b>\d+),"
        r" del=(?<d_n>\d+)/(?<d_m>\d+), size=(?<sz>\d+)"
    )
    lo = lo.with_columns(_i=imap, _p=pop).unnest("_i", "_p")
    old = t.str.extract_groups(r"\bbytes=(?<b_in>\d+)/(?<b_out>\d+)")
    lo = lo.with_columns(_b=old).unnest("_b")
    i64 = pl.Int64
    # POP3 logs no input bytes; what it sent is the TOP and RETR bytes (size= is the mailbox).
    pop_out = pl.col("t_b").cast(i64) + pl.col("r_b").cast(i64)
    return lo.select(
        "time", "host", "proto", "user", "pid", "session",
        reason=t.str.replace(r"\s*(?:\b(?:in|bytes|top)=.*)?$", "")
        .str.replace(r"^Disconnected: ", ""),
        bytes_in=pl.coalesce(pl.col("i_in"), pl.col("b_in")).cast(i64),
        bytes_out=pl.coalesce(pl.col("i_out").cast(i64), pop_out, pl.col("b_out").cast(i64)),
        deleted=pl.coalesce(pl.col("i_del"), pl.col("d_n")).cast(i64),
        expunged=pl.col("i_exp").cast(i64),
        trashed=pl.col("i_tr").cast(i64),
        pop_top=pl.col("t_n").cast(i64), pop_retr=pl.col("r_n").cast(i64),
        pop_mailbox_size=pl.col("sz").cast(i64),
    )
