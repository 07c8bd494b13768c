"""postscreen's refusals (real lines, tests/fixtures/lab-postscreen): one postscreen process
serves every client, so its rejects of one second must not merge; the details say what
its fixed replies mean and show the lines of that client connection."""

from __future__ import annotations

import pickle
from pathlib import Path

import polars as pl

from tracemail_tui.export.explain import explain
from tracemail_tui.export.postscreen_text import POSTSCREEN_TEXT
from tracemail_tui.store import engine
from tracemail_tui.store.evidence import evidence
from tracemail_tui.store.parse.header import split_lines

PS = Path(__file__).parent / "fixtures" / "lab-postscreen"


def received() -> list[dict]:  # type: ignore[type-arg]
    result = engine.run([PS])
    assert sum(result.stats.unparsed.values()) == 0, result.stats.unparsed
    return result.views["received"].sort("time", "client_ip").to_dicts()


def test_each_refused_bot_is_a_row_of_its_own() -> None:
    got = [(str(r["time"])[11:], r["client_ip"], r["status"], r["dsn"], r["reason"])
           for r in received()]
    assert got == [
        ("01:35:00", "127.0.0.12", "rejected", "5.3.2", "Service currently unavailable"),
        ("01:35:04", "127.0.0.13", "rejected", "5.5.1", "Protocol error"),
        ("01:35:07", "127.0.0.10", "accepted", "2.0.0", None),  # passed, then smtpd
        # both bots in the same second, same recipient: two rows, each with its client
        ("01:36:48", "127.0.0.12", "rejected", "5.3.2", "Service currently unavailable"),
        ("01:36:48", "127.0.0.13", "rejected", "5.5.1", "Protocol error"),
    ]
    rows = received()
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["helo"] == "bot.remote.test" for r in rows[3:])


def test_the_details_show_that_connections_lines_and_say_why() -> None:
    row = received()[-1]
    lines = evidence([PS], "received", row)["raw"].to_list()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "CONNECT from [127.0.0.13]:33317 to [127.0.0.1]:2526",
        "PREGREET 22 after 0 from [127.0.0.13]:33317: EHLO bot.remote.test\\r\\n",
        "NOQUEUE: reject: RCPT from [127.0.0.13]:33317: 550 5.5.1 Protocol error; "
        "from=<spam@remote.test>, to=<alice@example.com>, proto=ESMTP, "
        "helo=<bot.remote.test>",
        "DISCONNECT [127.0.0.13]:33317",
    ]
    said = explain("received", row)
    assert POSTSCREEN_TEXT["protocol"] in said
    assert said[-1].startswith("What to do: nothing if it is a bot.")
    denied = explain("received", received()[-2])
    assert POSTSCREEN_TEXT["denylist"] in denied
    passed = explain("received", received()[2])
    assert not any("postscreen" in p for p in passed)


def test_a_dnsbl_refusal_keeps_the_list_name() -> None:
    """postscreen's DNSBL reply (postscreen_smtpd.c; a lab cannot query a real list):
    the reason keeps "blocked using LIST", which is the whole answer."""
    line = ("Nov 27 05:00:01 mx01 postfix/postscreen[11]: NOQUEUE: reject: RCPT from "
            "[198.51.100.7]:40000: 550 5.7.1 Service unavailable; client [198.51.100.7] "
            "blocked using zen.spamhaus.org; from=<s@spam.test>, to=<u@example.com>, "
            "proto=ESMTP, helo=<bot>")
    eng = engine.Engine()
    (row,) = eng.feed(split_lines(pl.Series("raw", [line]), year=2026)).rows[
        "received"].to_dicts()
    assert row["reason"] == ("Service unavailable; client [198.51.100.7] blocked using "
                             "zen.spamhaus.org")
    assert POSTSCREEN_TEXT["dnsbl"].format(lists="zen.spamhaus.org") in explain("received", row)


def test_an_engine_saved_before_client_port_still_restores() -> None:
    """The live ingest pickles its engine; one from before `client_port` existed gets the
    column back, empty, and goes on correlating."""
    old = engine.Engine()
    old._pf = old._pf.drop("client_port")
    restored = pickle.loads(pickle.dumps(old))
    got = engine.run([PS], engine=restored)
    assert got["received"].height == 5
