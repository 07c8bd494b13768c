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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tracemail_tui.store import schema
from tracemail_tui.store.concurrent import run_all
from tracemail_tui.store.correlate import mail as mail_corr
from tracemail_tui.store.correlate.access import AccessCorrelator
from tracemail_tui.store.correlate.lost import link_lost
from tracemail_tui.store.correlate.smtp_auth import SmtpAuthCorrelator
from tracemail_tui.store.needs import Needs
from tracemail_tui.store.parse import clamav, dovecot_submission, postfix, rspamd
from tracemail_tui.store.parse.dispatch import ParsedChunk, parse_chunk
from tracemail_tui.store.parse.dovecot import DovecotEvents
from tracemail_tui.store.parse.dovecot_mail import combine_deliveries
from tracemail_tui.store.parse.roundcube import WebmailEvents
from tracemail_tui.store.stats import Stats

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
    """Feed lines frames (see header.split_lines); get the rows each chunk touched.

    `views` (default: all) limits the work to what those views need: parsers and
    correlators of other views are skipped and their lines dropped before parsing (see
    needs.py), so `stats` ignored/unparsed counts then cover only the lines parsed.
    Rows of the asked views are the same as a full run's; other views stay empty.
    """

    def __init__(
        self,
        *,
        grace: dt.timedelta = dt.timedelta(minutes=15),
        open_ttl: dt.timedelta = dt.timedelta(days=7),
        views: Iterable[str] | None = None,
    ) -> None:
        self.needs = Needs.of(views)
        self.grace = grace
        self.open_ttl = open_ttl
        self.stats = Stats()
        self._pf = pl.DataFrame(schema={**postfix.EVENTS, "key": pl.String()})
        self._verdicts = pl.DataFrame(schema=rspamd.VERDICTS)
        self._dv = pl.DataFrame(schema=mail_corr.DOVECOT_COLUMNS)
        self._findings = pl.DataFrame(schema=clamav.FINDINGS)
        self._relays = pl.DataFrame(schema=dovecot_submission.RELAYS)
        self._emitted = pl.DataFrame(schema={"host": pl.String(), "key": pl.String(),
                                             "view": pl.String(), "id": pl.String()})
        self._auth = SmtpAuthCorrelator()
        self._access = AccessCorrelator()
        self._now: dt.datetime | None = None
        self._pruned_at: dt.datetime | None = None

    def __setstate__(self, state: dict[str, object]) -> None:
        """Restore a pickled engine (the live ingest restores its state after an upgrade).

        What an older version did not have gets its empty start: `needs` (before views
        could be chosen), `_relays` (before Dovecot submission relays were joined), and
        Postfix event columns added since (``client_port``), so chunks concatenate.
        """
        state.setdefault("needs", Needs())
        state.setdefault("_relays", pl.DataFrame(schema=dovecot_submission.RELAYS))
        self.__dict__.update(state)
        want = {**postfix.EVENTS, "key": pl.String()}
        missing = [c for c in want if c not in self._pf.columns]
        if missing:
            self._pf = self._pf.with_columns(
                pl.lit(None, want[c]).alias(c) for c in missing).select(list(want))

    # ------------------------------------------------------------------ feeding
    def feed(self, lines: pl.DataFrame) -> Delta:
        """Process one chunk of lines; return the rows it touched, per view."""
        if lines.height == 0:
            return _empty_delta()
        return self.absorb(self.parse(lines))

    def parse(self, lines: pl.DataFrame) -> ParsedChunk:
        """The parse phase of `feed`: every daemon's parser over the chunk, side by side.

        Touches no engine state, so it may run on another thread, ahead of `absorb`.
        """
        return parse_chunk(lines, self.needs)

    def absorb(self, parsed: ParsedChunk) -> Delta:
        """The correlation phase of `feed`: chunks must be absorbed in log order.

        The mail and the access correlators share no state and run side by side.
        """
        st = self.stats
        st.add_summary(parsed.summary)
        for counts in parsed.ignored:
            st.add_counts(st.ignored, counts)
        for counts in parsed.unparsed:
            st.add_counts(st.unparsed, counts)
        for samples in parsed.samples:
            st.add_samples(samples)
        if parsed.summary.lines == 0:
            return _empty_delta()
        dv = parsed.dovecot
        verdicts, findings = parsed.verdicts, parsed.findings
        accesses, (received, sent, retracted) = run_all(
            lambda: self._accesses(parsed.events, dv.events, parsed.web),
            lambda: self._mail(parsed.events, verdicts, dv.deliveries, findings, dv.relays)
            if verdicts is not None and findings is not None
            else (schema.empty("received"), schema.empty("sent"), {}),
        )
        hi = parsed.last_time
        if hi is not None and (self._now is None or hi > self._now):
            self._now = hi
        self._prune()
        return Delta(
            rows={
                "accesses": accesses,
                "received": received,
                "sent": sent,
                "mailbox": dv.mailbox,
            },
            retracted=retracted,
        )

    def _accesses(self, events: pl.DataFrame, dv: DovecotEvents | None,
                  web: WebmailEvents | None) -> pl.DataFrame:
        """Access rows of one chunk: SMTP AUTH, then Dovecot sessions, then webmail."""
        if not self.needs.accesses:
            return schema.empty("accesses")
        rows = [schema.empty("accesses"), self._auth.feed(events)]
        if dv is not None:
            rows.append(schema.conform("accesses", self._access.feed(dv)))
        if web is not None:
            rows.append(schema.conform("accesses", self._access.feed(webmail=web)))
        return pl.concat(rows, how="vertical_relaxed")

    def _mail(
        self,
        events: pl.DataFrame,
        verdicts: pl.DataFrame,
        deliveries: pl.DataFrame,
        findings: pl.DataFrame,
        relays: pl.DataFrame | None = None,
    ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, list[str]]]:
        kind = pl.col("kind")
        lost = events.filter(kind == "lost")
        if lost.height:  # sessions that died in DATA: the reject of their message
            ends = kind.is_in(["client", "qmgr"])  # all that link_lost reads
            known = pl.concat([self._pf.filter(ends), events.filter(ends)],
                              how="diagonal_relaxed")
            events = pl.concat([events, link_lost(lost, known)], how="diagonal_relaxed")
        ev = events.filter(
            ~kind.is_in(["sasl_fail", "disconnect", "lost"])
            & (pl.col("qid").is_not_null() | (kind == "reject"))
        )
        touched = [self._assign_keys(ev)]
        self._dv = pl.concat([self._dv, deliveries])
        # Rspamd verdicts, ClamAV findings and Dovecot submission relays all join a message
        # by queue id, not by host (the scanner or the relaying Dovecot may be another
        # machine): kept alike, and each touches the keys of its queue ids.
        news = (verdicts, findings, relays if relays is not None else self._relays.clear())
        self._verdicts, self._findings, self._relays = (
            pl.concat([old, new]) if new.height else old
            for old, new in zip(self._by_qid(), news, strict=True))
        pf = self._pf
        for new in news:
            if new.height:
                qids = new.get_column("qid").drop_nulls().unique().implode()
                touched.append(pf.filter(pl.col("qid").is_in(qids)).select(_KEYS))
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
        v, f, r = (side.filter(pl.col("qid").is_in(sub_qids)) for side in self._by_qid())
        sess = sub.get_column("session").drop_nulls().unique().implode()
        mids = sub.get_column("message_id").drop_nulls().unique().implode()
        d = self._dv.filter(pl.col("session").is_in(sess) | pl.col("message_id").is_in(mids))
        if d.height:
            # One delivery's lines may have come in several chunks: merge the partial rows
            # (only then: merging costs a group-by, and most deliveries fit in one chunk).
            dkey = pl.coalesce("session", pl.concat_str(pl.lit("lda:"), "user", pl.lit(":"),
                                                        "message_id"))
            if d.select(pl.struct(pl.col("host"), dkey).is_unique().all()).item():
                d = d.sort("time", maintain_order=True)
            else:
                d = combine_deliveries(d).select(list(mail_corr.DOVECOT_COLUMNS))
        received, sent = mail_corr.correlate(sub, v, d, f, r)
        retracted = self._retract(keys, received, sent)
        return received.drop("_key"), sent.drop("_key"), retracted

    def _by_qid(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """The state joined to messages by queue id: verdicts, findings, relays."""
        return self._verdicts, self._findings, self._relays

    def _assign_keys(self, ev: pl.DataFrame) -> pl.DataFrame:
        """Add `ev` to the state and (re)compute message keys; return the touched keys.

        Short queue ids are reused (inode-based), so a key is one *instance* of a queue
        id: ``QID@YYYYMMDDHHMMSS`` of its first event, a new instance starting after a
        ``removed``. NOQUEUE rejects get ``NOQUEUE-<pid>@<their second>``; postscreen's,
        whose one process rejects many clients a second, ``NOQUEUE-<pid>.<client port>@…``.
        """
        stamp = pl.col("time").dt.strftime("%Y%m%d%H%M%S")
        port = pl.when(pl.col("client_port").is_not_null()).then(
            pl.concat_str(pl.lit("."), pl.col("client_port"))).otherwise(pl.lit(""))
        noq = ev.filter(pl.col("qid").is_null()).with_columns(
            key=pl.concat_str(pl.lit("NOQUEUE-"), pl.col("pid").fill_null("0"), port,
                              pl.lit("@"), stamp.fill_null("0"))
        )
        withq = ev.filter(pl.col("qid").is_not_null())
        qk = withq.select("host", "qid").unique()
        hit = self._pf.join(qk, on=["host", "qid"], how="semi", nulls_equal=True)
        rest = self._pf.join(qk, on=["host", "qid"], how="anti", nulls_equal=True)
        old_keys = hit.select(_KEYS).unique()
        removed = (pl.col("kind") == "removed").cast(pl.Int32)
        allq = pl.concat([hit, withq.with_columns(key=pl.lit(None, pl.String))])
        # Keys are computed on a narrow sorted copy and put back in arrival order: sorting
        # the wide event rows cost more than the rest of the key assignment.
        nk = allq.select("host", "qid", "time", _r=removed).with_row_index("_n").sort(
            "host", "qid", "time", "_r", nulls_last=True
        )
        nk = nk.with_columns(_seg=(pl.col("_r").cum_sum() - pl.col("_r")).over("host", "qid"))
        nk = nk.select(
            "_n",
            key=pl.concat_str(pl.col("qid"), pl.lit("@"),
                              pl.col("time").min().over("host", "qid", "_seg")
                              .dt.strftime("%Y%m%d%H%M%S").fill_null("0")),
        ).sort("_n")
        allq = allq.with_columns(key=nk.get_column("key"))
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
        """Drop the events of keys that are done (and old unjoined verdicts/deliveries).

        Runs when the log clock moved on by a fifth of `grace` since the last pass:
        pruning is a group-by over the whole state, and keys only become droppable
        `grace` after their last event anyway.
        """
        if self._now is None:
            return
        if self._pruned_at is not None and self._now - self._pruned_at < self.grace / 5:
            return
        self._pruned_at = self._now
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
        self._verdicts, self._findings, self._relays = (
            side.filter(recent | pl.col("qid").is_in(open_qids)) for side in self._by_qid())
        self._dv = self._dv.filter(
            recent | pl.col("session").is_in(open_sess) | pl.col("message_id").is_in(open_mids)
        )
        (self._pf, self._emitted, self._verdicts, self._dv, self._findings,
         self._relays) = (
            schema.compact(f)
            for f in (self._pf, self._emitted, self._verdicts, self._dv, self._findings,
                      self._relays)
        )
        self._auth.compact()
        self._access.compact()

    @property
    def open_keys(self) -> int:
        """How many message keys are held open (for status lines and tests)."""
        return self._pf.select(_KEYS).unique().height


# One-shot runs live in batch.py (which imports this module); they are reachable here
# too, lazily, so callers need only `engine`: engine.run, engine.Result, engine.evidence...
_BATCH_NAMES = frozenset(
    {"Result", "as_dicts", "collect", "evidence", "merged_chunks", "run", "run_lines"}
)


def __getattr__(name: str) -> Any:
    if name in _BATCH_NAMES:
        from tracemail_tui.store import batch

        return getattr(batch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
