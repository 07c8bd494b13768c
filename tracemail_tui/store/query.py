"""The query API shared by the CLI and the TUI: view + filters -> Polars frames.

Screens and commands never reach into the store's files; they describe what they want
with `Filters` and ask a `Source` (an in-memory result of one engine run, or the
persistent Parquet store) for a LazyFrame. Filters are plain Polars expressions, so the
persistent store can push them down to its partitions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Protocol

import polars as pl

from tracemail_tui.store import schema
from tracemail_tui.store.breakdown import NONE_LABEL, group_expr

UNKNOWN_USER = "unknown-user"  # the accesses `error` of an attempt with no such account

# Columns the free-text filter searches, per view.
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "accesses": ("user", "remote_ip", "session", "client", "error"),
    "received": ("sender", "recipient", "subject", "message_id", "client_ip", "queue_id"),
    "sent": ("sender", "recipient", "subject", "message_id", "relay_host", "queue_id"),
}

# Address columns whose domain puts a row inside a scope, per view: a row belongs to a
# customer's scope when the account it is about is theirs, or when only the counterpart
# is (mail from another domain to ours, mail of ours to another domain).
SCOPE_COLUMNS: dict[str, tuple[str, ...]] = {
    "accesses": ("user",),
    "received": ("recipient", "sender"),
    "sent": ("sender", "account", "recipient"),
    "mailbox": ("user",),
}

# The account a row is "about" (the `--account` filter), per view. A received row is also
# about the alias the sender wrote to (`orig_recipient`): "did sales@ get the order?"
# finds the rows of the mailboxes sales@ expanded to.
ACCOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "accesses": ("user",),
    "received": ("recipient", "orig_recipient"),
    "sent": ("sender", "account"),
}


@dataclass(frozen=True)
class Filters:
    """What the user asked for. `None` means "no restriction"."""

    domain: str | None = None
    account: str | None = None
    date: dt.date | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    status: str | None = None
    text: str | None = None
    scope: tuple[str, ...] = ()
    hide_unknown: bool = False
    """Accesses: leave out attempts with an unknown user name (brute-force noise), unless
    an account is asked for: then its every attempt counts, a mistyped name included."""
    group: tuple[str, str | None] | None = None
    """(key, value) of a breakdown (`breakdown.KEYS`) the user picked: only its rows."""

    def with_(self, **changes: Any) -> Filters:
        """A copy with some fields changed (filters are immutable values)."""
        return replace(self, **changes)

    def describe(self) -> dict[str, str]:
        """The non-empty filters as strings, for report headers and status lines."""
        out = {k: str(v) for k, v in self.__dict__.items()
               if v not in (None, "", ()) and not isinstance(v, bool) and k != "group"}
        if self.group is not None:
            name, value = self.group
            out[name.replace("_", " ")] = NONE_LABEL if value is None else value
        if self.scope:
            out["scope"] = ",".join(self.scope)
        if self.hides_unknown("accesses"):
            out["unknown users"] = "hidden"
        return out

    def hides_unknown(self, view: str) -> bool:
        """Whether `unknown-user` attempts are left out of `view` (see `hide_unknown`)."""
        return self.hide_unknown and view == "accesses" and not self.account


def scope_expr(view: str, domains: tuple[str, ...]) -> pl.Expr:
    """True for rows of `view` that concern one of `domains` (see SCOPE_COLUMNS)."""
    wanted = [d.strip().lower() for d in domains if d.strip()]
    hit = pl.lit(False)
    for c in SCOPE_COLUMNS[view]:
        dom = pl.col(c).str.to_lowercase().str.extract(r"@([^@>\s]+)$", 1)
        hit |= dom.is_in(wanted).fill_null(False)
    return hit


def filter_expr(view: str, f: Filters) -> pl.Expr:
    """One boolean expression for all filters of `f` on `view` (case-insensitive addresses)."""
    cond = pl.lit(True)
    if f.scope:
        cond &= scope_expr(view, f.scope)
    if f.domain:
        cond &= pl.col("domain") == f.domain.strip().lower()
    if f.account:
        acct = f.account.strip().lower()
        cols = ACCOUNT_COLUMNS[view]
        any_match = pl.lit(False)
        for c in cols:
            any_match |= pl.col(c).str.to_lowercase() == acct
        cond &= any_match.fill_null(False)
    if f.date is not None:
        start = dt.datetime.combine(f.date, dt.time())
        cond &= (pl.col("time") >= start) & (pl.col("time") < start + dt.timedelta(days=1))
    if f.since is not None:
        cond &= pl.col("time") >= f.since
    if f.until is not None:
        cond &= pl.col("time") < f.until
    if f.status:
        cond &= pl.col("status") == f.status
    if f.hides_unknown(view):
        cond &= (pl.col("error") != UNKNOWN_USER).fill_null(True)
    if f.group is not None:
        cond &= group_expr(view, *f.group)
    if f.text:
        needle = f.text.lower()
        hit = pl.lit(False)
        for c in TEXT_COLUMNS[view]:
            hit |= pl.col(c).str.to_lowercase().str.contains(needle, literal=True).fill_null(False)
        cond &= hit
    return cond


def apply(view: str, lf: pl.LazyFrame, f: Filters) -> pl.LazyFrame:
    """Filter a view's LazyFrame and sort it by time (newest last, as a log reads).

    Rows of one second are ordered by `id` (the three views have one), so a search of
    the store lists them as a search of the logs does, whatever order they arrived in.
    """
    by = ["time", "id"] if view in schema.VIEWS else ["time"]
    return lf.filter(filter_expr(view, f)).sort(by, nulls_last=True, maintain_order=True)


def count_by_status(view: str, lf: pl.LazyFrame) -> dict[str, int]:
    """Counts per status word of `view` (every word present, zero when absent)."""
    got = lf.group_by("status").len().collect()
    counts = dict.fromkeys(schema.STATUSES[view], 0)
    for status, n in got.iter_rows():
        if status is not None:
            counts[status] = counts.get(status, 0) + n
    return counts


class Source(Protocol):
    """Where views come from: `MemoryStore` here, the Parquet store in `partitions.py`."""

    def scan(self, view: str) -> pl.LazyFrame:
        """All rows of `view` (or of `mailbox` / `lines`) as a LazyFrame."""
        ...

    @property
    def generation(self) -> int:
        """Increases whenever new data arrived (the TUI refreshes when it changes)."""
        ...


class MemoryStore:
    """Views held in memory, e.g. the result of one engine run over log files."""

    def __init__(self, frames: dict[str, pl.DataFrame] | None = None) -> None:
        self._frames: dict[str, pl.DataFrame] = {
            name: schema.empty(name) for name in schema.SCHEMAS
        }
        self._generation = 0
        if frames:
            self.replace(frames)

    def replace(self, frames: dict[str, pl.DataFrame]) -> None:
        """Swap in new frames (whole views) and bump the generation."""
        for name, df in frames.items():
            self._frames[name] = df
        self._generation += 1

    def scan(self, view: str) -> pl.LazyFrame:
        return self._frames[view].lazy()

    @property
    def generation(self) -> int:
        return self._generation


def query(source: Source, view: str, f: Filters) -> pl.LazyFrame:
    """The rows of `view` matching `f`, oldest first."""
    return apply(view, source.scan(view), f)


def counts(source: Source, view: str, f: Filters) -> dict[str, int]:
    """Counts per status of the rows matching every filter of `f` except status.

    The summary line shows all outcomes side by side, so the status filter itself
    must not zero the others.
    """
    return count_by_status(view, source.scan(view).filter(filter_expr(view, f.with_(status=None))))
