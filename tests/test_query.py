"""The query API: filters are case-insensitive, date-bounded and status-aware."""

import datetime as dt

import polars as pl

from tracemail_tui.store import schema
from tracemail_tui.store.query import Filters, MemoryStore, counts, query


def _received() -> pl.DataFrame:
    rows = [
        {"id": "r1", "time": dt.datetime(2026, 11, 27, 5, 0), "status": "accepted",
         "recipient": "alice@example.com", "domain": "example.com", "subject": "Invoice 7"},
        {"id": "r2", "time": dt.datetime(2026, 11, 27, 6, 0), "status": "rejected",
         "recipient": "ALICE@EXAMPLE.COM", "domain": "example.com", "subject": None},
        {"id": "r3", "time": dt.datetime(2026, 11, 26, 6, 0), "status": "accepted",
         "recipient": "bob@example.org", "domain": "example.org", "subject": "Lunch"},
    ]
    return schema.conform("received", pl.DataFrame(rows))


def test_filters_account_case_insensitive_and_date() -> None:
    store = MemoryStore({"received": _received()})
    got = query(store, "received", Filters(account="Alice@Example.com",
                                           date=dt.date(2026, 11, 27))).collect()
    assert got["id"].to_list() == ["r1", "r2"]


def test_text_filter_and_counts_ignore_status_filter() -> None:
    store = MemoryStore({"received": _received()})
    assert query(store, "received", Filters(text="invoice")).collect()["id"].to_list() == ["r1"]
    c = counts(store, "received", Filters(domain="example.com", status="accepted"))
    assert c == {"accepted": 1, "quarantined": 0, "rejected": 1}


def test_scope_keeps_rows_where_only_the_counterpart_is_ours() -> None:
    df = schema.conform("received", pl.DataFrame([
        {"id": "a", "time": dt.datetime(2026, 11, 27), "status": "accepted",
         "sender": "petra@partner.test", "recipient": "alice@example.com", "domain": "example.com"},
        {"id": "b", "time": dt.datetime(2026, 11, 27), "status": "accepted",
         "sender": "x@example.org", "recipient": "carol@other.test", "domain": "other.test"},
        {"id": "c", "time": dt.datetime(2026, 11, 27), "status": "accepted",
         "sender": None, "recipient": "henry@example.org", "domain": "example.org"},
    ]))
    store = MemoryStore({"received": df})
    got = query(store, "received", Filters(scope=("example.org",))).collect()["id"].to_list()
    assert got == ["b", "c"]
    assert query(store, "received", Filters(scope=("nope.test",))).collect().height == 0
