"""Split raw log lines into the lines frame: time, host, program, pid, msg, raw.

Every daemon and every transport writes a different prefix. The forms handled here,
all seen in the field:

* BSD syslog ``Nov 27 05:39:56 mx01 postfix/smtpd[10034]: ...`` (day padded with a zero by
  Postfix's postlogd, with a space by classic syslogd), no year;
* RFC 3339 syslog ``2026-11-27T05:01:02.123456+01:00 mx01 postfix/smtpd[12]: ...``;
* Dovecot's own ``log_path`` file ``Nov 27 05:39:56 imap-login: Info: Login: ...`` (no host,
  severity written out);
* Rspamd's file logger ``2026-11-27 05:40:04 #9883(rspamd_proxy) <3af9e4>; proxy; ...``;
* clamd's log file ``Fri Nov 27 05:40:08 2026 -> ...``;
* Roundcube's ``userlogins`` file ``[27-Nov-2026 05:01:02 +0000]: <sess> Successful login ...``.

The split uses ``str.find`` and byte cuts rather than one big regex: it is the hot path and
this is several times faster. Times are kept as the log's local wall clock (an RFC 3339
offset is dropped, not applied) because DESIGN.md shows times as the logs wrote them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

import polars as pl

from tracemail_tui.store.parse.cut import cut
from tracemail_tui.store.schema import TS

# Process names Dovecot writes at the start of a line in its own log file.
DOVECOT_PROCESSES: Final = (
    "master", "auth", "auth-worker", "anvil", "config", "log", "dict", "dict-async", "stats",
    "imap", "imap-login", "imap-hibernate", "imap-urlauth", "imap-urlauth-login", "pop3",
    "pop3-login", "lmtp", "lda", "dovecot-lda", "submission", "submission-login",
    "managesieve", "managesieve-login", "indexer", "indexer-worker", "doveadm", "director",
    "replicator", "aggregator", "quota-status", "old-stats", "health-check",
)

LINES_FRAME: Final[dict[str, pl.DataType]] = {
    "time": TS,
    "host": pl.String(),
    "program": pl.String(),
    "pid": pl.String(),
    "msg": pl.String(),
    "raw": pl.String(),
}

_BSD_STAMP = r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
_DOVECOT_TOKEN = r"^(?:" + "|".join(p.replace("-", r"\-") for p in DOVECOT_PROCESSES) + r")[(:]"


def _kind(raw: pl.Expr) -> pl.Expr:
    """Classify a line's prefix form with cheap character tests (no full regex)."""
    c4 = raw.str.slice(4, 1)
    c10 = raw.str.slice(10, 1)
    return (
        pl.when(raw.str.starts_with("["))
        .then(pl.lit("roundcube"))
        .when((c4 == "-") & (c10 == "T"))
        .then(pl.lit("rfc3339"))
        .when((c4 == "-") & (c10 == " ") & (raw.str.slice(20, 1) == "#"))
        .then(pl.lit("rspamd"))
        .when((c4 == "-") & (c10 == " "))
        .then(pl.lit("isospace"))  # ISO date, a space, then a syslog host (rsyslog templates)
        .when(raw.str.slice(24, 4) == " -> ")
        .then(pl.lit("clamd"))
        .otherwise(pl.lit("bsd"))
    )


Slicer = Callable[..., pl.Expr]  # (s, start, length=None) -> s[start:start+length]


def _str_slice(s: pl.Expr, start: pl.Expr | int, length: pl.Expr | int | None = None) -> pl.Expr:
    return s.str.slice(start, length)


def _slicer(raw: pl.Series) -> Slicer:
    """How to cut at ``str.find`` offsets, which are *byte* offsets.

    ``str.slice`` counts characters, so it is right only on ASCII text; a byte cut
    (``cut.py``) is always right but costs a Binary round trip per cut (+15% on a real
    mail.log, measured). Most chunks are pure ASCII, which one length sum tells.
    """
    if raw.str.len_bytes().sum() == raw.str.len_chars().sum():
        return _str_slice
    return cut


def _program_fields(df: pl.DataFrame, rest: pl.Expr, host: str | None,
                    sl: Slicer) -> pl.DataFrame:
    """From ``host prog[pid]: msg`` (or a Dovecot file body) fill host/program/pid/msg.

    ``str.find`` + a cut is used instead of ``splitn`` (slower on Polars 2.1); ``sl``
    cuts at the byte offsets ``str.find`` gives (see :func:`_slicer`). A chunk is nearly
    always from one file in one form: when all its lines are syslog or all are Dovecot's
    own file, only that form is computed (``when/then`` evaluates both branches).
    """
    df = df.with_columns(_rest=rest)
    r = pl.col("_rest")
    df = df.with_columns(_dv=r.str.contains(_DOVECOT_TOKEN).fill_null(False),
                         _sp=r.str.find(" ", literal=True))
    n_dv = int(df.get_column("_dv").sum())
    dovecot = {
        "host": pl.lit(host, pl.String),
        "program": pl.lit("dovecot"),
        "pid": pl.lit(None, pl.String),
        "msg": r.str.replace(": Info: ", ": ", literal=True),
    }
    if n_dv == df.height:
        return df.with_columns(**dovecot)
    df = df.with_columns(_after=sl(r, pl.col("_sp") + 1))
    a = pl.col("_after")
    df = df.with_columns(_colon=a.str.find(": ", literal=True), _br=a.str.find("[", literal=True))
    colon, br = pl.col("_colon"), pl.col("_br")
    has_pid = br.is_not_null() & (br < colon)
    syslog = {
        "host": sl(r, 0, pl.col("_sp")),
        "program": pl.when(has_pid).then(sl(a, 0, br)).otherwise(sl(a, 0, colon)),
        "pid": pl.when(has_pid).then(sl(a, br + 1, colon - br - 2)),
        "msg": sl(a, colon + 2),
    }
    if n_dv == 0:
        return df.with_columns(**syslog)
    dv = pl.col("_dv")
    return df.with_columns(
        **{c: pl.when(dv).then(dovecot[c]).otherwise(syslog[c]) for c in syslog})


def _with_year(part: pl.DataFrame, stamp: pl.Expr, year: int | None,
               mtime: dt.datetime | None) -> pl.DataFrame:
    """Add ``time`` from a year-less ``Nov 27 05:39:56`` stamp, inferring the year.

    The year is the file's modification year, minus one for stamps that would lie more
    than a day after the file was last written (a December line read in January).
    ``%d`` reads postlogd's zero-padded and syslogd's space-padded day alike.
    """
    ref = mtime or dt.datetime.now()
    y = year if year is not None else ref.year
    part = part.with_columns(
        time=pl.concat_str([pl.lit(f"{y} "), stamp]).str.strptime(
            TS, "%Y %b %d %H:%M:%S", strict=False)
    )
    if year is not None:
        return part
    # Calendar arithmetic on every row costs twice the parse itself: only when needed.
    limit = ref + dt.timedelta(days=1)
    late = pl.col("time") > limit
    if not part.select(late.any()).item():
        return part
    return part.with_columns(
        time=pl.when(late).then(pl.col("time").dt.offset_by("-1y")).otherwise(pl.col("time")))


def split_lines(
    lines: pl.Series,
    *,
    host: str | None = None,
    year: int | None = None,
    mtime: dt.datetime | None = None,
) -> pl.DataFrame:
    """Turn raw lines into the lines frame (see docs/ARCHITECTURE.md).

    `host` names the server for host-less formats (Dovecot's log file, Rspamd, clamd,
    Roundcube). `year` forces the year of year-less stamps; otherwise it is inferred
    from `mtime` (the file's modification time). Lines whose header cannot be read keep
    a null `time` or `program`; the caller counts them as unparsed.
    """
    raw = lines.cast(pl.String).rename("raw")
    df = pl.DataFrame(raw).with_row_index("_i")
    # Most chunks come from one file in one form: test the common BSD form with one
    # anchored regex and classify the rest only when needed.
    bsd = df.select(pl.col("raw").str.contains(_BSD_STAMP).fill_null(False)).to_series()
    if bsd.all():
        df = df.with_columns(_k=pl.lit("bsd"))
    else:
        df = df.with_columns(_k=pl.when(bsd).then(pl.lit("bsd")).otherwise(_kind(pl.col("raw"))))
    out: list[pl.DataFrame] = []
    sl = _slicer(raw)
    for (kind,), part in df.partition_by("_k", as_dict=True, maintain_order=True).items():
        got = _split_kind(str(kind), part, sl, host=host, year=year, mtime=mtime)
        # A line whose stamp did not parse has no trustworthy fields at all.
        ok = pl.col("time").is_not_null() & pl.col("msg").is_not_null()
        fields = [
            pl.when(ok).then(pl.col(c)).otherwise(None).cast(t).alias(c)
            for c, t in LINES_FRAME.items()
            if c not in ("time", "raw")
        ]
        out.append(got.select("_i", pl.col("time").cast(TS), *fields, pl.col("raw")))
    if not out:
        return pl.DataFrame(schema=LINES_FRAME)
    res = pl.concat(out, how="vertical") if len(out) > 1 else out[0]
    if len(out) > 1:
        res = res.sort("_i")
    return res.drop("_i")


def _split_kind(
    kind: str,
    part: pl.DataFrame,
    sl: Slicer,
    *,
    host: str | None,
    year: int | None,
    mtime: dt.datetime | None,
) -> pl.DataFrame:
    raw = pl.col("raw")
    if kind == "bsd":
        part = _with_year(part, raw.str.slice(0, 15), year, mtime)
        return _program_fields(part, raw.str.slice(16), host, sl)
    if kind == "rfc3339":
        part = part.with_columns(_p=raw.str.find(" ", literal=True))
        p = pl.col("_p")
        part = part.with_columns(
            time=sl(raw, 0, p)  # a null length: the whole line
            .str.slice(0, 26)
            .str.replace(r"(?:Z|[+-]\d\d:?\d\d)$", "")
            .str.replace(r"(\d\d:\d\d:\d\d)[+-].*$", "${1}")
            .str.strptime(TS, "%Y-%m-%dT%H:%M:%S%.f", strict=False)
        )
        return _program_fields(part, sl(raw, p + 1), host, sl)
    if kind == "isospace":
        part = part.with_columns(
            time=raw.str.slice(0, 19).str.strptime(TS, "%Y-%m-%d %H:%M:%S", strict=False)
        )
        return _program_fields(part, raw.str.slice(20), host, sl)
    if kind == "rspamd":
        part = part.with_columns(_b=raw.str.slice(21))
        b = pl.col("_b")
        part = part.with_columns(_sp=b.str.find(" ", literal=True),
                                 _par=b.str.find("(", literal=True))
        return part.with_columns(
            time=raw.str.slice(0, 19).str.strptime(TS, "%Y-%m-%d %H:%M:%S", strict=False),
            host=pl.lit(host, pl.String),
            program=pl.lit("rspamd"),
            pid=sl(b, 0, pl.min_horizontal("_par", "_sp")),  # "9883(rspamd_proxy) ..."
            msg=sl(b, pl.col("_sp") + 1),
        )
    if kind == "clamd":
        return part.with_columns(
            time=raw.str.slice(4, 20).str.replace(r"^(\w{3})  ", "${1} 0")
            .str.strptime(TS, "%b %d %H:%M:%S %Y", strict=False),
            host=pl.lit(host, pl.String),
            program=pl.lit("clamd"),
            pid=pl.lit(None, pl.String),
            msg=raw.str.slice(28),
        )
    # roundcube: "[27-Nov-2026 05:01:02 +0000]: <sess> ..." (zone dropped: local time kept)
    return part.with_columns(
        time=raw.str.slice(1, 20).str.strptime(TS, "%d-%b-%Y %H:%M:%S", strict=False),
        host=pl.lit(host, pl.String),
        program=pl.lit("roundcube"),
        pid=pl.lit(None, pl.String),
        msg=sl(raw, raw.str.find("]: ", literal=True) + 3),
    )
