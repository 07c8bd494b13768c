"""The raw log lines behind one result row (detail view, timeline, PDF report).

For a received/sent row: lines of its host that carry its queue id, the queue id of a
bounce notice it produced, the LMTP session ids its deliveries were saved under, or its
Message-ID (Rspamd, Dovecot, the re-injected copy of a redirect), within a window after
the row's time. For a NOQUEUE reject: the smtpd process's lines around it that name the
client (postscreen's: its lines of that client connection, ``[ip]:port``). For an access
row: lines naming its session id, else the process's lines naming the remote IP around
the login.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui.store import schema, sources
from tracemail_tui.store.parse.header import split_lines
from tracemail_tui.store.parse.postfix import QID
from tracemail_tui.store.query import Source

BEFORE = dt.timedelta(minutes=5)
AFTER = dt.timedelta(days=1)
AROUND = dt.timedelta(minutes=2)


def _lines(
    source: pl.DataFrame | Iterable[str | Path],
    host: str | None,
    year: int | None,
    hosts: Mapping[str, str] | None,
    keep: pl.Expr,
) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return source.filter(keep)
    parts = [
        chunk.filter(keep)
        for src in sources.sources(source, host=host, hosts=hosts, year=year)
        for chunk in sources.read_chunks(src)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema.LINES)


def _contains_any(needles: list[str]) -> pl.Expr:
    cond = pl.lit(False)
    for n in needles:
        cond |= pl.col("msg").str.contains(n, literal=True)
    return cond.fill_null(False)


def evidence(
    source: pl.DataFrame | Iterable[str | Path],
    view: str,
    row: Mapping[str, Any],
    *,
    host: str | None = None,
    year: int | None = None,
    hosts: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Raw lines of one row as ``time, server, program, raw``, oldest first.

    `source` is a lines frame (already split) or the log paths the row came from.
    """
    t = row.get("time")
    if not isinstance(t, dt.datetime):
        return schema.empty("lines")
    server = row.get("server")
    same_host = (pl.col("host") == server) if server else pl.lit(True)
    if view in ("received", "sent") and row.get("queue_id"):
        window = (pl.col("time") >= t - BEFORE) & (pl.col("time") <= t + AFTER)
        needles = [str(row["queue_id"])]
        if row.get("message_id"):
            needles.append(str(row["message_id"]))
        first = _lines(source, host, year, hosts, window & same_host.fill_null(True)
                       & _contains_any(needles))
        # Second hop: bounce notices and LMTP sessions named by those lines.
        extra = set(
            first.get_column("msg").str.extract(rf"notification: ({QID})$", 1).drop_nulls()
        ) | set(
            first.get_column("msg")
            .str.extract(r"<[^>]*> ([A-Za-z0-9+/]{16,}(?::R\d+)?) Saved\)$", 1)
            .drop_nulls()
        )
        if extra:
            first = _lines(source, host, year, hosts, window & same_host.fill_null(True)
                           & _contains_any(needles + sorted(extra)))
        found = first
    elif view in ("received", "sent"):
        # A NOQUEUE reject: the smtpd connection it happened in.
        found = _connection(source, host, year, hosts, same_host, t, row.get("client_ip"),
                            None, "reject: ")
    elif view == "accesses":
        session = row.get("session")
        if session:
            near = (pl.col("time") >= t - BEFORE) & (pl.col("time") <= t + AFTER)
            found = _lines(source, host, year, hosts,
                           near & same_host.fill_null(True) & _contains_any([str(session)]))
        else:
            # SMTP AUTH: the submission connection, plus Dovecot's auth verdicts.
            found = _connection(source, host, year, hosts, same_host, t,
                                row.get("remote_ip"), row.get("user"), "")
    else:
        raise ValueError(f"no evidence for view {view!r}")
    if found.height == 0:
        return schema.empty("lines")
    return found.sort("time", maintain_order=True).select(
        "time", server="host", program="program", raw="raw"
    ).cast(schema.LINES)  # type: ignore[arg-type]


def _connection(
    source: pl.DataFrame | Iterable[str | Path],
    host: str | None,
    year: int | None,
    hosts: Mapping[str, str] | None,
    same_host: pl.Expr,
    t: dt.datetime,
    ip: object,
    user: object,
    marker: str,
) -> pl.DataFrame:
    """Lines of the smtpd connection (connect .. disconnect of one process) that logged,
    at time `t`, a line naming `ip` (and `marker`), plus Dovecot ``auth:`` lines naming
    the user and IP inside it."""
    if not ip:
        return pl.DataFrame(schema={**schema.LINES, "host": pl.String(), "msg": pl.String(),
                                    "pid": pl.String()}).drop("server")
    near = (pl.col("time") >= t - AROUND) & (pl.col("time") <= t + AROUND)
    program = pl.col("program")
    smtpd = same_host.fill_null(False) & (program.str.ends_with("smtpd")
                                          | program.str.ends_with("/postscreen")).fill_null(False)
    auth = pl.lit(False)
    if user:
        auth = (pl.col("program") == "dovecot") & pl.col("msg").str.starts_with("auth: ") \
            & _contains_any([f"({str(user).lower()},{ip}"])
    lines = _lines(source, host, year, hosts, near & (smtpd | auth)).sort(
        "time", maintain_order=True)
    anchor = lines.filter((pl.col("time") == t) & pl.col("msg").str.contains(f"[{ip}]",
                                                                           literal=True)
                          & pl.col("msg").str.contains(marker, literal=True)
                          & pl.col("pid").is_not_null())
    pid = anchor.get_column("pid")[0] if anchor.height else ""
    if anchor.height and str(anchor.get_column("program")[0]).endswith("/postscreen"):
        # One postscreen process serves every client: its lines of this connection are
        # the ones naming the client's "[ip]:port" (CONNECT, the verdicts, the reject,
        # DISCONNECT).
        conn = re.search(r"\[[^\]]*\]:\d+", str(anchor.get_column("msg")[0]))
        if conn:
            return lines.filter((pl.col("pid") == pid)
                                & pl.col("msg").str.contains(conn.group(0), literal=True))
    proc = lines.filter(pl.col("pid") == pid)
    msgs = proc.get_column("msg").to_list()
    times = proc.get_column("time").to_list()
    start, end = times[0] if times else t, times[-1] if times else t
    for tm, m in zip(times, msgs, strict=True):
        if tm <= t and m.startswith("connect from "):
            start = tm
        if tm >= t and m.startswith("disconnect from "):
            end = tm
            break
    seg = (pl.col("time") >= start) & (pl.col("time") <= end)
    return lines.filter(seg & (pl.col("pid").eq(pid).fill_null(False) | auth))


def from_store(source: Source, view: str, row: Mapping[str, Any]) -> pl.DataFrame:
    """`evidence` over a store's `lines` table (``time, server, program, raw``); a source
    without one (an in-memory result) has no evidence to show.

    Only the row's time window leaves the store (row groups are sorted by time, so the
    filter skips other days); those raw lines are split again for their message and pid,
    keeping the stored time and server (the file's year and host are not known here).
    """
    t = row.get("time")
    if not isinstance(t, dt.datetime):
        return schema.empty("lines")
    try:
        lines = source.scan("lines")
    except (KeyError, ValueError):
        return schema.empty("lines")
    window = lines.filter(
        (pl.col("time") >= t - BEFORE) & (pl.col("time") <= t + AFTER)
    ).collect()
    if window.height == 0:
        return schema.empty("lines")
    frame = split_lines(window.get_column("raw")).with_columns(
        time=window.get_column("time"), host=window.get_column("server")
    )
    return evidence(frame, view, row)
