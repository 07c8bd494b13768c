"""tracemail against logs written by real Postfix, Dovecot, Rspamd and ClamAV daemons.

The `lab` fixture (conftest.py) runs the mail lab once; each test then reads the lab's
logs with the real command line (`python -m tracemail_tui search|locate ... --format json`)
and checks one scenario against the outcome that `/work/shared/real-logs/README.md`
("How the scenarios map to tracemail's statuses") gives for it, in DESIGN.md's words.
Message ids, queue ids and times differ on every run: they come from the
ground_truth.json the scenarios wrote.
"""

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

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
Row = dict[str, Any]


# ----------------------------------------------------------------- running tracemail --
@cache
def _env(logdir: str, host: str) -> dict[str, str]:
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
        env=_env(str(lab.logdir), lab.host),
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
def _mid(value: str | None) -> str | None:
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


def _lower(value: Any) -> Any:
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
            norm = _mid if k == "message_id" else (lambda x: x)
            if _lower(norm(r.get(k))) not in tuple(_lower(norm(c)) for c in choices):
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
                got, want = _mid(got), _mid(want)
            if isinstance(want, float):
                ok = isinstance(got, int | float) and abs(got - want) < 1e-9
            else:
                ok = got == want
            if not ok:
                problems.append(f"{key}={got!r}, expected {want!r}")
    assert not problems, f"{label}: " + "; ".join(problems) + f"\n  row: {_brief(row)}"


def _brief(row: Row) -> str:
    return json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)[:900]


def one(rows: list[Row], label: str, near: list[Row]) -> Row:
    """The single matching row; on failure show the candidates (same keys, any time)."""
    assert len(rows) == 1, (
        f"{label}: expected exactly 1 matching row, got {len(rows)}: "
        + " | ".join(_brief(r) for r in rows[:4])
        + (
            f"\n  {len(near)} rows with these keys at any time: "
            + " | ".join(_brief(r) for r in near[:4])
            if not rows
            else ""
        )
    )
    return rows[0]


def mail_row(rows: list[Row], sc: dict[str, Any], rcpt: str | tuple[str, ...], label: str) -> Row:
    """The received/sent row of one scenario and recipient, found by the strongest key the
    log offers: the queue id the client saw, else the Message-ID (milter rejects log it),
    else the time window (NOQUEUE rejects); then its time must fall in the window."""
    keys: dict[str, Any] = {"recipient": rcpt, "sender": sc["envelope_from"]}
    window: dict[str, Any] | None = None
    if sc.get("queue_id"):
        keys["queue_id"] = sc["queue_id"]
    elif sc["expected"].get("stage") == "END-OF-MESSAGE":
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
        if sid == "R11" and not lab.clamav:
            pytest.skip("ClamAV not part of this lab run (LAB_CLAMAV=0)")
        pytest.fail(f"scenario {sid} missing from ground_truth.json")
    return sc


# ------------------------------------------------------------------------ received --
# scenario -> [(recipient(s) as tracemail should show them, expected fields)]
Q = "<queue_id>"  # placeholder: the queue id the client saw (ground truth)
M = "<message_id>"  # placeholder: the scenario's Message-ID
ACCEPTED_INBOX = {"status": "accepted", "delivery": "delivered", "folder": "INBOX"}
RECEIVED: dict[str, list[tuple[str | tuple[str, ...], dict[str, Any]]]] = {
    "R01": [
        (
            "alice@example.com",
            {
                **ACCEPTED_INBOX,
                "spam_action": "no action",
                "dsn": "2.0.0",
                "queue_id": Q,
                "message_id": M,
                "client_ip": "127.0.0.10",
            },
        )
    ],
    # the plus tag is part of the envelope recipient; the account is alice either way
    "R02": [
        (
            ("alice+news@example.com", "alice@example.com"),
            {"status": "accepted", "delivery": "delivered", "folder": "News", "queue_id": Q},
        )
    ],
    "R03": [
        (
            "bob@example.com",
            {
                "status": "accepted",
                "delivery": "delivered",
                "folder": "Lists",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    "R04": [
        (
            "carol@example.org",
            {
                "status": "accepted",
                "delivery": "forwarded",
                "folder": None,
                "forwarded_to~": "carol.private@partner.test",
                "queue_id": Q,
            },
        )
    ],
    "R05": [("dave@example.org", {**ACCEPTED_INBOX, "auto_reply": True, "queue_id": Q})],
    "R06": [
        (
            "nobody@example.com",
            {
                "status": "rejected",
                "reason~": "User unknown",
                "dsn": "5.1.1",
                "queue_id": None,
                "delivery": None,
                "client_ip": "127.0.0.11",
            },
        )
    ],
    "R07": [
        (
            "bob@example.com",
            {
                "status": "rejected",
                "reason~": "Gtube pattern",
                "dsn": "5.7.1",
                "spam_action": "reject",
                "delivery": None,
                "message_id": M,
            },
        )
    ],
    "R08": [
        (
            "bob@example.com",
            {
                "status": "quarantined",
                "delivery": "delivered",
                "folder": "Junk",
                "spam_action": "add header",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    "R09": [
        (
            "alice@example.com",
            {
                "status": "quarantined",
                "delivery": "held",
                "folder": None,
                "spam_action": "quarantine",
                "queue_id": Q,
            },
        )
    ],
    "R10": [
        (
            "carol@example.org",
            {
                "status": "quarantined",
                "delivery": "held",
                "folder": None,
                "reason~": "lab policy hold",
                "queue_id": Q,
            },
        )
    ],
    "R11": [
        (
            "gina@example.com",
            {
                "status": "rejected",
                "delivery": None,
                "virus": "Lab.Eicar-Test-Signature.UNOFFICIAL",
            },
        )
    ],
    # addresses are shown lower-cased (the log keeps ALICE@EXAMPLE.COM)
    "R12": [
        (
            "alice@example.com",
            {**ACCEPTED_INBOX, "recipient": "alice@example.com", "queue_id": Q, "message_id": M},
        )
    ],
    "R13": [("gina@example.com", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M})],
    # one transaction: bob stored, ghost rejected after the queue file existed (QID: reject),
    # sales@ expanded to henry and gina
    "R14": [
        ("bob@example.com", {**ACCEPTED_INBOX, "queue_id": Q}),
        (
            "ghost@example.org",
            {
                "status": "rejected",
                "reason~": "User unknown",
                "dsn": "5.1.1",
                "delivery": None,
                "queue_id": Q,
            },
        ),
        ("henry@example.org", {**ACCEPTED_INBOX, "queue_id": Q}),
        ("gina@example.com", {**ACCEPTED_INBOX, "queue_id": Q}),
    ],
    "R15": [
        (
            "victim@example.net",
            {
                "status": "rejected",
                "reason~": "Relay access denied",
                "dsn": "5.7.1",
                "domain": "example.net",
                "delivery": None,
            },
        )
    ],
    # S08 (alice -> bob via submission) is also a receipt for bob
    "S08": [("bob@example.com", {**ACCEPTED_INBOX, "queue_id": Q, "message_id": M})],
}


def _fill(expect: dict[str, Any], sc: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (sc.get("queue_id") if v == Q else sc["message_id"] if v == M else v)
        for k, v in expect.items()
    }


@pytest.mark.parametrize("sid", list(RECEIVED))
def test_received(lab: LabRun, sid: str) -> None:
    sc = scenario(lab, sid)
    rows = search(lab, "received")
    for rcpt, expect in RECEIVED[sid]:
        label = f"{sid} received {rcpt}"
        row = mail_row(rows, sc, rcpt, label)
        check(row, _fill(expect, sc), label)
        subject = row.get("subject")
        if subject is not None:  # log content is hostile: never raw control bytes
            assert not any(c in subject for c in "\x1b\x07\r\n"), f"{label}: subject {subject!r}"


def test_received_rejects_have_no_folder(lab: LabRun) -> None:
    """A rejected message was never stored or forwarded anywhere."""
    bad = [
        r
        for r in search(lab, "received")
        if r.get("status") == "rejected"
        and (r.get("folder") or r.get("delivery") or r.get("forwarded_to"))
    ]
    assert not bad, " | ".join(_brief(r) for r in bad[:3])


@pytest.mark.parametrize("view", ["received", "sent", "accesses"])
def test_every_row_names_the_server(lab: LabRun, view: str) -> None:
    """Rows carry the host: from the syslog prefix, or from the config's [hosts] for files
    that name none (Dovecot log_path)."""
    rows = search(lab, view)
    assert rows, f"no {view} rows at all"
    bad = [r for r in rows if r.get("server") != lab.host]
    assert not bad, f"{len(bad)} of {len(rows)} {view} rows: " + " | ".join(
        _brief(r) for r in bad[:3]
    )


VOCABULARY = {
    "received": {
        "status": {"accepted", "quarantined", "rejected"},
        "delivery": {None, "delivered", "forwarded", "discarded", "deferred", "bounced", "held"},
    },
    "sent": {"status": {"delivered", "rejected", "queued"}},
    "accesses": {
        "status": {"success", "failed"},
        "protocol": {"imap", "pop3", "webmail", "managesieve", "smtp"},
    },
}


@pytest.mark.parametrize("view", list(VOCABULARY))
def test_words_are_the_contracts(lab: LabRun, view: str) -> None:
    """Every row speaks DESIGN.md's vocabulary, names its account and has a stable id."""
    rows = search(lab, view)
    for field, allowed in VOCABULARY[view].items():
        bad = [r for r in rows if r.get(field) not in allowed]
        assert not bad, f"{view}.{field} outside {sorted(map(str, allowed))}: " + " | ".join(
            _brief(r) for r in bad[:3]
        )
    who = "user" if view == "accesses" else "recipient"
    assert all(r.get(who) for r in rows), f"{view} rows without {who}"
    ids = [r.get("id") for r in rows]
    assert all(ids) and len(set(ids)) == len(ids), f"{view}: missing or duplicate ids"


@pytest.mark.parametrize("view", list(VOCABULARY))
def test_a_second_search_gives_the_same_ids(lab: LabRun, view: str) -> None:
    """Stable ids: the same logs give the same ids on every run."""
    again = tracemail(lab, "search", view, str(lab.logdir), "--format", "json")
    assert sorted(str(r.get("id")) for r in again) == sorted(
        str(r.get("id")) for r in search(lab, view)
    )


# ---------------------------------------------------------------------------- sent --
SINK = {"relay_ip": "127.0.0.2", "relay_port": 2525}
SENT: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "S01": [
        (
            "friend@partner.test",
            {
                "status": "delivered",
                "dsn": "2.0.0",
                **SINK,
                "account": "alice@example.com",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
    # bounced by the remote: rejected, with the remote's 550
    "S02": [
        (
            "reject.me@example.net",
            {"status": "rejected", "dsn": "5.1.1", **SINK, "reason~": "550", "queue_id": Q},
        )
    ],
    "S03": [
        (
            "defer.later@remote.test",
            {"status": "queued", "dsn": "4.3.0", **SINK, "reason~": "451", "queue_id": Q},
        )
    ],
    # outbound spam, refused by our Rspamd
    "S04": [
        (
            "list@example.net",
            {
                "status": "rejected",
                "reason~": "Gtube pattern",
                "spam_action": "reject",
                "blocked": True,
                "account": "henry@example.org",
            },
        )
    ],
    "S05": [
        (
            "accept.one@partner.test",
            {
                "status": "delivered",
                "dsn": "2.0.0",
                **SINK,
                "queue_id": Q,
                "account": "gina@example.com",
            },
        ),
        ("defer.two@remote.test", {"status": "queued", "dsn": "4.3.0", **SINK, "queue_id": Q}),
        ("bob@example.com", {"status": "delivered", "dsn": "2.0.0", "queue_id": Q}),
    ],
    "S06": [
        (
            "friend@partner.test",
            {
                "status": "rejected",
                "dsn": "5.7.1",
                "domain": "example.com",
                "reason~": "not owned by user bob@example.com",
            },
        )
    ],
    "S08": [
        (
            "bob@example.com",
            {
                "status": "delivered",
                "dsn": "2.0.0",
                "account": "alice@example.com",
                "queue_id": Q,
                "message_id": M,
            },
        )
    ],
}


@pytest.mark.parametrize("sid", list(SENT))
def test_sent(lab: LabRun, sid: str) -> None:
    sc = scenario(lab, sid)
    rows = search(lab, "sent")
    for rcpt, expect in SENT[sid]:
        label = f"{sid} sent to {rcpt}"
        row = mail_row(rows, sc, rcpt, label)
        check(row, _fill(expect, sc), label)


# ------------------------------------------------------------------------ accesses --
# scenario -> (user, protocol, remote ip, expected fields of the single row)
ACCESSES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "A01": (
        "alice@example.com",
        "imap",
        "127.0.0.30",
        {
            "status": "success",
            "error": None,
            "client~": "Microsoft Outlook",
            "deleted": 1,
            "expunged": 1,
            "trashed": 1,
        },
    ),
    "A02": ("gina@example.com", "pop3", "127.0.0.32", {"status": "success", "error": None}),
    "A03": (
        "bob@example.com",
        "imap",
        "127.0.0.1",
        {"status": "success", "error": None, "client~": "Thunderbird"},
    ),
    "A04": (
        "alice@example.com",
        "imap",
        "127.0.0.31",
        {"status": "failed", "error": "auth-failed"},
    ),
    "A05": (
        "nobody@example.com",
        "imap",
        "127.0.0.31",
        {"status": "failed", "error": "unknown-user"},
    ),
    "A06": (
        "frank@example.org",
        "imap",
        "127.0.0.30",
        {"status": "failed", "error": "user-disabled"},
    ),
    "A07": (
        "ivan@example.org",
        "imap",
        "127.0.0.30",
        {"status": "failed", "error": "user-disabled"},
    ),
    "A08": (
        "erin@example.com",
        "imap",
        "127.0.0.30",
        {"status": "failed", "error": "ip-notallowed"},
    ),
    "A09": (
        "carol@example.org",
        "imap",
        "127.0.0.31",
        {"status": "failed", "error": "plaintext-disallowed"},
    ),
    "A11": ("dave@example.org", "managesieve", "127.0.0.1", {"status": "success", "error": None}),
    "A12": ("gina@example.com", "pop3", "127.0.0.32", {"status": "failed", "error": "auth-failed"}),
}


@pytest.mark.parametrize("sid", list(ACCESSES))
def test_access(lab: LabRun, sid: str) -> None:
    sc = scenario(lab, sid)
    user, protocol, ip, expect = ACCESSES[sid]
    rows = search(lab, "accesses")
    label = f"{sid} {protocol} {user} from {ip}"
    keys = {"user": user, "protocol": protocol, "remote_ip": ip}
    row = one(pick(rows, sc, **keys), label, pick(rows, None, **keys))
    check(row, {**expect, "domain": user.split("@")[1]}, label)
    if expect["status"] == "success":
        assert row.get("session"), f"{label}: no session id"
        assert row.get("logout_time"), f"{label}: logout not joined to the login"
        if protocol != "pop3":  # IMAP in=/out=, ManageSieve bytes=in/out at logout
            traffic = (row.get("bytes_in"), row.get("bytes_out"))
            assert all(isinstance(b, int) and b > 0 for b in traffic), f"{label}: {traffic}"


def test_access_too_many_connections(lab: LabRun) -> None:
    """A10: henry's first session from .44 succeeds, the parallel second one is refused."""
    sc = scenario(lab, "A10")
    rows = pick(
        search(lab, "accesses"),
        sc,
        user="henry@example.org",
        protocol="imap",
        remote_ip="127.0.0.44",
    )
    statuses = sorted((r.get("status"), r.get("error")) for r in rows)
    assert statuses == [("failed", "many-connections"), ("success", None)], (
        f"A10: {statuses}: " + " | ".join(_brief(r) for r in rows)
    )
    ok = next(r for r in rows if r.get("status") == "success")
    assert "iPhone Mail" in (ok.get("client") or ""), _brief(ok)


def test_access_smtp_auth_failed(lab: LabRun) -> None:
    """S07: wrong password on submission; smtplib tries PLAIN then LOGIN (2 attempts)."""
    sc = scenario(lab, "S07")
    keys = {"user": "alice@example.com", "protocol": "smtp", "remote_ip": "127.0.0.31"}
    rows = pick(search(lab, "accesses"), sc, **keys)
    near = pick(search(lab, "accesses"), None, **{**keys, "protocol": ("smtp", "submission")})
    assert 1 <= len(rows) <= 2, f"S07: {len(rows)} rows; same user+IP at any time: " + " | ".join(
        _brief(r) for r in near[:4]
    )
    for r in rows:
        check(r, {"status": "failed", "error": "auth-failed"}, "S07")


# -------------------------------------------------------------------------- locate --
# (scenario whose message is looked for, account, state, folder)
LOCATE: dict[str, tuple[str, str, str | None]] = {
    "R01": ("alice@example.com", "in-folder", "INBOX"),
    "R02": ("alice@example.com", "in-folder", "News"),
    "R03": ("bob@example.com", "in-folder", "Lists"),
    "R08": ("bob@example.com", "in-folder", "Junk"),
    "R12": ("alice@example.com", "in-folder", "Trash"),  # moved by A01
    "R13": ("gina@example.com", "downloaded-pop", None),  # RETR + DELE in A02
    "S02-NDR": ("alice@example.com", "deleted", None),  # the bounce notice, deleted in A01
}


@pytest.mark.parametrize("sid", list(LOCATE))
def test_locate(lab: LabRun, sid: str) -> None:
    account, state, folder = LOCATE[sid]
    if sid == "S02-NDR":
        message_id = scenario(lab, "A01")["observed"].get("ndr_message_id")
        assert message_id, "A01 found no bounce notice in alice's INBOX"
    else:
        message_id = scenario(lab, sid)["message_id"]
    res = locate(lab, message_id, account)
    label = f"locate {sid} {message_id} for {account}"
    assert _mid(res.get("message_id")) == _mid(message_id), f"{label}: {res}"
    assert _lower(res.get("account")) == account, f"{label}: {res}"
    assert (res.get("state"), res.get("folder") if state == "in-folder" else None) == (
        state,
        folder,
    ), f"{label}: {json.dumps(res, ensure_ascii=False)[:900]}"
    history = res.get("history") or []
    assert history, f"{label}: empty history"
    times = [h.get("time") for h in history]
    assert times == sorted(times), f"{label}: history not oldest first: {times}"
