"""CSV summary of a result list: DESIGN.md fields, RFC 4180, safe to open in a spreadsheet.

Each slice of the frame is formatted with Polars expressions and appended to the output,
so a million-row result is written in bounded memory (no second full copy of the frame).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Final

import polars as pl

from tracemail_tui.export.fields import check_view, design_fields
from tracemail_tui.export.redact import Redactor
from tracemail_tui.fileperm import secure_open

BATCH_ROWS: Final = 50_000
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to spreadsheets (OWASP CSV injection)."""

ISO_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.f"  # %.f prints fractions only when non-zero


def neutralise(expr: pl.Expr) -> pl.Expr:
    """Prefix text cells that a spreadsheet would run as a formula with `'` (OWASP).

    Applied only to text columns: numbers such as a spam score of -0.5 stay numbers.
    """
    pattern = "^[" + "".join(FORMULA_START).replace("-", r"\-") + "]"
    return pl.when(expr.str.contains(pattern)).then(pl.lit("'") + expr).otherwise(expr)


def _cell(name: str, dtype: pl.DataType) -> pl.Expr:
    """Expression rendering column `name` as its CSV text (null stays null → empty cell)."""
    col = pl.col(name)
    if dtype == pl.String:
        return neutralise(col).alias(name)
    if isinstance(dtype, pl.Datetime):
        # %.f gives 3/6/9 digits; trim trailing zeros like the PDF does (.150 → .15).
        text = col.dt.strftime(ISO_FORMAT)
        return text.str.replace(r"\.(\d*[1-9])0+$", ".${1}").alias(name)
    if dtype == pl.Boolean:
        return pl.when(col).then(pl.lit("true")).when(col.not_()).then(pl.lit("false")).alias(name)
    if dtype.is_float():
        # NaN means "not computed" (Rspamd logs score=nan for forced actions): unknown → empty.
        return pl.when(col.is_nan()).then(None).otherwise(col).cast(pl.String).alias(name)
    if dtype.is_numeric():
        return col.cast(pl.String).alias(name)
    # Anything else (lists, dates...) is shown as text and treated as text.
    return neutralise(col.cast(pl.String)).alias(name)


def csv_columns(view: str, df: pl.DataFrame, *, extras: bool = False) -> list[str]:
    """Columns written for `view`: the DESIGN.md fields, plus the frame's other columns
    (schema extras) when `extras` is set."""
    fields = list(design_fields(view))
    if extras:
        fields += [c for c in df.columns if c not in fields]
    return fields


def format_batch(batch: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """One slice as text columns ready for CSV (missing contract columns become empty)."""
    exprs = []
    for name in columns:
        if name in batch.columns:
            exprs.append(_cell(name, batch.schema[name]))
        else:
            exprs.append(pl.lit(None, dtype=pl.String).alias(name))
    return batch.select(exprs)


@contextmanager
def _binary_out(target: str | os.PathLike[str] | IO[bytes] | IO[str]) -> Iterator[IO[bytes]]:
    """A binary stream for a path, a binary file or a text file (written via its buffer)."""
    if isinstance(target, str | os.PathLike):
        with secure_open(target, "wb") as fh:  # personal data: 0600
            yield fh
        return
    if isinstance(target, io.TextIOBase):
        target.flush()
        buffer = getattr(target, "buffer", None)
        if buffer is None:  # e.g. io.StringIO: collect bytes, decode once at the end
            sink = io.BytesIO()
            yield sink
            target.write(sink.getvalue().decode("utf-8"))
            return
        yield buffer
        buffer.flush()
        return
    yield target  # type: ignore[misc]


def write_csv(
    df: pl.DataFrame,
    path_or_file: str | os.PathLike[str] | IO[bytes] | IO[str],
    *,
    view: str,
    excel: bool = False,
    redact: Redactor | None = None,
    extras: bool = False,
    batch_rows: int = BATCH_ROWS,
    header: bool = True,
) -> int:
    """Write the result list `df` of `view` as CSV; return the number of rows written.

    UTF-8, header = DESIGN.md field names, ISO 8601 times, null → empty cell, booleans
    `true`/`false`, text cells neutralised against formula injection. `excel=True` adds a
    BOM and uses `;` and CRLF, which Excel opens correctly in every locale. `redact`
    pseudonymises addresses/IPs and drops subjects (see `redact.Redactor`).
    """
    check_view(view)
    columns = csv_columns(view, df, extras=extras)
    separator = ";" if excel else ","
    terminator = "\r\n" if excel else "\n"
    with _binary_out(path_or_file) as out:
        if excel and header:
            out.write("\ufeff".encode())
        if header:  # off for the later batches of a stream (`search --follow`)
            # The header line is written by Polars too, so quoting rules stay identical.
            names = pl.DataFrame(schema={name: pl.String for name in columns})
            names.write_csv(out, separator=separator, line_terminator=terminator)
        for offset in range(0, df.height, batch_rows):
            batch = df.slice(offset, batch_rows)
            if redact is not None:
                batch = redact.frame(batch, view)
            format_batch(batch, columns).write_csv(
                out,
                include_header=False,
                separator=separator,
                line_terminator=terminator,
                null_value="",
                quote_style="necessary",
            )
    return df.height


def write_frame_csv(df: pl.DataFrame, path_or_file: str | os.PathLike[str] | IO[str]) -> int:
    """A small derived table (a breakdown) as CSV, its own columns, the same cell rules
    (formula-safe text, null → empty); returns the number of rows written."""
    with _binary_out(path_or_file) as out:
        format_batch(df, df.columns).write_csv(out, null_value="", quote_style="necessary")
    return df.height
