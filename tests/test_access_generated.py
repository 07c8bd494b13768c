"""Accesses and locate against the generator's ground truth (every access outcome, all
line forms it writes: Dovecot log_path and syslog, Roundcube userlogins)."""

from __future__ import annotations

import collections
import datetime as dt
import json

import polars as pl
import pytest

from tracemail_tui.gen.batch import generate
from tracemail_tui.gen.options import GenOptions
from tracemail_tui.store import engine
from tracemail_tui.store.correlate.locate import locate


@pytest.fixture(scope="module", params=["file", "syslog"])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[engine.Result, list[dict]]:
    root = tmp_path_factory.mktemp(f"gen-{request.param}")
    truth = root / "truth.jsonl"
    generate(root / "logs", GenOptions(lines=30_000, seed=7, truth=truth,
                                       dovecot_form=request.param))
    result = engine.run([root / "logs"], year=2026)
    return result, [json.loads(x) for x in truth.read_text().splitlines()]


def _key(d: dict) -> tuple:
    return (d["time"][:19], d["user"], d["protocol"], d["status"], d["error"], d["remote_ip"],
            d["server"])


def test_accesses_match_truth(generated: tuple[engine.Result, list[dict]]) -> None:
    result, truth = generated
    rows = result["accesses"].filter(pl.col("protocol") != "smtp")
    end = rows["time"].max()
    assert isinstance(end, dt.datetime)
    want = collections.Counter(
        _key(d) for d in truth
        if d["view"] == "accesses" and d["protocol"] != "smtp" and d["time"] <= end.isoformat())
    got = collections.Counter(
        _key({**d, "time": d["time"].isoformat()}) for d in rows.to_dicts())
    assert sum(want.values()) > 500
    assert got == want
    assert {"webmail", "imap", "pop3"} <= {k[2] for k in got}
    assert rows["id"].n_unique() == rows.height


def test_locate_matches_truth(generated: tuple[engine.Result, list[dict]]) -> None:
    result, truth = generated
    end = result["accesses"]["time"].max().isoformat()  # type: ignore[union-attr]
    last: dict[tuple[str, str], dict] = {}
    for d in truth:
        if d["view"] == "mailbox":
            last[(d["account"], d["message_id"])] = d
    expect = {"moved": "in-folder", "deleted": "deleted", "downloaded-pop": "downloaded-pop"}
    checked = 0
    for (account, mid), d in last.items():
        events = [x for x in truth if x["view"] == "mailbox" and x["message_id"] == mid
                  and x["account"] == account]
        if any(x["time"] > end for x in events):
            continue  # the story goes on after the logs end
        got = locate(result["mailbox"], mid, account)
        folder = d["folder"] if d["event"] == "moved" else None
        if got["state"] == "in-folder" and d["event"] == "deleted":
            # a later APPEND of the same Message-ID (a re-sent copy) counts as new
            assert got["history"][-1]["event"] == "save"
            continue
        assert (got["state"], got["folder"]) == (expect[d["event"]], folder), (account, mid)
        checked += 1
    assert checked > 50
