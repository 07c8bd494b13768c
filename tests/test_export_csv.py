"""CSV export and redaction: round trip, formula neutralisation, Excel dialect, batching."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Any

import polars as pl
import pytest
from export_data import (
    CHINESE_SUBJECT,
    EMOJI_SUBJECT,
    HOSTILE_SUBJECT,
    a01,
    a04,
    evidence,
    received_frame,
    received_rows,
    s02,
)

from tracemail_tui.export.csv_export import write_csv
from tracemail_tui.export.fields import design_fields
from tracemail_tui.export.redact import Redactor, mask_ip
from tracemail_tui.store import schema

KEY = b"test-key"


def expected_cell(value: Any, dtype: pl.DataType) -> str:
    """What a cell must contain, computed without Polars (independent oracle)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text.rstrip("0") if "." in text else text
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def read(data: bytes, **kwargs: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), **kwargs))


def written(df: pl.DataFrame, view: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    write_csv(df, out, view=view, **kwargs)
    return out.getvalue()


def test_round_trip_equals_input_rows() -> None:
    rows = read(written(received_frame(), "received"))
    fields = design_fields("received")
    assert rows[0] == list(fields)
    expected = [
        [expected_cell(row.get(f), schema.RECEIVED[f]) for f in fields] for row in received_rows()
    ]
    assert rows[1:] == expected
    # the Unicode and hostile subjects come back byte for byte
    subjects = [r[fields.index("subject")] for r in rows[1:]]
    assert HOSTILE_SUBJECT in subjects and CHINESE_SUBJECT in subjects
    assert EMOJI_SUBJECT in subjects


def test_types_nulls_times_and_booleans() -> None:
    rows = read(written(received_frame(), "received"))
    header, r12, r06, r08 = rows[0], rows[1], rows[2], rows[3]
    col = header.index
    assert r12[col("time")] == "2026-11-27T05:40:09"  # no fraction when zero
    assert r08[col("time")] == "2026-11-27T05:40:04.15"
    assert r06[col("size")] == "" and r06[col("subject")] == ""  # null → empty cell
    assert r12[col("auto_reply")] == "false" and rows[4][col("auto_reply")] == "true"
    assert r12[col("size")] == "571"


def test_formula_cells_neutralised_numbers_untouched() -> None:
    df = received_frame().with_columns(
        pl.Series("subject", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx"]),
        pl.Series("reason", ["\rx", "-0.5", None, "plain", "a=b"]),
    )
    rows = read(written(df, "received"))
    col = rows[0].index
    assert [r[col("subject")] for r in rows[1:]] == ["'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'\tx"]
    assert [r[col("reason")] for r in rows[1:]] == ["'\rx", "'-0.5", "", "plain", "a=b"]
    # spam_score is a number column: negatives stay numbers
    assert rows[3][col("spam_score")] == "-0.5"
    assert rows[5][col("spam_score")] == "-12.25"


def test_embedded_newlines_and_quotes_per_rfc4180() -> None:
    data = written(received_frame(), "received")
    assert b'"say ""hi""\nsecond line, with comma"' in data
    rows = read(data)
    assert rows[5][rows[0].index("reason")] == 'say "hi"\nsecond line, with comma'
    assert len(rows) == 6


def test_excel_dialect_bytes() -> None:
    data = written(received_frame(), "received", excel=True)
    assert data.startswith(b"\xef\xbb\xbfid;time;status;")
    body = data[3:]
    # every record ends in CRLF; the only bare LF is the one inside the quoted reason
    assert body.endswith(b"\r\n")
    assert body.count(b"\r\n") == 6
    assert body.replace(b"\r\n", b"").count(b"\n") == 1
    rows = read(body, delimiter=";")
    plain = read(written(received_frame(), "received"))
    assert rows == plain


def test_batches_write_the_same_bytes() -> None:
    df = received_frame()
    assert written(df, "received", batch_rows=2) == written(df, "received")


def test_text_stream_and_path(tmp_path: Any) -> None:
    stream = io.StringIO()
    write_csv(received_frame(), stream, view="received")
    path = tmp_path / "out.csv"
    assert write_csv(received_frame(), path, view="received") == 5
    assert stream.getvalue().encode() == path.read_bytes()


def test_extras_and_other_views() -> None:
    df = schema.conform("accesses", pl.DataFrame([a01(), a04()], infer_schema_length=None))
    rows = read(written(df, "accesses"))
    assert rows[0] == list(design_fields("accesses"))
    assert rows[2][rows[0].index("error")] == "auth-failed"
    assert rows[2][rows[0].index("bytes_in")] == ""
    extra = read(written(df, "accesses", extras=True))
    assert extra[0][-2:] == ["tls", "method"] and extra[1][-2:] == ["true", "PLAIN"]
    sent = schema.conform("sent", pl.DataFrame([s02()], infer_schema_length=None))
    rows = read(written(sent, "sent"))
    assert rows[1][rows[0].index("spam_score")] == "-0.1"
    assert rows[1][rows[0].index("relay_port")] == "2525"


def test_unknown_view_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown view"):
        write_csv(received_frame(), io.BytesIO(), view="inbox")


# --- redaction ------------------------------------------------------------------------

ORIGINALS = ("alice@example.com", "petra@partner.test", "nobody@example.com",
             "bob@example.com", "127.0.0.10", "127.0.0.11", "carol.private@partner.test")


def test_redacted_csv_has_no_address_ip_or_subject() -> None:
    redactor = Redactor(KEY)
    data = written(received_frame(), "received", redact=redactor).decode()
    for original in ORIGINALS:
        assert original not in data
    for subject in (HOSTILE_SUBJECT, CHINESE_SUBJECT, EMOJI_SUBJECT, "calc"):
        assert subject not in data
    rows = read(data.encode())
    col = rows[0].index
    pseudonym = redactor.address("alice@example.com")
    assert pseudonym.startswith("u-") and pseudonym.endswith("@example.com")
    assert rows[1][col("recipient")] == pseudonym  # stable per address
    assert rows[4][col("recipient")] == pseudonym
    assert rows[1][col("client_ip")] == "127.0.0.0/24"
    assert rows[1][col("subject")] == ""
    assert rows[1][col("domain")] == "example.com"  # domain kept by default
    # addresses inside free text (the reject reason) get the same pseudonyms
    assert f"<{redactor.address('nobody@example.com')}>: Recipient" in rows[2][col("reason")]


def test_pseudonyms_are_keyed_case_insensitive_and_optionally_hide_domains() -> None:
    one, two = Redactor(b"k1"), Redactor(b"k2")
    assert one.address("ALICE@EXAMPLE.COM") == one.address("alice@example.com")
    assert one.address("alice@example.com") != two.address("alice@example.com")
    assert one.address("alice@example.com") != one.address("alice@example.org")
    hidden = Redactor(b"k1", domains=True)
    assert "example.com" not in hidden.address("alice@example.com")
    df = hidden.frame(received_frame(), "received")
    assert "example.com" not in df.get_column("domain").to_list()


def test_ip_masks() -> None:
    assert mask_ip("203.0.113.77") == "203.0.113.0/24"
    assert mask_ip("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert mask_ip("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert mask_ip("unknown") is None


def test_redacted_real_log_lines() -> None:
    redactor = Redactor(KEY)
    lines = evidence("605D5162539", "r12.6acd47", "w5rYfzthu7R", "K5Kkfzth461")
    assert lines.height >= 12
    out = "\n".join(redactor.lines(lines, [HOSTILE_SUBJECT]).get_column("raw"))
    for original in ("alice@example.com", "ALICE@EXAMPLE.COM", "PETRA@PARTNER.TEST",
                     "127.0.0.10", "127.0.0.30", "URGENT", "Petra Partner", "Angebot"):
        assert original not in out
    assert redactor.address("alice@example.com") in out
    assert "127.0.0.0/24" in out and "[subject removed]" in out
    # what is not personal survives: queue ids, hosts, times, statuses
    assert "605D5162539" in out and "mx01.example.com" in out and "status=sent" in out
    assert "05:40:09" in out


def test_redacted_spam_lines_lose_the_subject_everywhere() -> None:
    """R08: the subject is in Postfix's header line, Dovecot's mail_log and an Rspamd symbol."""
    redactor = Redactor(KEY)
    lines = evidence("BEB6C16249E", "r08.6acd47")
    raw = "\n".join(lines.get_column("raw"))
    assert raw.count("Cheap meds") >= 2
    out = "\n".join(redactor.lines(lines, ["Cheap meds - limited offer"]).get_column("raw"))
    assert "Cheap meds" not in out and "deals@remote.test" not in out
    assert "LAB_JUNK_SUBJECT(7.50){[subject removed];}" in out
