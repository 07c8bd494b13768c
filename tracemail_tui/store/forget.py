"""Which rows are "about" an account, for erasure (GDPR right to be forgotten).

Erasure is broader than the `--account` filter: a row goes when the address appears in
any address column (as sender too, as alias target, forwarded to), plus-tagged variants
included (``alice+news@example.com`` is alice's mail), and a raw line goes when its text
mentions the address.
"""

from __future__ import annotations

import re

import polars as pl

from tracemail_tui.store.partwrite import DayWriter

ADDRESS_COLUMNS: dict[str, tuple[str, ...]] = {
    "accesses": ("user",),
    "received": ("recipient", "sender", "orig_recipient", "forwarded_to"),
    "sent": ("sender", "account", "recipient"),
    "mailbox": ("user",),
    "lines": ("raw",),
}


def account_pattern(account: str) -> str:
    """A case-insensitive regex matching `account` as a whole address (plus tags too)."""
    acct = account.strip().lower()
    if not acct or any(c.isspace() for c in acct):
        raise ValueError(f"not an account: {account!r}")
    local, at, domain = acct.partition("@")
    body = re.escape(local) + (r"(?:\+[^@\s<>]*)?@" + re.escape(domain) if at else "")
    # Address characters must not continue on either side ("hal@" is not "al@").
    return r"(?i)(?:^|[^\w.+\-])" + body + r"(?:$|[^\w.\-])"


def account_match(table: str, account: str) -> pl.Expr:
    """True for rows of `table` that concern `account`."""
    pat = account_pattern(account)
    hit = pl.lit(False)
    for col in ADDRESS_COLUMNS[table]:
        hit |= pl.col(col).str.contains(pat).fill_null(False)
    return hit


def rewrite_without(writer: DayWriter, tables: tuple[str, ...],
                    account: str) -> dict[str, int]:
    """Rewrite every committed partition holding rows about `account` without them.

    New files go through `writer` (into its manifest; the old ones are listed in
    `writer.superseded`); returns the rows removed per table.
    """
    removed = dict.fromkeys(tables, 0)
    for t in tables:
        for day, parts in writer.new.parts.get(t, {}).items():
            for i, part in enumerate(parts):
                df = pl.read_parquet(writer.root / part.name)
                kept = df.filter(~account_match(t, account))
                if kept.height == df.height:
                    continue
                removed[t] += df.height - kept.height
                parts[i] = writer.write_file(t, day, kept, f"f{i}")
                writer.superseded.add(part.name)
    return removed
