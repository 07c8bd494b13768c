"""Running tracemail's command line on a lab run, and finding a scenario's rows in it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.integration.labrun import LabRun, record_timing

REPO = Path(__file__).resolve().parents[2]
Row = dict[str, Any]


# ----------------------------------------------------------------- running tracemail --
@cache
def cli_env(logdir: str, host: str) -> dict[str, str]:
    """An isolated tracemail environment: its own config (the host of the log files that
    do not name one: Dovecot log_path, Rspamd, clamd) and its own store."""
    home = Path(logdir).parent / "tracemail-home"  # beside the logs, removed with them
    home.mkdir(exist_ok=True)
    hosts = "\n".join(
        f'"{Path(logdir, name)}" = "{host}"' for name in ("dovecot.log", "rspamd.log", "clamav.log")
    )
    (home / "config.toml").write_text(f"[hosts]\n{hosts}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEMAIL_")}
    env.update(TRACEMAIL_CONFIG=str(home / "config.toml"), TRACEMAIL_STORE=str(home / "store"))
    env.update(XDG_CONFIG_HOME=str(home), XDG_DATA_HOME=str(home), XDG_CACHE_HOME=str(home))
    return env


def tracemail(lab: LabRun, *args: str) -> Any:
    """Run the CLI as a user would and return its parsed JSON output."""
    cmd = [sys.executable, "-m", "tracemail_tui", *args]
    t0 = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        env=cli_env(str(lab.logdir), lab.host),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    record_timing(f"tracemail {args[0]}", time.monotonic() - t0)
    if proc.returncode != 0:
        pytest.fail(
            f"`tracemail {' '.join(args)}` exited {proc.returncode}: {proc.stderr.strip()[-800:]}",
            pytrace=False,
        )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"`tracemail {args[0]}` did not print JSON ({exc}): {proc.stdout[:300]!r}")


_SEARCHES: dict[tuple[str, str], list[Row]] = {}


def search(lab: LabRun, view: str) -> list[Row]:
    """All rows of a view (one `tracemail search` per view and session)."""
    key = (str(lab.logdir), view)
    if key not in _SEARCHES:
        rows = tracemail(lab, "search", view, str(lab.logdir), "--format", "json")
        assert isinstance(rows, list), f"search {view} --format json must print one array"
        _SEARCHES[key] = rows
    return _SEARCHES[key]


def locate(lab: LabRun, message_id: str, account: str) -> Row:
    out = tracemail(
        lab, "locate", message_id, "--account", account, str(lab.logdir), "--format", "json"
    )
    if isinstance(out, list):  # tolerate a one-element array
        assert len(out) == 1, f"locate printed {len(out)} results"
        out = out[0]
    assert isinstance(out, dict)
    return out


# ----------------------------------------------------------------------- matching --
def mid(value: str | None) -> str | None:
    return value.strip().strip("<>") if value else None


def _local(iso_utc: str) -> dt.datetime:
    """Ground-truth UTC stamp -> naive local time, the way the daemons log it."""
    t = dt.datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    return t.astimezone().replace(tzinfo=None)


def _in_window(row: Row, sc: dict[str, Any]) -> bool:
    """Whether the row's time falls in the scenario's run (2 s before, 5 s after)."""
    if not row.get("time"):
        return False
    t = dt.datetime.fromisoformat(row["time"])
    if t.tzinfo is not None:  # DESIGN: local time without offset; accept an offset anyway
        t = t.astimezone().replace(tzinfo=None)
    lo = _local(sc["time_start"]) - dt.timedelta(seconds=2)
    hi = _local(sc["time_end"]) + dt.timedelta(seconds=5)
    return lo <= t <= hi


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def pick(rows: list[Row], sc: dict[str, Any] | None, **want: Any) -> list[Row]:
    """Rows of the scenario's time window (any time if `sc` is None) whose fields equal
    `want` (case-insensitively; a tuple means 'any of')."""
    out = []
    for r in rows:
        if sc is not None and not _in_window(r, sc):
            continue
        ok = True
        for k, v in want.items():
            choices = v if isinstance(v, tuple) else (v,)
            norm = mid if k == "message_id" else (lambda x: x)
            if lower(norm(r.get(k))) not in tuple(lower(norm(c)) for c in choices):
                ok = False
                break
        if ok:
            out.append(r)
    return out


def check(row: Row, expect: dict[str, Any], label: str) -> None:
    """Compare fields. `key~` = case-insensitive substring; other keys = equality."""
    problems = []
    for key, want in expect.items():
        if key.endswith("~"):
            got = row.get(key[:-1])
            if not isinstance(got, str) or want.lower() not in got.lower():
                problems.append(f"{key[:-1]}={got!r} should contain {want!r}")
        else:
            got = row.get(key)
            if key == "message_id":
                got, want = mid(got), mid(want)
            if isinstance(want, float):
                ok = isinstance(got, int | float) and abs(got - want) < 1e-9
            else:
                ok = got == want
            if not ok:
                problems.append(f"{key}={got!r}, expected {want!r}")
    assert not problems, f"{label}: " + "; ".join(problems) + f"\n  row: {brief(row)}"


def brief(row: Row) -> str:
    return json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)[:900]


def one(rows: list[Row], label: str, near: list[Row]) -> Row:
    """The single matching row; on failure show the candidates (same keys, any time)."""
    assert len(rows) == 1, (
        f"{label}: expected exactly 1 matching row, got {len(rows)}: "
        + " | ".join(brief(r) for r in rows[:4])
        + (
            f"\n  {len(near)} rows with these keys at any time: "
            + " | ".join(brief(r) for r in near[:4])
            if not rows
            else ""
        )
    )
    return rows[0]


def mail_row(rows: list[Row], sc: dict[str, Any], rcpt: str | tuple[str, ...], label: str) -> Row:
    """The received/sent row of one scenario and recipient, found by the strongest key the
    log offers: the queue id the client saw, else the Message-ID (cleanup logs it for any
    message that got into DATA: milter rejects, a session lost in DATA), else the time
    window (NOQUEUE rejects, a message without a Message-ID); then its time must fall in
    the window."""
    keys: dict[str, Any] = {"recipient": rcpt, "sender": sc["envelope_from"]}
    window: dict[str, Any] | None = None
    if sc.get("queue_id"):
        keys["queue_id"] = sc["queue_id"]
    elif sc["expected"].get("stage") in ("DATA", "END-OF-MESSAGE") and sc.get("message_id"):
        keys["message_id"] = sc["message_id"]
    else:
        window = sc
    row = one(pick(rows, window, **keys), label, pick(rows, None, recipient=rcpt))
    assert _in_window(row, sc), (
        f"{label}: time {row.get('time')} is outside the scenario's run "
        f"({sc['time_start']} .. {sc['time_end']} UTC)"
    )
    return row


def scenario(lab: LabRun, sid: str) -> dict[str, Any]:
    sc = lab.scenarios.get(sid)
    if sc is None:
        if sid in ("R11", "S12") and not lab.clamav:
            pytest.skip("ClamAV not part of this lab run (LAB_CLAMAV=0)")
        pytest.fail(f"scenario {sid} missing from ground_truth.json")
    return sc
