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
