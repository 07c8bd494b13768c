"""Top values of a field (`store.breakdown`, `search --top` / `--where`) on real lines."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tracemail_tui.cli.common import app
from tracemail_tui.store import breakdown, engine, query

REAL = Path(__file__).parent / "fixtures" / "real"
R28 = Path(__file__).parent / "fixtures" / "lab-r28"
runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), env=env or {"TRACEMAIL_CONFIG": "/nonexistent.toml"})
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture(scope="module")
def views() -> dict[str, pl.DataFrame]:
    return engine.run([REAL]).views


def pattern(text: str) -> str:
    return pl.select(breakdown.reason_pattern(pl.lit(text))).item()


def test_reason_pattern_keeps_what_happened_and_drops_who() -> None:
    # S03 and S05: Postfix's deferral texts for two recipients, one pattern.
    a = ("host 127.0.0.2[127.0.0.2] said: 451 4.3.0 <defer.later@remote.test>: Temporary "
         "lookup failure, try again later (lab sink) (in reply to RCPT TO command)")
    b = a.replace("defer.later@remote.test", "defer.two@remote.test") \
        .replace("127.0.0.2[127.0.0.2]", "mx.remote.test[203.0.113.9]")
    assert pattern(a) == pattern(b) == (
        "host … said: 451 4.3.0 <…>: Temporary lookup failure, try again later (lab sink) "
        "(in reply to RCPT TO command)")
    assert pattern("Sender address rejected: not owned by user bob@example.com") == (
        "Sender address rejected: not owned by user …")
    assert pattern("connect to mx.b.test[203.0.113.7]:25: Connection timed out") == (
        "connect to …:25: Connection timed out")
    assert pattern("Client host [198.51.100.4] blocked using zen.spamhaus.org") == (
        "Client host […] blocked using zen.spamhaus.org")
    assert pattern("lost connection after DATA (5242880 bytes) from 10.1.2.3") == (
        "lost connection after DATA (# bytes) from …")
    assert pattern("lost connection after DATA (512 bytes)") == (
        "lost connection after DATA (# bytes)")
    # Rspamd's score differs per message: one pattern for "add header" (real corpus R08).
    assert pattern("spam: add header (score 7.4)") == pattern("spam: add header (score -0.5)") \
        == "spam: add header (score #)"
    assert pattern('clamav: virus found: "Win.Trojan.Agent-6325423-0"') == (
        'clamav: virus found: "…"')


def test_breakdown_counts_orders_and_puts_no_value_last(views: dict[str, pl.DataFrame]) -> None:
    bd = breakdown.breakdown(views["sent"], "sent", "reason")
    rows = bd.frame.select("value", "rows").rows()
    assert rows[0] == (
        "host … said: 451 4.3.0 <…>: Temporary lookup failure, try again later (lab sink) "
        "(in reply to RCPT TO command)", 2)
    assert rows[-1] == (None, 6)  # delivered: no reason, listed last despite the most rows
    assert [n for _, n in rows[1:-1]] == [1, 1, 1]
    assert [v for v, _ in rows[1:-1]] == sorted(v for v, _ in rows[1:-1])  # ties: by value
    assert bd.total == 11 and bd.distinct == 5
    assert bd.frame.get_column("share").sum() == pytest.approx(1.0)
    top = breakdown.breakdown(views["sent"], "sent", "reason", limit=2)
    assert top.frame.height == 2 and top.distinct == 5 and top.total == 11


def test_a_picked_value_selects_exactly_the_rows_it_counted(
        views: dict[str, pl.DataFrame]) -> None:
    """Filters.group uses the key's own expression, so the list agrees with the count."""
    source = query.MemoryStore(views)
    for view in ("accesses", "received", "sent"):
        for key in breakdown.KEYS[view]:
            bd = breakdown.breakdown(views[view], view, key.name)
            for value, rows, _ in bd.frame.iter_rows():
                got = query.query(source, view, query.Filters(group=(key.name, value)))
                assert got.collect().height == rows, (view, key.name, value)


def test_failed_logins_by_remote_address(views: dict[str, pl.DataFrame]) -> None:
    failed = views["accesses"].filter(pl.col("status") == "failed")
    bd = breakdown.breakdown(failed, "accesses", "remote_ip")
    assert bd.frame.row(0)[:2] == ("127.0.0.31", 5)  # S07/A04/A05/A09: one address, 5 tries


def test_unknown_key_names_the_choices() -> None:
    with pytest.raises(ValueError, match="choose one of reason, recipient_domain, relay_host"):
        breakdown.key("sent", "subject")


def test_cli_top_table_csv_json_and_limit() -> None:
    code, out, _ = invoke("search", "sent", str(REAL), "--top", "reason")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["rows", "share", "reason"]
    assert lines[1].split()[:2] == ["2", "18.2%"] and "Temporary lookup failure" in lines[1]
    assert lines[-2].split() == ["6", "54.5%", "(none)"]
    assert lines[-1] == "11 rows, 5 values"
    code, out, _ = invoke("search", "accesses", str(REAL), "--status", "failed",
                          "--top", "remote_ip", "--limit", "2", "-f", "csv")
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [
        ["value", "rows", "share"], ["127.0.0.31", "5", "0.5"], ["127.0.0.30", "3", "0.3"]]
    code, out, _ = invoke("search", "accesses", str(REAL), "--top", "error", "-f", "json")
    got = {r["value"]: r["rows"] for r in json.loads(out)}
    counted = engine.run([REAL]).views["accesses"].get_column("error").value_counts()
    assert got == dict(counted.iter_rows())
    code, out, _ = invoke("search", "sent", str(REAL), "--top", "reason", "--limit", "1")
    assert out.splitlines()[-1] == "11 rows, 5 values (4 more not listed)"


def test_cli_where_narrows_to_a_value_as_top_prints_it() -> None:
    code, out, _ = invoke("search", "sent", str(REAL), "-f", "json", "--where",
                          "reason=host … said: 451 4.3.0 <…>: Temporary lookup failure, try "
                          "again later (lab sink) (in reply to RCPT TO command)")
    assert code == 0
    assert sorted(r["recipient"] for r in json.loads(out)) == [
        "defer.later@remote.test", "defer.two@remote.test"]
    code, out, _ = invoke("search", "sent", str(REAL), "-f", "json", "--where", "reason=(none)")
    assert {r["status"] for r in json.loads(out)} == {"delivered"}


@pytest.mark.parametrize(("args", "message"), [
    (("--top", "subject"), "--top: no key 'subject' for sent"),
    (("--where", "reason"), "--where: not KEY=VALUE"),
    (("--where", "nope=1"), "--where: no key 'nope'"),
    (("--limit", "3"), "--limit goes with --top"),
])
def test_cli_bad_keys_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke("search", "sent", str(REAL), *args)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_top_of_redacted_rows_gives_pseudonyms_and_scope_holds() -> None:
    """The breakdown is taken after the privacy gate: no address leaks through it."""
    code, out, _ = invoke("search", "sent", str(REAL), "--top", "sender", "--redact",
                          "-f", "json")
    values = [r["value"] for r in json.loads(out) if r["value"] is not None]
    assert code == 0 and values
    assert all(v.startswith("u-") for v in values)  # pseudonyms (domains kept), no names
    env = {"TRACEMAIL_CONFIG": "/nonexistent.toml", "TRACEMAIL_SCOPE": "example.org"}
    code, out, _ = invoke("search", "received", str(REAL), "--top", "recipient", "-f", "json",
                          env=env)
    assert code == 0
    assert {r["value"].split("@")[1] for r in json.loads(out)} == {"example.org"}


def test_csv_breakdown_neutralises_formulas() -> None:
    df = pl.DataFrame({"value": ["=HYPERLINK(\"x\")", None], "rows": [2, 1],
                       "share": [0.6667, 0.3333]})
    buf = io.StringIO()
    from tracemail_tui.export.csv_export import write_frame_csv
    write_frame_csv(df, buf)
    assert list(csv.reader(io.StringIO(buf.getvalue()))) == [
        ["value", "rows", "share"], ["'=HYPERLINK(\"x\")", "2", "0.6667"], ["", "1", "0.3333"]]


def test_greylisting_on_the_real_mx_is_one_pattern() -> None:
    """R28: the MX's own 450 for gina: the reason (Postfix's text after the codes) is
    already free of the address, and stays whole."""
    code, out, _ = invoke("search", "received", str(R28), "--status", "rejected",
                          "--top", "reason", "-f", "json")
    assert code == 0
    (row,) = json.loads(out)
    assert row == {"value": "Recipient address rejected: Greylisted, try again later",
                   "rows": 1, "share": 1.0}


def _at(*stamps: str) -> pl.DataFrame:
    return pl.DataFrame({"time": [dt.datetime.fromisoformat(s) for s in stamps]},
                        schema={"time": pl.Datetime("us")})


def test_time_keys_list_every_bucket_oldest_first_and_limit_keeps_the_latest() -> None:
    rows = _at("2026-11-26T23:59:59", "2026-11-27T10:00:05", "2026-11-27T10:00:50",
               "2026-11-27T10:03:10")
    bd = breakdown.breakdown(rows, "sent", "minute")
    assert bd.frame.select("value", "rows").rows()[-4:] == [
        ("2026-11-27 10:00", 2), ("2026-11-27 10:01", 0), ("2026-11-27 10:02", 0),
        ("2026-11-27 10:03", 1)]
    assert bd.frame.row(0)[:2] == ("2026-11-26 23:59", 1)
    assert bd.frame.height == bd.distinct == 10 * 60 + 5  # 23:59 .. 10:03, gaps included
    assert bd.total == 4 and bd.frame.get_column("share").sum() == pytest.approx(1.0)
    latest = breakdown.breakdown(rows, "sent", "minute", limit=3)
    assert latest.frame.get_column("value").to_list() == [
        "2026-11-27 10:01", "2026-11-27 10:02", "2026-11-27 10:03"]
    assert latest.totals() == "4 rows, 605 minutes (602 earlier not listed)"
    days = breakdown.breakdown(_at("2026-11-24T08:00:00", "2026-11-27T10:00:00"), "received",
                               "day")
    assert days.frame.select("value", "rows").rows() == [
        ("2026-11-24", 1), ("2026-11-25", 0), ("2026-11-26", 0), ("2026-11-27", 1)]
    hours = breakdown.breakdown(rows, "accesses", "hour", limit=1)
    assert hours.frame.row(0)[:2] == ("2026-11-27 10:00", 3)
    assert breakdown.breakdown(rows.clear(), "sent", "day").frame.height == 0


def test_a_time_bucket_picks_its_range_and_a_bad_value_is_refused() -> None:
    rows = _at("2026-11-27T09:59:59.999", "2026-11-27T10:00:00", "2026-11-27T10:59:59.5",
               "2026-11-27T11:00:00")
    for name, value, want in (("hour", "2026-11-27 10:00", 2), ("minute", "2026-11-27 10:59", 1),
                              ("day", "2026-11-27", 4), ("minute", "2026-11-27 10:30", 0)):
        assert rows.filter(breakdown.group_expr("sent", name, value)).height == want
    with pytest.raises(ValueError, match="not a hour as --top prints it"):
        breakdown.group_expr("sent", "hour", "10:00")


def test_cli_top_minute_and_where_minute_on_the_real_corpus() -> None:
    code, out, _ = invoke("search", "received", str(REAL), "--top", "minute")
    assert code == 0
    assert [line.split() for line in out.splitlines()] == [
        ["rows", "share", "minute"], ["3", "14.3%", "2026-11-27", "05:39"],
        ["18", "85.7%", "2026-11-27", "05:40"], ["21", "rows,", "2", "minutes"]]
    code, out, _ = invoke("search", "received", str(REAL), "-f", "json",
                          "--where", "minute=2026-11-27 05:39")
    assert code == 0 and len(json.loads(out)) == 3
    assert all(r["time"].startswith("2026-11-27T05:39:") for r in json.loads(out))
    code, out, err = invoke("search", "received", str(REAL), "--where", "minute=05:39")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--where: minute: not a minute as --top prints it" in err


def test_a_stray_stamp_years_away_does_not_make_millions_of_minutes() -> None:
    rows = _at("1999-01-01T00:00:00", "2026-11-27T10:00:00", "2026-11-27T10:00:30")
    bd = breakdown.breakdown(rows, "sent", "minute")
    assert bd.frame.height == breakdown.MAX_BUCKETS
    assert bd.frame.row(-1)[:2] == ("2026-11-27 10:00", 2)
    assert bd.total == 3 and bd.distinct > 14_000_000
    assert bd.totals().endswith("earlier not listed)")
