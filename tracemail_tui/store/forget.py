"""Which rows are "about" an account, for erasure (GDPR right to be forgotten).

Erasure is broader than the `--account` filter: a row goes when the address appears in
any address column (as sender too, as alias target, forwarded to), plus-tagged variants
included (``alice+news@example.com`` is alice's mail), and a raw line goes when its text
mentions the address.
"""

from __future__ import annotations

import re

import polars as pl

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
