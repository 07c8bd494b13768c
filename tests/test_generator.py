"""The synthetic log generator: determinism, real line forms, outcome coverage, live mode."""

# The line-form regexes below read best one alternative per line, however long.
# ruff: noqa: E501

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.gen import GenOptions, generate, run_live
from tracemail_tui.store import engine

REAL = Path(__file__).parent / "fixtures" / "real"

# -- line forms, written from the real logs in tests/fixtures/real -----------------------
STAMP = (
    r"(?:[A-Z][a-z]{2} (?:[0-3]\d| [1-9]) \d\d:\d\d:\d\d"  # postlogd "Nov 07" / syslog "Nov  7"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d)"  # rsyslog RFC 3339
)
QID = r"(?:[0-9A-F]{10,12}|[0-9A-Za-z]{10}z[0-9A-Za-y]+)"
POSTFIX = re.compile(rf"^{STAMP} (\S+) postfix/([a-z/-]+)\[(\d+)\]: (.+)$")
DOVECOT_SYSLOG = re.compile(rf"^{STAMP} (\S+) dovecot: (.+)$")
DOVECOT_FILE = re.compile(
    r"^[A-Z][a-z]{2} [0-3]\d \d\d:\d\d:\d\d (.+?): (Info|Warning|Error): (.+)$"
)
RSPAMD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d #\d+\(rspamd_proxy\) <[0-9a-f]{6}>; "
    r"(proxy|milter|lua); [\w.:]+: .+$"
)
CLAMAV = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \d{4} -> .+$")
ROUNDCUBE = re.compile(
    r"^\[\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}\]: <[0-9a-z]{8}> "
    r"(Successful login for \S+ \(ID: \d+\) from \S+ in session [0-9a-z]{16}"
    r"|Failed login for \S+ from \S+ in session [0-9a-z]{16} \(error: -?\d+\))$"
)
POSTFIX_MSG = re.compile(
    rf"^(?:connect from \S+\[[0-9a-f.:]+\]"
    r"|disconnect from \S+\[[0-9a-f.:]+\](?: [a-z]+=\d+(?:/\d+)?)+"
    r"|Anonymous TLS connection established from \S+: TLSv1\.3 .+"
    r"|Untrusted TLS connection established to \S+: TLSv1\.3 .+"
    r"|warning: \S+: SASL (?:PLAIN|LOGIN) authentication failed: .+, sasl_username=\S+"
    r"|daemon started -- version [\d.]+, configuration /etc/postfix"
    r"|starting the Postfix mail system"
    r"|Deleted: 1 message"
    # postscreen (lab R34/R35: CONNECT, PREGREET, DENYLISTED, the reject, DISCONNECT)
    r"|CONNECT from \[[0-9a-f.:]+\]:\d+ to \[[0-9a-f.:]+\]:25"
    r"|PREGREET \d+ after [\d.]+ from \[[0-9a-f.:]+\]:\d+: EHLO \S+\\r\\n"
    r"|DNSBL rank \d+ for \[[0-9a-f.:]+\]:\d+|DENYLISTED \[[0-9a-f.:]+\]:\d+"
    r"|NOQUEUE: reject: RCPT from \[[0-9a-f.:]+\]:\d+: 550 5\.\d\.\d [^;]+(?:; client "
    r"\[[0-9a-f.:]+\] blocked using \S+)?; from=<[^>]*>, to=<[^>]+>, proto=ESMTP, helo=<[^>]+>"
    r"|DISCONNECT \[[0-9a-f.:]+\]:\d+"
    r"|NOQUEUE: reject: RCPT from \S+: \d{3} \d\.\d\.\d <[^>]*>: .+; from=<[^>]*> to=<[^>]+> proto=ESMTP helo=<[^>]+>"
    rf"|{QID}: (?:client=\S+(?:, sasl_method=PLAIN, sasl_username=\S+)?"
    r"|info: header Subject: .* from (?:\S+\[[0-9a-f.:]+\]|local); from=<[^>]*> to=<[^>]+>(?: proto=ESMTP helo=<[^>]+>)?"
    r"|message-id=<[^>]+>"
    r"|from=<[^>]*>, size=\d+, nrcpt=\d+ \(queue active\)"
    r"|to=<[^>]+>, (?:orig_to=<[^>]+>, )?relay=\S+, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, "
    r"dsn=\d\.\d\.\d, status=(?:sent|bounced|deferred|deliverable|undeliverable) \(.+\)"
    r"|removed"
    r"|reject: RCPT from \S+: 550 5\.1\.1 <[^>]+>: .+; from=<[^>]*> to=<[^>]+> proto=ESMTP helo=<[^>]+>"
    r"|milter-reject: END-OF-MESSAGE from \S+: 5\.7\.1 .+; from=<[^>]*> to=<[^>]+> proto=ESMTP helo=<[^>]+>"
    r"|milter-hold: END-OF-MESSAGE from \S+: milter triggers HOLD action; from=<[^>]*> to=<[^>]+> .+"
    r"|hold: header .+ from \S+; from=<[^>]*> to=<[^>]+> proto=ESMTP helo=<[^>]+>: .+"
    rf"|sender non-delivery notification: {QID}"
    r"|uid=\d+ from=<[^>]*>))$"
)
DOVECOT_MSG = re.compile(
    r"^(?:master: Dovecot v[\d.]+ \(\w+\) starting up for .+"
    r"|(?:imap|pop3|managesieve)-login: (?:ID sent: .+: user=<>, rip=\S+, lip=\S+, (?:TLS|secured), session=<[^>]+>"
    r"|Login: user=<[^>]+>, method=PLAIN, rip=\S+, lip=\S+, mpid=\d+, (?:TLS|secured), session=<[^>]+>"
    r"|Disconnected: .+\): user=<[^>]*>, (?:method=PLAIN, )?rip=\S+, lip=\S+, (?:(?:TLS|secured), )?session=<[^>]+>"
    r"|Login failed: Plaintext authentication disabled: user=<>, rip=\S+, lip=\S+, session=<[^>]+>)"
    r"|auth: (?:passwd-file\([^,]+,[^,)]+(?:,<[^>]+>)?\): (?:Password mismatch|unknown user|allow_nets check failed: .+)"
    r"|User found from deny passdb)"
    r"|lmtp\(\d+\): (?:Connect from \S+|Disconnect from \S+: Logged out \(state=READY\))"
    r"|(?:lmtp|imap|pop3|managesieve)\([^)]+\)<\d+><[^>]+>: (?:Error: )?(?:"
    r"(?:save|expunge|delete|flag_change|copy from \w+): box=\S+, uid=\d+, msgid=<[^>]+>, size=\d+, from=.*, subject=.*"
    r"|sieve: msgid=<[^>]+>: (?:stored mail into mailbox '[^']+'|fileinto action: stored mail into mailbox '[^']+'"
    r"|redirect action: forwarded to <[^>]+>|vacation action: sent vacation response to <[^>]+>"
    r"|marked message to be discarded if not explicitly delivered \(discard action\)"
    r"|failed to store into mailbox '[^']+': .+)"
    r"|sieve: Execution of script \S+ failed with unsuccessful implicit keep"
    r"|Disconnected: Logged out .+|Disconnected: Connection closed \(.+\) in=\d+ out=\d+ .+"
    r"|Mailbox (?:renamed|deleted): .+))$"
)


def _dovecot_syslog_msg(msg: str) -> str:
    """`proc: text` (syslog form) -> the file form's message for DOVECOT_MSG."""
    return msg


def _dovecot_file_msg(m: re.Match[str]) -> str:
    proc, sev, text = m.groups()
    return f"{proc}: {'Error: ' if sev == 'Error' else ''}{text}"


def check_file(path: Path) -> int:
    """Assert every line of one generated (or real) file has a known form; returns lines."""
    name = path.name
    n = 0
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            assert line.endswith("\n"), (path, line)
            line = line[:-1]
            n += 1
            if name == "mail.log":
                m = POSTFIX.match(line)
                if m:
                    assert POSTFIX_MSG.match(m[4]), line
                    continue
                m = DOVECOT_SYSLOG.match(line)
                assert m, line
                assert DOVECOT_MSG.match(m[2]), line
            elif name == "dovecot.log":
                m = DOVECOT_FILE.match(line)
                assert m, line
                assert DOVECOT_MSG.match(_dovecot_file_msg(m)), line
            elif name == "rspamd.log":
                assert RSPAMD.match(line), line
            elif name == "clamav.log":
                assert CLAMAV.match(line), line
            elif name == "userlogins":
                assert ROUNDCUBE.match(line), line
            else:
                raise AssertionError(f"unexpected file {path}")
    return n


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """A 2-day, ~120k-line set with ground truth."""
    d = tmp_path_factory.mktemp("medium")
    truth = d / "truth.jsonl"
    generate(d / "logs", seed=11, lines=120_000, days=2, truth=truth)
    recs = [json.loads(x) for x in truth.read_text(encoding="utf-8").splitlines()]
    return d / "logs", recs


def _all_text(root: Path) -> str:
    return "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    )


# -- the regexes mirror the real daemons ----------------------------------------------
def test_patterns_accept_the_real_postfix_and_dovecot_lines() -> None:
    assert check_file(REAL / "mail.log") > 100
    assert check_file(REAL / "dovecot.log") > 50


def test_patterns_accept_the_real_rspamd_scan_lines() -> None:
    lines = [
        x for x in (REAL / "rspamd.log").read_text().splitlines() if "rspamd_task_write_log" in x
    ]
    assert lines and all(RSPAMD.match(x) for x in lines)


# -- determinism ------------------------------------------------------------------------
def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    def digest(d: Path) -> dict[str, bytes]:
        return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}

    generate(tmp_path / "a", seed=5, lines=15_000)
    generate(tmp_path / "b", seed=5, lines=15_000)
    generate(tmp_path / "c", seed=6, lines=15_000)
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert set(a) >= {
        "mx1/mail.log",
        "mx2/mail.log",
        "smtp1/mail.log",
        "imap1/dovecot.log",
        "mx1/rspamd.log",
        "webmail1/userlogins",
    }
    assert a == b
    assert a["mx1/mail.log"] != c["mx1/mail.log"]


# -- line forms of generated output ----------------------------------------------------
def test_every_generated_line_has_a_real_form(medium: tuple[Path, list[dict]]) -> None:
    root, _ = medium
    total = sum(check_file(p) for p in root.rglob("*") if p.is_file())
    assert 100_000 < total < 140_000  # about the requested number of lines


@pytest.mark.parametrize(
    ("style", "dovecot", "long_ids", "first"),
    [
        ("syslog", "syslog", True, re.compile(r"^Nov  1 00:")),
        ("postlogd", "file", False, re.compile(r"^Nov 01 00:")),
        ("rfc3339", "syslog", False, re.compile(r"^2026-11-01T00:\d\d:\d\d\.\d{6}\+00:00 ")),
    ],
)
def test_variants_of_the_line_forms(
    tmp_path: Path, style: str, dovecot: str, long_ids: bool, first: re.Pattern[str]
) -> None:
    from datetime import datetime

    generate(
        tmp_path,
        seed=2,
        lines=8_000,
        days=0.5,
        start=datetime(2026, 11, 1),
        postfix_style=style,
        dovecot_form=dovecot,
        long_queue_ids=long_ids,
    )
    for p in tmp_path.rglob("*"):
        if p.is_file():
            check_file(p)
    mail = (tmp_path / "mx1" / "mail.log").read_text()
    assert first.match(mail)
    qids = re.findall(r"postfix/qmgr\[\d+\]: (\S+): removed", mail)
    assert qids and all(("z" in q and len(q) >= 12) == long_ids for q in qids)
    assert (tmp_path / "imap1" / "dovecot.log").exists() == (dovecot == "file")
    if dovecot == "syslog":
        assert (
            " imap1 dovecot: imap-login: Login: user=<"
            in (tmp_path / "imap1" / "mail.log").read_text()
        )


# -- every outcome kind appears ------------------------------------------------------------
MARKERS = {
    "lmtp to imap1 over TCP": "relay=imap1.example.net[10.0.0.21]:24",
    "inbox": "stored mail into mailbox 'INBOX'",
    "sieve fileinto": "fileinto action: stored mail into mailbox",
    "junk": "stored mail into mailbox 'Junk'",
    "redirect": "redirect action: forwarded to <",
    "pickup re-injection": "postfix/pickup[",
    "vacation": "vacation action: sent vacation response",
    "vacation null sender": "uid=5000 from=<>",
    "discard": "(discard action)",
    "unknown user": "NOQUEUE: reject: RCPT from",
    "relay denied": "Relay access denied",
    "spam reject": "5.7.1 Spam message rejected",
    "add header": "T (add header)",
    "milter-hold": "milter-hold: END-OF-MESSAGE",
    "header_checks hold": ": hold: header ",
    "virus": 'clamav: virus found: "',
    "clamd FOUND": ") FOUND",
    "alias": "orig_to=<",
    "multi-rcpt reject with qid": ": reject: RCPT from",
    "R2 session": ":R2 Saved)",
    "sasl submission": "sasl_method=PLAIN, sasl_username=",
    "rspamd user": ", user: ",
    "bounced": "status=bounced",
    "ndr": "sender non-delivery notification:",
    "deferred": "status=deferred",
    "over quota": "Quota exceeded (mailbox for user is full)",
    "outbound gtube": "Gtube pattern",
    "login mismatch": "not owned by user",
    "sasl failure": "SASL PLAIN authentication failed",
    "imap id": "imap-login: Info: ID sent: name=",
    "password mismatch": "): Password mismatch",
    "auth unknown user": "): unknown user",
    "nologin": "(internal failure, 1 successful auths)",
    "deny passdb": "User found from deny passdb",
    "user disabled": "(user disabled)",
    "allow_nets": "allow_nets check failed",
    "plaintext": "Plaintext authentication disabled",
    "max connections": "Maximum number of connections from user+IP exceeded",
    "move": "copy from INBOX: box=Trash",
    "expunge": "Info: expunge: box=",
    "delete": "Info: delete: box=",
    "flag": "Info: flag_change: box=",
    "append": "Info: save: box=Sent",
    "pop3": "Disconnected: Logged out top=",
    "managesieve": "managesieve-login: Info: Login:",
    "logout counters": "deleted=",
    "webmail ok": "Successful login for",
    "webmail fail": "Failed login for",
    "rfc2047": "=?utf-8?",
    "rich markup subject": "[bold red]URGENT[/] ?[31m",
    "long subject cut": "item-01",
    "ipv6 client": "rip=2001:db8:",
}


def test_all_outcome_kinds_present(medium: tuple[Path, list[dict]]) -> None:
    text = _all_text(medium[0])
    missing = [k for k, v in MARKERS.items() if v not in text]
    assert not missing


def test_brute_force_from_one_ip(medium: tuple[Path, list[dict]]) -> None:
    recs = medium[1]
    fails = Counter(
        r["remote_ip"] for r in recs if r["view"] == "accesses" and r["status"] == "failed"
    )
    _, n = fails.most_common(1)[0]
    assert n >= 20


def test_long_subject_is_cut_at_200_like_postfix(medium: tuple[Path, list[dict]]) -> None:
    text = (medium[0] / "mx1" / "mail.log").read_text() + (
        medium[0] / "mx2" / "mail.log"
    ).read_text()
    heads = re.findall(r"info: header (Subject: Very long.*?) from \S+\[", text)
    assert heads and all(len(h) == 200 for h in heads)


# -- ground truth ------------------------------------------------------------------------
def test_ground_truth_covers_every_view_status_and_error(medium: tuple[Path, list[dict]]) -> None:
    recs = medium[1]
    by = Counter((r["view"], r["status"]) for r in recs if "status" in r)
    for key in [
        ("received", "accepted"),
        ("received", "quarantined"),
        ("received", "rejected"),
        ("sent", "delivered"),
        ("sent", "rejected"),
        ("sent", "queued"),
        ("accesses", "success"),
        ("accesses", "failed"),
    ]:
        assert by[key] > 0, key
    errors = {r["error"] for r in recs if r["view"] == "accesses" and r["status"] == "failed"}
    assert errors >= {
        "auth-failed",
        "unknown-user",
        "user-disabled",
        "ip-notallowed",
        "many-connections",
        "plaintext-disallowed",
    }
    protos = {r["protocol"] for r in recs if r["view"] == "accesses"}
    assert protos == {"imap", "pop3", "managesieve", "webmail", "smtp"}
    deliveries = {r.get("delivery") for r in recs if r["view"] == "received"}
    assert deliveries >= {"delivered", "forwarded", "discarded", "bounced", "held", "deleted"}
    assert any(r.get("virus") for r in recs if r["view"] == "received")
    assert {r["event"] for r in recs if r["view"] == "mailbox"} >= {
        "moved",
        "deleted",
        "downloaded-pop",
    }


def test_mail_views_match_the_ground_truth(medium: tuple[Path, list[dict]]) -> None:
    """Every generated message and recipient comes out with the outcome the generator
    wrote: status and delivery in received, status and reason in sent (queue deletions by
    postsuper included, which used to stay "held" and "queued"); and no row comes out that
    the generator did not write (address verification probes used to show as sent mail)."""
    root, recs = medium
    res = engine.run([root])
    fields = {"received": ("status", "delivery"), "sent": ("status", "reason")}
    deleted = 0
    for view, names in fields.items():
        rows = res[view].filter(pl.col("queue_id").is_not_null())
        got = {(r["queue_id"], r["recipient"]): r for r in rows.iter_rows(named=True)}
        want = [t for t in recs if t["view"] == view and t.get("queue_id")]
        assert len(want) > 1000
        assert set(got) == {(t["queue_id"], t["recipient"]) for t in want}
        for t in want:
            row = got.get((t["queue_id"], t["recipient"]))
            assert row is not None, t
            assert {f: row[f] for f in names} == {f: t[f] for f in names}, t
            deleted += (t.get("delivery") == "deleted"
                        or (t.get("reason") or "").startswith("deleted from the queue"))
    assert deleted > 5


def test_ground_truth_queue_ids_are_in_the_logs(medium: tuple[Path, list[dict]]) -> None:
    root, recs = medium
    text = _all_text(root)
    qids = {r["queue_id"] for r in recs if r["view"] in ("received", "sent") and r.get("queue_id")}
    assert len(qids) > 1000
    logged = set(re.findall(rf" ({QID}): ", text))
    assert qids <= logged
    sessions = {r["session"] for r in recs if r["view"] == "accesses" and r["protocol"] == "imap"}
    assert sessions <= set(re.findall(r"session=<([^>]+)>", text))


# -- live mode -----------------------------------------------------------------------------
def test_live_mode_appends_complete_lines_stamped_now(tmp_path: Path) -> None:
    generate(tmp_path, seed=3, lines=2_000)  # live appends to an existing set
    before = (tmp_path / "mx1" / "mail.log").stat().st_size
    stop = threading.Event()
    result: list[int] = []
    th = threading.Thread(
        target=lambda: result.append(run_live(tmp_path, rate=400, stop_event=stop, seed=9))
    )
    th.start()
    samples = []
    try:
        for _ in range(12):
            time.sleep(0.15)
            for p in tmp_path.rglob("*"):
                if p.is_file() and p.stat().st_size:
                    samples.append(p.read_bytes()[-1:])
    finally:
        stop.set()
        th.join(5)
    assert not th.is_alive()
    assert result and result[0] > 100
    assert all(s == b"\n" for s in samples)  # a reader only ever sees whole lines
    mail = (tmp_path / "mx1" / "mail.log").read_bytes()
    assert len(mail) > before
    for p in tmp_path.rglob("*"):
        if p.is_file():
            check_file(p)
    last = mail.decode().splitlines()[-1]
    assert last[:6] == time.strftime("%b %d", time.localtime())  # stamped with the clock


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        GenOptions(postfix_style="iso").check()
    with pytest.raises(ValueError):
        GenOptions(days=0).window()


def test_live_mode_keeps_about_the_asked_rate(tmp_path: Path) -> None:
    n = run_live(tmp_path, rate=150, duration=3.0, seed=4)
    assert 0.4 * 450 < n < 1.8 * 450  # Poisson traffic; a biased clock would double it


def test_daily_rotation_splits_by_day_and_loses_nothing(tmp_path: Path) -> None:
    import gzip

    from tracemail_tui.gen.rotate import rotate_daily

    generate(tmp_path / "flat", seed=8, lines=12_000, days=3)
    generate(tmp_path / "rot", seed=8, lines=12_000, days=3)
    rotate_daily(tmp_path / "rot")
    for name in ("mx1/mail.log", "imap1/dovecot.log", "mx2/rspamd.log", "webmail1/userlogins"):
        flat = (tmp_path / "flat" / name).read_bytes()
        base = tmp_path / "rot" / name
        parts = sorted(
            base.parent.glob(base.name + ".*.gz"), key=lambda p: -int(p.name.split(".")[-2])
        )
        joined = b"".join(gzip.decompress(p.read_bytes()) for p in parts)
        joined += Path(f"{base}.1").read_bytes() + base.read_bytes()
        assert parts and joined == flat, name
        if name.endswith(("mail.log", "dovecot.log")):  # "Nov 26" prefixes: one day per file
            assert len({ln[:6] for ln in Path(f"{base}.1").read_bytes().splitlines()}) == 1


def test_bundled_demo_data_is_reproducible(tmp_path: Path) -> None:
    """demo_data/ is exactly what its README's command (and make_demo) writes."""
    from datetime import datetime

    from tracemail_tui.gen import demo

    cmd = re.search(r"generate demo_data (.+)", (demo.BUNDLED / "README.md").read_text())
    assert cmd
    args = cmd[1].split()
    opts = dict(zip(args[::2], args[1::2], strict=True))
    assert demo.DEMO_OPTIONS == {
        "seed": int(opts["--seed"]),
        "lines": int(opts["--lines"]),
        "days": float(opts["--days"]),
        "start": datetime.fromisoformat(opts["--start"]),
        "n_domains": int(opts["--domains"]),
        "n_accounts": int(opts["--accounts"]),
    }
    generate(tmp_path / "fresh", **demo.DEMO_OPTIONS)  # what make_demo does when not bundled
    copied = demo.make_demo(tmp_path / "copy")
    for other in (tmp_path / "fresh", copied):
        files = sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
        bundled = sorted(
            p.relative_to(demo.BUNDLED)
            for p in demo.BUNDLED.rglob("*")
            if p.is_file() and p.name != "README.md"
        )
        assert files == bundled
        assert all((demo.BUNDLED / f).read_bytes() == (other / f).read_bytes() for f in files)


def test_a_queue_id_logs_nothing_after_removed(medium: tuple[Path, list[dict]]) -> None:
    """Postfix's order: one `removed` per queue file, and it is the file's last word."""
    root = medium[0]
    line_re = re.compile(rf"postfix/(\w+)\[\d+\]: ({QID}): (.*)")
    for host in ("mx1", "mx2", "smtp1", "imap1"):
        removed: set[str] = set()
        for line in (root / host / "mail.log").read_text().splitlines():
            m = line_re.search(line)
            if not m:
                continue
            assert m[2] not in removed, line
            if m[3] == "removed":
                removed.add(m[2])
        assert removed


def test_every_file_is_in_time_order(medium: tuple[Path, list[dict]]) -> None:
    """A tailer relies on it: no line is older than the line before it."""
    from datetime import datetime

    def key(name: str, line: str) -> datetime:
        if name == "rspamd.log":
            return datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
        if name == "clamav.log":
            return datetime.strptime(line[:24], "%a %b %d %H:%M:%S %Y")
        if name == "userlogins":
            return datetime.strptime(line[1:21], "%d-%b-%Y %H:%M:%S")
        return datetime.strptime("2026 " + line[:15], "%Y %b %d %H:%M:%S")

    for p in medium[0].rglob("*"):
        if p.is_file():
            stamps = [key(p.name, x) for x in p.read_text().splitlines()]
            assert stamps == sorted(stamps), p


def test_live_mode_can_continue_a_fixed_timeline(tmp_path: Path) -> None:
    """`start=` stamps live lines from that moment on (the demo continues its own dates)."""
    import datetime as dt

    from tracemail_tui.gen.live import run_live

    start = dt.datetime(2026, 11, 27, 6, 0)
    # ~18 episodes in 0.6 s: at 40 lines/s (~2 episodes) a seed could draw none at all
    assert run_live(tmp_path, rate=400, duration=0.6, start=start, seed=3) > 0
    stamps = [ln[:15] for p in tmp_path.rglob("mail.log") for ln in p.read_text().splitlines()]
    assert stamps and all(s.startswith("Nov 27 06:00:0") for s in stamps)


def test_a_vacation_rule_answers_a_sender_once_a_day(tmp_path: Path) -> None:
    """As Pigeonhole does (lab R30): the second message of one sender within the rule's
    :days period gets no reply, logged as `discarded duplicate vacation response`; a day
    later it is answered again. The engine reads it back as the truth says."""
    from tracemail_tui.gen.batch import epoch, startup_lines
    from tracemail_tui.gen.ctx import Ctx
    from tracemail_tui.gen.inbound import accepted
    from tracemail_tui.gen.sink import Sink

    opts = GenOptions(seed=3, lines=100, truth=tmp_path / "truth.jsonl")
    sink = Sink(tmp_path / "logs", opts.truth)
    ctx = Ctx(opts, sink)
    t0 = epoch(opts.window()[0])
    startup_lines(ctx, t0)
    acct = next(a for a in ctx.world.accounts if not (a.redirect or a.over_quota
                                                          or a.discard_from))
    acct.vacation = True
    ext = next(e for e in ctx.world.externals if e.domain != acct.discard_from)
    for hours in (1, 2, 30):
        accepted(ctx, t0 + hours * 3600, ext=ext, acct=acct)
    sink.release(float("inf"))
    sink.close()
    logs = "".join(p.read_text("utf-8") for p in (tmp_path / "logs").rglob("*") if p.is_file())
    assert logs.count("vacation action: sent vacation response") == 2
    assert logs.count("vacation action: discarded duplicate vacation response") == 1
    rows = engine.run([tmp_path / "logs"]).views["received"].filter(
        pl.col("recipient") == acct.addr.lower()).sort("time")
    assert rows.select("auto_reply", "filter_rule").rows() == [
        (True, "vacation"), (False, "vacation (not sent: duplicate)"), (True, "vacation")]
    truth = [json.loads(line) for line in opts.truth.read_text("utf-8").splitlines()]
    assert [(r["auto_reply"], r["filter_rule"]) for r in truth if r["view"] == "received"
            and r["recipient"] == acct.addr.lower()] == rows.select(
        "auto_reply", "filter_rule").rows()
