"""JSON / JSON Lines output: exact values, one record per line whatever the log held."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.cli import output

HOSTILE = ["line\u2028sep", "para\u2029sep", "next\x85line", "nl\nand\rcr", "plain"]


def _frame(n: int = 5) -> pl.DataFrame:
    return pl.DataFrame({
        "time": [dt.datetime(2026, 11, 27, 5, 40, i % 60, 1000 * (i % 2)) for i in range(n)],
        "subject": [HOSTILE[i % len(HOSTILE)] for i in range(n)],
        "size": list(range(n)),
    })


def _via_file(tmp_path: Path, write, df: pl.DataFrame) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / "out.json"
    with path.open("w", encoding="utf-8", newline="") as fh:  # has .buffer: the byte path
        write(df, fh)
    return path.read_text(encoding="utf-8")


def _via_text(write, df: pl.DataFrame) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()  # no .buffer: the text path
    write(df, out)
    return out.getvalue()


@pytest.mark.parametrize("n", [5, output.JSON_BATCH + 7])  # one batch, and several
def test_jsonl_one_record_per_line_on_both_paths(tmp_path: Path, n: int) -> None:
    df = _frame(n)
    text = _via_text(output.write_jsonl, df)
    assert _via_file(tmp_path, output.write_jsonl, df) == text
    lines = text.splitlines()  # Python splits on U+2028/2029/0085 too: none may be raw
    assert len(lines) == n
    rows = [json.loads(line) for line in lines]
    assert [r["subject"] for r in rows] == df["subject"].to_list()
    assert rows[1]["time"] == "2026-11-27T05:40:01.001" and rows[0]["time"] == "2026-11-27T05:40:00"
    assert "\\u2028" in text and "\u2028" not in text


@pytest.mark.parametrize("n", [5, output.JSON_BATCH + 7])
def test_json_array_exact_on_both_paths(tmp_path: Path, n: int) -> None:
    df = _frame(n)
    text = _via_text(output.write_json, df)
    assert _via_file(tmp_path, output.write_json, df) == text
    rows = json.loads(text)
    assert len(rows) == n and [r["size"] for r in rows] == list(range(n))
    assert [r["subject"] for r in rows] == df["subject"].to_list()
    assert "\u2029" not in text and "\x85" not in text


def test_empty_result_is_valid_json(tmp_path: Path) -> None:
    df = _frame(0)
    assert json.loads(_via_file(tmp_path, output.write_json, df)) == []
    assert _via_file(tmp_path, output.write_jsonl, df) == ""


def _reference_table(df: pl.DataFrame, view: str) -> str:
    """The table as one Python call per cell writes it (the behaviour to keep)."""
    cols = [c for c in output.TABLE_COLUMNS.get(view, tuple(df.columns)) if c in df.columns]
    rows = [[output._cell(v) for v in row] for row in df.select(cols).iter_rows()]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
              for r in rows]
    return "\n".join(lines) + "\n"


def test_table_matches_the_cell_by_cell_rendering() -> None:
    """Hostile, long, non-ASCII, null and fractional-second values, trailing spaces."""
    values = [
        "\x1b[31mred\x1b[0m \u202eevil", "Grüße aus Köln – Angebot ✉", None, "x" * 200,
        "ü" * 59 + "é", "ü" * 61, "trailing spaces   ", "\u3000wide\u3000", "a\u2028b",
        "[bold]markup[/]", "=cmd|' /C calc'!A0", "tab\there", "",
    ]
    n = len(values)
    df = pl.DataFrame({
        "time": [dt.datetime(2026, 11, 27, 5, 40, i, 7 * i) for i in range(n)],
        "status": ["accepted"] * n,
        "sender": values,
        "recipient": list(reversed(values)),
        "subject": values[3:] + values[:3],
        "server": [None] * n,
    }, schema_overrides={"server": pl.String})
    got = io.StringIO()
    output.write_table(df, got, "received")
    assert got.getvalue() == _reference_table(df, "received")
    empty = io.StringIO()
    output.write_table(df.clear(), empty, "received")
    assert empty.getvalue() == _reference_table(df.clear(), "received")


def test_table_of_a_real_search_matches_the_cell_by_cell_rendering() -> None:
    from tracemail_tui.store import engine

    real = Path(__file__).parent / "fixtures" / "real"
    result = engine.run([real])
    for view in ("accesses", "received", "sent"):
        got = io.StringIO()
        output.write_table(result[view], got, view)
        assert got.getvalue() == _reference_table(result[view], view), view


def test_table_to_a_file_is_the_same_text(tmp_path: Path) -> None:
    """A UTF-8 file (or stdout) gets the rows as bytes from Polars: same text."""
    df = _frame(7).with_columns(status=pl.lit("accepted"), sender=pl.lit("ü\x1b[1m"))
    text = io.StringIO()
    output.write_table(df, text, "received")
    assert _via_file(tmp_path, lambda d, fh: output.write_table(d, fh, "received"), df) == \
        text.getvalue() == _reference_table(df, "received")
