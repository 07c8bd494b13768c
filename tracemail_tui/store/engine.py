"""The incremental engine: lines frames in, touched rows of every view out.

The same object serves the one-shot CLI (`run`) and the live store: `Engine.feed` takes a
lines frame (any file, any chunk) and returns a `Delta` with, per view, the rows the
chunk created or changed (full rows, same `id` as before) and the ids of rows that no
longer exist (a fallback row replaced by real deliveries). Between chunks it keeps only
the events of *open* keys: queue ids not yet removed (plus a grace window after removal,
so late Dovecot/Rspamd lines from another file still join), held/deferred mail up to
`open_ttl`, and unjoined verdicts/deliveries for `grace`. Memory is bounded by the chunk
size plus that open state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from tracemail_tui.store import schema, sources
from tracemail_tui.store.correlate import mail as mail_corr
from tracemail_tui.store.correlate.smtp_auth import SmtpAuthCorrelator
from tracemail_tui.store.parse import clamav, postfix, rspamd
from tracemail_tui.store.stats import Stats

try:  # Dovecot / Roundcube side (branch `access`); the engine works without it.
    from tracemail_tui.store.correlate.access import AccessCorrelator
    from tracemail_tui.store.parse import dovecot as dovecot_parser
    from tracemail_tui.store.parse.dovecot_mail import combine_deliveries
except ImportError:  # pragma: no cover - depends on which branches are merged
    dovecot_parser = None  # type: ignore[assignment]
    combine_deliveries = None  # type: ignore[assignment]
    AccessCorrelator = None  # type: ignore[assignment,misc]
try:
    from tracemail_tui.store.parse import roundcube as roundcube_parser
except ImportError:  # pragma: no cover
    roundcube_parser = None  # type: ignore[assignment]

VIEWS_OUT = ("accesses", "received", "sent", "mailbox")
_KEYS = ["host", "key"]


@dataclass
class Delta:
    """What one chunk changed: full rows per view, and ids that disappeared."""

    rows: dict[str, pl.DataFrame]
    retracted: dict[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, view: str) -> pl.DataFrame:
        return self.rows[view]


def _empty_delta() -> Delta:
    return Delta({v: schema.empty(v) for v in VIEWS_OUT}, {v: [] for v in VIEWS_OUT})


class Engine:
    """Feed lines frames (see header.split_lines); get the rows each chunk touched."""

    def __init__(
        self,
        *,
        grace: dt.timedelta = dt.timedelta(minutes=15),
        open_ttl: dt.timedelta = dt.timedelta(days=7),
    ) -> None:
        self.grace = grace
        self.open_ttl = open_ttl
        self.stats = Stats()
        self._pf = pl.DataFrame(schema={**postfix.EVENTS, "key": pl.String()})
        self._verdicts = pl.DataFrame(schema=rspamd.VERDICTS)
        self._dv = pl.DataFrame(schema=mail_corr.DOVECOT_COLUMNS)
        self._findings = pl.DataFrame(schema=clamav.FINDINGS)
        self._emitted = pl.DataFrame(schema={"host": pl.String(), "key": pl.String(),
                                             "view": pl.String(), "id": pl.String()})
        self._auth = SmtpAuthCorrelator()
        self._access = AccessCorrelator() if AccessCorrelator is not None else None
        self._now: dt.datetime | None = None

    # ------------------------------------------------------------------ feeding
    def feed(self, lines: pl.DataFrame) -> Delta:
        """Process one chunk of lines; return the rows it touched, per view."""
        if lines.height == 0:
            return _empty_delta()
        self.stats.add_lines(lines)
        st = self.stats
        pf = postfix.parse(lines)
        st.add_counts(st.ignored, pf.ignored)
        st.add_counts(st.unparsed, pf.unparsed)
        rs = rspamd.parse(lines)
        st.add_counts(st.ignored, {"rspamd": rs.ignored})
        st.add_counts(st.unparsed, {"rspamd": rs.unparsed})
        cl = clamav.parse(lines)
        st.add_counts(st.ignored, cl.ignored)
        handled = ["rspamd", "clamd", "clamav-milter"]

        accesses = [self._auth.feed(pf.events)]
        mailbox = [schema.empty("mailbox")]
        new_dv = pl.DataFrame(schema=mail_corr.DOVECOT_COLUMNS)
        if dovecot_parser is not None:
            handled.append("dovecot")
            dv_lines = lines.filter(pl.col("program") == "dovecot")
            if dv_lines.height:
                dv = dovecot_parser.parse(dv_lines)
                st.add_counts(st.unparsed, {"dovecot": dv.unparsed})
                new_dv = dv.deliveries.select(
                    [pl.col(c).cast(t) if c in dv.deliveries.columns
                     else pl.lit(None, t).alias(c)
                     for c, t in mail_corr.DOVECOT_COLUMNS.items()]
                )
                mailbox.append(schema.conform("mailbox", dv.mailbox))
                if self._access is not None:
                    accesses.append(schema.conform("accesses", self._access.feed(dv)))
        if roundcube_parser is not None and self._access is not None:
            is_rc = roundcube_parser.is_roundcube(pl.col("program"))
            handled.extend(p for p in lines.filter(is_rc).get_column("program").unique())
            rc_lines = lines.filter(is_rc)
            if rc_lines.height:
                web = roundcube_parser.parse(rc_lines)
                st.add_counts(st.ignored, {"roundcube": web.unparsed})
                accesses.append(schema.conform("accesses", self._access.feed(webmail=web)))
        other = lines.filter(
            pl.col("program").is_not_null()
            & ~pl.col("program").str.starts_with("postfix")
            & ~pl.col("program").is_in(handled)
        )
        st.add_counts(st.unparsed, other.group_by("program").len("n"))

        received, sent, retracted = self._mail(pf.events, rs.verdicts, new_dv, cl.findings)
        hi = lines.get_column("time").max()
        if isinstance(hi, dt.datetime) and (self._now is None or hi > self._now):
            self._now = hi
        self._prune()
        return Delta(
            rows={
                "accesses": pl.concat(accesses, how="vertical_relaxed"),
                "received": received,
                "sent": sent,
                "mailbox": pl.concat(mailbox, how="vertical_relaxed"),
            },
            retracted=retracted,
        )

    def _mail(
        self,
        events: pl.DataFrame,
        verdicts: pl.DataFrame,
        deliveries: pl.DataFrame,
        findings: pl.DataFrame,
    ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, list[str]]]:
        ev = events.filter(~pl.col("kind").is_in(["sasl_fail", "disconnect"])).filter(
            pl.col("qid").is_not_null() | (pl.col("kind") == "reject")
        )
        touched = [self._assign_keys(ev)]
        self._verdicts = pl.concat([self._verdicts, verdicts])
        self._dv = pl.concat([self._dv, deliveries])
        self._findings = pl.concat([self._findings, findings])
        pf = self._pf
        if verdicts.height:
            qids = verdicts.get_column("qid").drop_nulls().unique()
            touched.append(pf.filter(pl.col("qid").is_in(qids.implode())).select(_KEYS))
        if findings.height:
            qids = findings.get_column("qid").drop_nulls().unique()
            touched.append(pf.filter(pl.col("qid").is_in(qids.implode())).select(_KEYS))
        if deliveries.height:
            # Not by host: the LMTP server is often another machine than the MX.
            sess = deliveries.get_column("session").drop_nulls().unique().implode()
            touched.append(pf.filter(pl.col("session").is_in(sess)).select(_KEYS))
            mids = deliveries.get_column("message_id").drop_nulls().unique().implode()
            touched.append(pf.filter((pl.col("kind") == "message_id")
                                     & pl.col("message_id").is_in(mids)).select(_KEYS))
        keys = pl.concat(touched).unique()
        if keys.height == 0:
            return schema.empty("received"), schema.empty("sent"), {}
        sub = pf.join(keys, on=_KEYS, how="semi")
        sub_qids = sub.get_column("qid").drop_nulls().unique().implode()
        v = self._verdicts.filter(pl.col("qid").is_in(sub_qids))
        f = self._findings.filter(pl.col("qid").is_in(sub_qids))
        sess = sub.get_column("session").drop_nulls().unique().implode()
        mids = sub.get_column("message_id").drop_nulls().unique().implode()
        d = self._dv.filter(pl.col("session").is_in(sess) | pl.col("message_id").is_in(mids))
        if combine_deliveries is not None and d.height:
            # One delivery's lines may have come in several chunks: merge the partial rows.
            d = combine_deliveries(d).select(list(mail_corr.DOVECOT_COLUMNS))
        received, sent = mail_corr.correlate(sub, v, d, f)
        retracted = self._retract(keys, received, sent)
        return received.drop("_key"), sent.drop("_key"), retracted

    def _assign_keys(self, ev: pl.DataFrame) -> pl.DataFrame:
        """Add `ev` to the state and (re)compute message keys; return the touched keys.

        Short queue ids are reused (inode-based), so a key is one *instance* of a queue
        id: ``QID@YYYYMMDDHHMMSS`` of its first event, a new instance starting after a
        ``removed``. NOQUEUE rejects get ``NOQUEUE-<pid>@<their second>``.
        """
        stamp = pl.col("time").dt.strftime("%Y%m%d%H%M%S")
        noq = ev.filter(pl.col("qid").is_null()).with_columns(
            key=pl.concat_str(pl.lit("NOQUEUE-"), pl.col("pid").fill_null("0"), pl.lit("@"),
                              stamp.fill_null("0"))
        )
        withq = ev.filter(pl.col("qid").is_not_null())
        qk = withq.select("host", "qid").unique()
        hit = self._pf.join(qk, on=["host", "qid"], how="semi", nulls_equal=True)
        rest = self._pf.join(qk, on=["host", "qid"], how="anti", nulls_equal=True)
        old_keys = hit.select(_KEYS).unique()
        removed = (pl.col("kind") == "removed").cast(pl.Int32)
        allq = pl.concat([hit, withq.with_columns(key=pl.lit(None, pl.String))]).with_columns(
            _r=removed
        ).sort("host", "qid", "time", "_r", nulls_last=True)
        allq = allq.with_columns(_seg=(pl.col("_r").cum_sum() - pl.col("_r")).over("host", "qid"))
        allq = allq.with_columns(
            key=pl.concat_str(pl.col("qid"), pl.lit("@"),
                              pl.col("time").min().over("host", "qid", "_seg")
                              .dt.strftime("%Y%m%d%H%M%S").fill_null("0"))
        ).drop("_r", "_seg")
        self._pf = pl.concat([rest, allq, noq], how="vertical_relaxed")
        return pl.concat([old_keys, allq.select(_KEYS), noq.select(_KEYS)]).unique()

    def _retract(
        self, keys: pl.DataFrame, received: pl.DataFrame, sent: pl.DataFrame
    ) -> dict[str, list[str]]:
        """Ids emitted before for these keys that the new rows no longer contain."""
        new = pl.concat([
            received.select(host="server", key="_key", view=pl.lit("received"), id="id"),
            sent.select(host="server", key="_key", view=pl.lit("sent"), id="id"),
        ]).select("host", "key", "view", "id")
        old = self._emitted.join(keys, on=_KEYS, how="semi")
        gone = old.join(new, on=["view", "id"], how="anti")
        self._emitted = pl.concat([
            self._emitted.join(keys, on=_KEYS, how="anti"), new
        ])
        out: dict[str, list[str]] = {"received": [], "sent": []}
        for view, ident in gone.select("view", "id").iter_rows():
            out[view].append(ident)
        return out

    def _prune(self) -> None:
        """Drop the events of keys that are done (and old unjoined verdicts/deliveries)."""
        if self._now is None:
            return
        done_before = self._now - self.grace
        stale_before = self._now - self.open_ttl
        state = self._pf.group_by(_KEYS).agg(
            last=pl.col("time").max(),
            final=(pl.col("kind") == "removed").any()
            | (pl.col("kind").eq("action") & pl.col("status").is_in(["reject", "discard"])).any()
            | pl.col("key").first().str.starts_with("NOQUEUE-"),
        )
        drop = state.filter(
            (pl.col("final") & (pl.col("last") < done_before)) | (pl.col("last") < stale_before)
        ).select(_KEYS)
        if drop.height:
            self._pf = self._pf.join(drop, on=_KEYS, how="anti")
            self._emitted = self._emitted.join(drop, on=_KEYS, how="anti")
        # What joined an open key stays as long as the key: a key can be touched again
        # later (a retry, a verdict) and must be recomputed with everything it had.
        open_qids = self._pf.get_column("qid").drop_nulls().unique().implode()
        open_sess = self._pf.get_column("session").drop_nulls().unique().implode()
        open_mids = self._pf.get_column("message_id").drop_nulls().unique().implode()
        recent = pl.col("time") >= done_before
        self._verdicts = self._verdicts.filter(recent | pl.col("qid").is_in(open_qids))
        self._findings = self._findings.filter(recent | pl.col("qid").is_in(open_qids))
        self._dv = self._dv.filter(
            recent | pl.col("session").is_in(open_sess) | pl.col("message_id").is_in(open_mids)
        )

    @property
    def open_keys(self) -> int:
        """How many message keys are held open (for status lines and tests)."""
        return self._pf.select(_KEYS).unique().height


# ---------------------------------------------------------------------- batch run
@dataclass
class Result:
    """Views of a one-shot run (last version of every id) and the run's stats.

    Views are reachable as ``result["received"]``, ``result.received`` or
    ``result.get("received")``. `paths`/`host`/`year`/`hosts` remember how the logs were
    read, so `evidence(result, view, row)` can fetch a row's raw lines again.
    """

    views: dict[str, pl.DataFrame]
    stats: Stats
    paths: list[Path] = field(default_factory=list)
    host: str | None = None
    year: int | None = None
    hosts: Mapping[str, str] | None = None

    def __getitem__(self, view: str) -> pl.DataFrame:
        return self.views[view]

    def get(self, view: str, default: pl.DataFrame | None = None) -> pl.DataFrame | None:
        return self.views.get(view, default)

    @property
    def accesses(self) -> pl.DataFrame:
        return self.views["accesses"]

    @property
    def received(self) -> pl.DataFrame:
        return self.views["received"]

    @property
    def sent(self) -> pl.DataFrame:
        return self.views["sent"]

    @property
    def mailbox(self) -> pl.DataFrame:
        return self.views["mailbox"]


def merged_chunks(
    srcs: list[sources.Source], chunk_bytes: int = sources.CHUNK_BYTES
) -> Iterator[pl.DataFrame]:
    """Lines frames of all sources, interleaved by time up to a common horizon.

    Each *stream* (a file and its rotated predecessors, oldest first) is read chunk by
    chunk; a batch holds every buffered line no later than the earliest "latest time"
    among the streams still being read, so both sides of a join (mail.log and
    dovecot.log, say) reach the engine close together.
    """
    streams: dict[tuple[str, str], list[sources.Source]] = {}
    for s in srcs:
        base = sources.rotation_base(s.path)
        streams.setdefault((str(s.path.parent), base), []).append(s)
    iters = [_stream(group, chunk_bytes) for group in streams.values()]
    bufs: list[pl.DataFrame | None] = [None] * len(iters)
    live = [True] * len(iters)
    while any(live) or any(b is not None and b.height for b in bufs):
        for i, it in enumerate(iters):
            if live[i] and (bufs[i] is None or bufs[i].height == 0):  # type: ignore[union-attr]
                nxt = next(it, None)
                if nxt is None:
                    live[i] = False
                else:
                    bufs[i] = nxt
        horizon: dt.datetime | None = None
        for i, b in enumerate(bufs):
            if live[i] and b is not None and b.height:
                t = b.get_column("time").max()
                if isinstance(t, dt.datetime) and (horizon is None or t < horizon):
                    horizon = t
        out = []
        for i, b in enumerate(bufs):
            if b is None or b.height == 0:
                continue
            if horizon is None or (not live[i] and not any(live)):
                out.append(b)
                bufs[i] = None
                continue
            take = pl.col("time").is_null() | (pl.col("time") <= horizon)
            out.append(b.filter(take))
            bufs[i] = b.filter(~take)
        batch = [o for o in out if o.height]
        if batch:
            yield pl.concat(batch) if len(batch) > 1 else batch[0]


def _stream(group: list[sources.Source], chunk_bytes: int) -> Iterator[pl.DataFrame]:
    for src in group:
        yield from sources.read_chunks(src, chunk_bytes)


def collect(deltas: Iterable[Delta]) -> dict[str, pl.DataFrame]:
    """Fold deltas into views: last version of every id, retracted ids removed."""
    parts: dict[str, list[pl.DataFrame]] = {v: [] for v in VIEWS_OUT}
    gone: dict[str, list[pl.DataFrame]] = {v: [] for v in VIEWS_OUT}
    for seq, delta in enumerate(deltas):
        for view, df in delta.rows.items():
            if df.height:
                parts[view].append(df.with_columns(_seq=pl.lit(seq)))
        for view, ids in delta.retracted.items():
            if ids:
                gone[view].append(pl.DataFrame({"id": ids, "_seq": [seq] * len(ids)},
                                               schema={"id": pl.String, "_seq": pl.Int32}))
    views: dict[str, pl.DataFrame] = {}
    for view in VIEWS_OUT:
        if not parts[view]:
            views[view] = schema.empty(view)
            continue
        df = pl.concat(parts[view], how="vertical_relaxed")
        if view == "mailbox":
            views[view] = df.drop("_seq")
            continue
        df = df.unique("id", keep="last", maintain_order=True)
        if gone[view]:
            g = pl.concat(gone[view]).group_by("id").agg(pl.col("_seq").max().alias("_gone"))
            df = df.join(g, on="id", how="left").filter(
                pl.col("_gone").is_null() | (pl.col("_gone") < pl.col("_seq"))
            ).drop("_gone")
        views[view] = df.drop("_seq").sort("time", "id", nulls_last=True)
    return views


def run(
    paths: Iterable[str | Path],
    *,
    host: str | None = None,
    hosts: Mapping[str, str] | None = None,
    year: int | None = None,
    chunk_bytes: int = sources.CHUNK_BYTES,
    engine: Engine | None = None,
) -> Result:
    """Read `paths` (files/dirs), correlate everything, keep the last version per id."""
    paths_list = list(paths)
    srcs = sources.sources(paths_list, host=host, hosts=hosts, year=year)
    eng = engine or Engine()
    eng.stats.files = [str(s.path) for s in srcs]
    views = collect(eng.feed(chunk) for chunk in merged_chunks(srcs, chunk_bytes))
    return Result(views=views, stats=eng.stats, paths=[Path(p) for p in paths_list],
                  host=host, year=year, hosts=hosts)


def run_lines(frames: Iterable[pl.DataFrame], engine: Engine | None = None) -> Result:
    """Like `run` for lines frames already split (tests, the live store's replays)."""
    eng = engine or Engine()
    views = collect(eng.feed(f) for f in frames)
    return Result(views=views, stats=eng.stats)


def evidence(
    source: Result | pl.DataFrame | Iterable[str | Path],
    view: str,
    row: Mapping[str, Any],
) -> pl.DataFrame:
    """Raw lines (``time, server, program, raw``) behind one row of `view`.

    `source` is a `Result` of `run` (its files are read again), a lines frame, or paths.
    """
    from tracemail_tui.store import evidence as ev

    if isinstance(source, Result):
        return ev.evidence(source.paths, view, row, host=source.host, year=source.year,
                           hosts=source.hosts)
    return ev.evidence(source, view, row)


def as_dicts(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts (ISO times) for JSON output."""
    return df.with_columns(pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.f")).to_dicts()
