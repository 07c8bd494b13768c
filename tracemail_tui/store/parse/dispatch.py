"""The parse phase of a chunk: which lines each parser gets, and what it hands on.

`parse_chunk` runs every daemon's parser side by side (see concurrent.py). It reads only
the lines frame and the run's `Needs` and touches no state, so one-shot runs parse the
next chunk on another thread while the engine correlates this one (`Engine.absorb`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from tracemail_tui.store import schema
from tracemail_tui.store.concurrent import run_all
from tracemail_tui.store.correlate import mail as mail_corr
from tracemail_tui.store.needs import Needs
from tracemail_tui.store.parse import (
    clamav,
    dovecot,
    dovecot_mail,
    dovecot_submission,
    postfix,
    roundcube,
    rspamd,
)
from tracemail_tui.store.parse.dovecot import DovecotEvents
from tracemail_tui.store.parse.roundcube import WebmailEvents
from tracemail_tui.store.stats import UNREADABLE, LinesSummary, sample_of, summarize

Counts = pl.DataFrame | dict[str, int]  # program -> lines, as Stats.add_counts takes them

# Programs whose lines a parser takes (or deliberately skips when its views are not asked
# for); every other program's lines are counted as unparsed.
_HANDLED = ("dovecot", "rspamd", "clamd", "clamav-milter")


@dataclass
class DovecotPart:
    """The Dovecot side of one chunk: what the mail correlator, the mailbox view and the
    access correlator each need, plus the line counts for stats."""

    deliveries: pl.DataFrame  # mail_corr.DOVECOT_COLUMNS
    mailbox: pl.DataFrame  # the mailbox view's rows
    events: DovecotEvents | None  # the whole parse, when accesses are asked for
    unparsed: int = 0
    ignored: int = 0
    sample: str | None = None  # one unparsed Dovecot line
    relays: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=dovecot_submission.RELAYS))
    """Messages Dovecot's submission service handed to the MTA (their queue ids)."""


def parse_dovecot(lines: pl.DataFrame, need: Needs) -> DovecotPart:
    """Deliveries, mailbox events and (for accesses) sessions of the Dovecot lines."""
    part = DovecotPart(pl.DataFrame(schema=mail_corr.DOVECOT_COLUMNS), schema.empty("mailbox"),
                       None)
    dv_lines = need.dovecot_lines(lines) if need.dovecot else lines.clear()
    if dv_lines.height == 0:
        return part
    if not need.accesses:
        # No sessions asked: split + deliveries / mailbox rows, not the whole parse
        # (logins, auth, logouts cost more than the rest, even on few lines).
        split = dovecot.split(dv_lines)
        bad = split.filter(pl.col("kind") == "unparsed")
        part.unparsed = bad.height
        part.sample = str(bad.get_column("raw")[0]) if bad.height else None
        dl = dovecot_mail.delivery_lines(split)
        ml = dovecot_mail.mail_log_lines(split)
        if need.mail:
            part.deliveries = schema.to_columns(dovecot_mail.deliveries(split, dl, ml),
                                                mail_corr.DOVECOT_COLUMNS)
            part.relays = dovecot_submission.relays(split)
        if need.mailbox:
            part.mailbox = schema.conform("mailbox", dovecot_mail.mailbox(split, dl, ml))
        return part
    dv = dovecot.parse(dv_lines)
    part.events = dv
    part.unparsed, part.ignored = dv.unparsed, dv.ignored
    by = dv.unparsed_by_process
    part.sample = str(by.get_column("sample")[0]) if by.height else None
    part.deliveries = schema.to_columns(dv.deliveries, mail_corr.DOVECOT_COLUMNS)
    part.relays = dv.relays
    if need.mailbox:
        part.mailbox = schema.conform("mailbox", dv.mailbox)
    return part


def parse_roundcube(lines: pl.DataFrame, need: Needs) -> WebmailEvents | None:
    """Webmail logins of the Roundcube lines (None when accesses are not asked for)."""
    if not need.accesses:
        return None
    rc_lines = lines.filter(roundcube.is_roundcube(pl.col("program")))
    return roundcube.parse(rc_lines) if rc_lines.height else None


def other_programs(lines: pl.DataFrame) -> pl.DataFrame:
    """Lines per program no parser takes (``program``, ``n``, ``sample``): counted as
    unparsed. Lines whose header could not be read give a sample too, with ``n`` 0 (the
    summary counts them)."""
    prog = pl.col("program")
    text = pl.coalesce("raw", "msg") if "raw" in lines.columns else pl.col("msg")
    other = lines.filter(
        prog.is_null() | (~prog.str.starts_with("postfix") & ~prog.is_in(_HANDLED)
                          & ~roundcube.is_roundcube(prog))
    )
    return other.group_by(prog.fill_null(UNREADABLE).alias("program")).agg(
        n=prog.is_not_null().sum().cast(pl.Int64), sample=sample_of(text))


@dataclass
class ParsedChunk:
    """What the parsers made of one chunk, ready for the correlators."""

    summary: LinesSummary
    events: pl.DataFrame  # Postfix events (postfix.EVENTS)
    dovecot: DovecotPart
    web: WebmailEvents | None
    verdicts: pl.DataFrame | None  # None: the mail views were not asked for
    findings: pl.DataFrame | None
    ignored: list[Counts] = field(default_factory=list)
    unparsed: list[Counts] = field(default_factory=list)
    samples: list[pl.DataFrame | dict[str, str | None]] = field(default_factory=list)
    """One unparsed line per program (`Stats.add_samples`)."""

    @property
    def last_time(self) -> dt.datetime | None:
        return self.summary.last_time


def parse_chunk(lines: pl.DataFrame, need: Needs) -> ParsedChunk:
    """Run the parsers `need` asks for over `lines`, side by side."""
    summary, pf, dv, rs, cl, web = run_all(
        lambda: summarize(lines),
        lambda: postfix.parse(need.postfix_lines(lines), sessions=need.accesses)
        if need.postfix else None,
        lambda: parse_dovecot(lines, need),
        lambda: rspamd.parse(lines) if need.mail else None,
        lambda: clamav.parse(lines) if need.mail else None,
        lambda: parse_roundcube(lines, need),
    )
    out = ParsedChunk(summary, pl.DataFrame(schema=postfix.EVENTS), dv, web, None, None)
    if pf is not None:
        out.events = pf.events
        out.ignored.append(pf.ignored)
        out.unparsed.append(pf.unparsed)
        if pf.samples is not None:
            out.samples.append(pf.samples)
    other = other_programs(lines)
    out.unparsed += [{"dovecot": dv.unparsed}, other.select("program", "n")]
    out.samples += [{"dovecot": dv.sample}, other.select("program", "sample")]
    out.ignored += [{"dovecot": dv.ignored},
                    {"roundcube": web.unparsed if web is not None else 0}]
    if rs is not None and cl is not None:
        out.verdicts, out.findings = rs.verdicts, cl.findings
        out.ignored += [{"rspamd": rs.ignored}, cl.ignored]
        out.unparsed.append({"rspamd": rs.unparsed})
        out.samples.append({"rspamd": rs.sample})
    return out
