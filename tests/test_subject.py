"""Subjects: Postfix's raw header (RFC 2047, '?' for folds) vs Dovecot's decoded 80 chars."""

from __future__ import annotations

import polars as pl

from tracemail_tui.store.correlate.subject import decode_rfc2047, merge_subjects

R01_RAW = ("=?utf-8?b?R3LDvMOfZSBhdXMgS8O2bG4g4oCTIEFuZ2Vib3QgZsO8ciBRNCDinIkg?=? "
           "=?utf-8?b?KMOcbsOvY8O2ZMOpKQ==?=")


def test_decode_folded_encoded_words() -> None:
    assert decode_rfc2047(R01_RAW) == "Grüße aus Köln – Angebot für Q4 ✉ (Ünïcödé)"
    assert decode_rfc2047("Angebot angenommen =?utf-8?b?4pyU?=") == "Angebot angenommen ✔"
    assert decode_rfc2047("Lunch? =?utf-8?q?=F0=9F=8D=95?=") == "Lunch? 🍕"
    assert decode_rfc2047("=?bogus-charset?q?x?=") == "=?bogus-charset?q?x?="
    assert decode_rfc2047("[bold red]x[/] ?[31m") == "[bold red]x[/] ?[31m"


def test_merge_prefers_the_fuller_value() -> None:
    long_pf = "Very long subject: item-000 item-001? item-002 item-003 " + "x" * 150
    long_dv = "Very long subject: item-000 item-001 item-002 item-..."
    df = pl.DataFrame({
        "p": ["Team lunch", None, R01_RAW, long_pf, "Is it? yes", "plain"],
        "d": ["Team lunch", "Only Dovecot", None, long_dv, None, None],
    })
    got = merge_subjects(df, "p", "d")
    assert got["subject"].to_list() == [
        "Team lunch", "Only Dovecot", "Grüße aus Köln – Angebot für Q4 ✉ (Ünïcödé)",
        long_pf.replace("? ", " "), "Is it? yes", "plain",
    ]
    assert got["subject_source"].to_list() == [
        "dovecot", "dovecot", "postfix", "postfix", "postfix", "postfix"]
