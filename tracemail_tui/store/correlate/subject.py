"""Choosing and decoding a message's subject from what Postfix and Dovecot logged.

Postfix (``header_checks`` INFO) logs the *raw* header, cut at about 200 characters:
RFC 2047 words are still encoded, and every folded line break and control byte became
``?``. Dovecot's ``mail_log`` logs the decoded subject but cuts it at 80 characters
(``...``). We prefer Dovecot's when it is complete (it is exact), else Postfix's decoded
value, which is longer. A ``?`` + space can be a genuine question mark or a fold; it is
taken for a fold only where Dovecot's prefix proves it. Only rows that need it go
through Python (``map_elements`` over distinct values), the rest stays vectorised.
"""

from __future__ import annotations

import re
from email.errors import MessageError  # HeaderParseError: broken base64 word
from email.header import decode_header, make_header
from typing import Final

import polars as pl

_FOLD_BETWEEN_WORDS: Final = re.compile(r"\?=\?(\s+)=\?")
_DOVECOT_CUT: Final = "..."
# Postfix logs ~200 characters of a header; `email.header`'s regex is quadratic on long
# hostile values (`=?a?q?x` repeated), so longer values are kept raw.
MAX_DECODE: Final = 4096


def decode_rfc2047(raw: str) -> str:
    """Decode encoded words of a Postfix-logged header value; keep it raw if broken."""
    if "=?" not in raw or len(raw) > MAX_DECODE:
        return raw
    text = _FOLD_BETWEEN_WORDS.sub(r"?=\1=?", raw)
    try:
        return str(make_header(decode_header(text)))
    except (UnicodeError, LookupError, ValueError, AssertionError, MessageError):
        return raw


def _unfold_if_proven(decoded: str, dovecot: str | None) -> str:
    """Turn ``? `` back into the folded space when Dovecot's text shows it was one."""
    if "? " not in decoded or not dovecot:
        return decoded
    prefix = dovecot[: -len(_DOVECOT_CUT)] if dovecot.endswith(_DOVECOT_CUT) else dovecot
    unfolded = decoded.replace("? ", " ")
    if unfolded.startswith(prefix) and not decoded.startswith(prefix):
        return unfolded
    return decoded


def _choose(pair: dict[str, str | None]) -> str | None:
    raw, dv = pair["p"], pair["d"]
    if raw is None:
        return dv
    return _unfold_if_proven(decode_rfc2047(raw), dv)


def merge_subjects(df: pl.DataFrame, postfix: str, dovecot: str) -> pl.DataFrame:
    """Add ``subject`` and ``subject_source`` from the `postfix` (raw) and `dovecot` columns."""
    p, d = pl.col(postfix), pl.col(dovecot)
    dv_complete = d.is_not_null() & ~d.str.ends_with(_DOVECOT_CUT)
    use_dv = dv_complete | p.is_null()
    plain = (p.is_not_null() & ~p.str.contains("=?", literal=True)
             & ~p.str.contains("? ", literal=True))
    df = df.with_columns(
        subject_source=pl.when(use_dv & d.is_not_null()).then(pl.lit("dovecot"))
        .when(p.is_not_null()).then(pl.lit("postfix")),
        _needs_py=~use_dv & ~plain,
    )
    needs = df.filter(pl.col("_needs_py")).select(p.alias("p"), d.alias("d")).unique()
    if needs.height:
        fixed = needs.with_columns(
            _fixed=pl.struct("p", "d").map_elements(_choose, return_dtype=pl.String)
        )
        df = df.join(
            fixed.rename({"p": postfix, "d": dovecot}), on=[postfix, dovecot],
            how="left", nulls_equal=True,
        )
    else:
        df = df.with_columns(_fixed=pl.lit(None, pl.String))
    return df.with_columns(
        subject=pl.when(use_dv).then(d).when(pl.col("_needs_py")).then(pl.col("_fixed")).otherwise(p)
    ).drop("_needs_py", "_fixed")
