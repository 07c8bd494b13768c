"""Writing result frames: aligned plain-text table, JSON, JSON Lines, CSV.

Log content is hostile: the table escapes control characters (ANSI/OSC escapes, BEL,
bidi overrides) so a terminal shows them as text, and never interprets markup. JSON
keeps values exact (ISO times, nulls as null); CSV goes through the export module when
it exists (formula neutralisation lives there).
"""

from __future__ import annotations

import io
from typing import IO, Final, cast

import polars as pl

from tracemail_tui.export import csv_export
from tracemail_tui.export.text import ESCAPED_CLASS, visible
from tracemail_tui.store.breakdown import NONE_LABEL

TABLE_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "accesses": ("time", "status", "error", "user", "protocol", "remote_ip", "client",
                 "logout_time", "server"),
    "received": ("time", "status", "delivery", "sender", "recipient", "folder", "subject",
                 "reason", "queue_id", "server"),
    "sent": ("time", "status", "sender", "recipient", "account", "relay_host", "dsn",
             "subject", "reason", "queue_id", "server"),
}
MAX_CELL: Final = 60
# Valid raw inside JSON strings, but line breaks to JavaScript and to Python's
# `str.splitlines`: a JSONL reader would cut a record in two. Escaped, they stay exact.
_JSON_LINE_BREAKS: Final = (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _escape_breaks(text: str) -> str:
    """Escape the line breaks above; `str.replace` (not `translate`, ~70x slower)."""
    for raw, escaped in _JSON_LINE_BREAKS:
        text = text.replace(raw, escaped)
    return text


def escape(text: str) -> str:
    """Make a value safe for a terminal: C0/C1 controls, DEL, bidi and invisible format
    characters, line separators and lone surrogates become visible escapes (the same
    rules as reports: `export.text.visible`)."""
    return visible(text)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ")
    text = escape(str(value))
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _cells(col: pl.Series, max_cell: int | None = MAX_CELL) -> pl.Series:
    """`_cell` of every value of a column, computed by Polars (a Python call per cell
    took 3.4 s for a 250k-row result). Only values holding a character to escape go
    through `visible` (one Python call each; rare). Longer than `max_cell`: cut."""
    if col.dtype == pl.Datetime:
        # isoformat(sep=" "): microseconds only when non-zero
        return col.dt.to_string("%Y-%m-%d %H:%M:%S%.6f").str.replace(r"\.000000$", "") \
            .fill_null("-")
    if col.dtype == pl.Date:
        return col.dt.to_string("%Y-%m-%d").fill_null("-")
    if col.dtype != pl.String:
        return pl.Series(col.name, [_cell(v) for v in col], pl.String)
    hit = col.str.contains(ESCAPED_CLASS).fill_null(False)
    if hit.any():
        at = hit.arg_true()
        col = col.clone().scatter(at, [escape(v) for v in col.gather(at)])  # never the caller's
    c = pl.col(col.name)
    if max_cell is None:
        return col.fill_null("-")
    return col.to_frame().select(
        pl.when(c.str.len_chars() > max_cell).then(c.str.slice(0, max_cell - 1) + "…")
        .otherwise(c).fill_null("-")
    ).to_series()


def _binary(out: IO[str]) -> IO[bytes] | None:
    """The byte stream under a UTF-8 text stream (stdout, an opened file), else None."""
    binary = getattr(out, "buffer", None)
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return binary if binary is not None and encoding == "utf8" else None


def write_table(df: pl.DataFrame, out: IO[str], view: str, *,
                widths: dict[str, int] | None = None, header: bool = True) -> None:
    """Aligned columns, one row per line, a header line first (unless `header` is off).

    `widths` fixes each column's width (values cut to it): rows printed in several
    batches (`search --follow`) then line up under one header.
    """
    cols = [c for c in TABLE_COLUMNS.get(view, tuple(df.columns)) if c in df.columns]
    fixed = widths or {}
    cells = pl.DataFrame([_cells(df.get_column(c), fixed.get(c, MAX_CELL)) for c in cols]) \
        if cols else pl.DataFrame()
    widths_ = [fixed[c] if c in fixed
               else max(len(c), cast(int, cells.get_column(c).str.len_chars().max() or 0))
               for c in cols]
    if header:
        out.write("  ".join(c[:w].ljust(w) for c, w in zip(cols, widths_, strict=True))
                  .rstrip() + "\n")
    if cells.height == 0:
        return
    lines = cells.select(pl.concat_str(
        [pl.col(c).str.pad_end(w) for c, w in zip(cols, widths_, strict=True)], separator="  ",
    ).str.strip_chars_end())
    binary = _binary(out)
    if binary is None:
        out.write("\n".join(lines.to_series().to_list()) + "\n")
        return
    # One value per line, nothing to quote (controls are escaped): Polars writes the bytes.
    buf = io.BytesIO()
    lines.write_csv(buf, include_header=False, quote_style="never")
    out.flush()
    binary.write(buf.getvalue())


def write_breakdown(df: pl.DataFrame, out: IO[str], key: str) -> None:
    """A breakdown (`value`, `rows`, `share`) as aligned text: counts first, right-aligned,
    then the whole value (escaped, never cut: a reason pattern's end is what tells)."""
    rows = df.get_column("rows").cast(pl.String)
    share = (df.get_column("share") * 100).round(1).cast(pl.String) + "%"
    value = _cells(df.get_column("value").fill_null(NONE_LABEL), max_cell=None)
    w_rows = max(4, cast(int, rows.str.len_chars().max() or 0))
    w_share = max(5, cast(int, share.str.len_chars().max() or 0))
    out.write(f"{'rows'.rjust(w_rows)}  {'share'.rjust(w_share)}  {key}\n")
    lines = pl.DataFrame({"r": rows, "s": share, "v": value}).select(pl.concat_str(
        [pl.col("r").str.pad_start(w_rows), pl.col("s").str.pad_start(w_share), pl.col("v")],
        separator="  "))
    if lines.height:
        out.write("\n".join(lines.to_series().to_list()) + "\n")


def _jsonable(df: pl.DataFrame) -> list[dict[str, object]]:
    return _iso(df).to_dicts()


JSON_BATCH: Final = 50_000
"""Rows serialised at a time by Polars' own JSON writer (no Python dict per row)."""


def _iso(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col(pl.Datetime).dt.to_string("%Y-%m-%dT%H:%M:%S%.f").str.replace(r"\.$", "")
    )


_JSON_LINE_BREAKS_UTF8: Final = tuple((raw.encode(), esc.encode())
                                      for raw, esc in _JSON_LINE_BREAKS)


def _json_bytes(df: pl.DataFrame, lines: bool) -> bytes:
    """Polars' JSON (array or lines) of `df` as UTF-8, line breaks escaped.

    Bytes, not text: a 250k-row result is ~170 MB of JSON, and a Python str of it costs
    a decode, three slow scans and an encode (~1.5 s; this way ~0.6 s). The UTF-8 forms
    of U+0085/U+2028/U+2029 cannot occur inside another character's encoding.
    """
    buf = io.BytesIO()
    frame = _iso(df)
    if lines:
        frame.write_ndjson(buf)
    else:
        frame.write_json(buf)
    data = buf.getvalue()
    for raw, escaped in _JSON_LINE_BREAKS_UTF8:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def write_json(df: pl.DataFrame, out: IO[str]) -> None:
    """One JSON array of objects with the view's fields (ISO times, nulls as null)."""
    binary = _binary(out)
    out.write("[")
    for i, start in enumerate(range(0, df.height, JSON_BATCH)):
        if i:
            out.write(",")
        part = df.slice(start, JSON_BATCH)
        if binary is not None:
            out.flush()
            binary.write(_json_bytes(part, lines=False).strip()[1:-1])
        else:
            out.write(_escape_breaks(_iso(part).write_json()).strip()[1:-1])
    out.write("]\n")


def write_jsonl(df: pl.DataFrame, out: IO[str]) -> None:
    """One JSON object per line."""
    binary = _binary(out)
    for start in range(0, df.height, JSON_BATCH):
        part = df.slice(start, JSON_BATCH)
        if binary is not None:
            out.flush()
            binary.write(_json_bytes(part, lines=True))
        else:
            out.write(_escape_breaks(_iso(part).write_ndjson()))


def write_csv(df: pl.DataFrame, out: IO[str], view: str) -> None:
    """CSV summary (DESIGN.md columns, formula-safe) through the export module."""
    csv_export.write_csv(df, out, view=view)
