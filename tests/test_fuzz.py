"""Property tests: hostile log bytes through every parser and the whole pipeline.

Whatever the input (random bytes, truncated or mutated real lines, NUL bytes, invalid
UTF-8, mixed timestamp forms, queue ids reused on another host, lines out of order,
hostile subjects and user names), the run must not raise, every line must be counted
(per program: parsed + ignored + unparsed = lines), ids stay unique, and every output
(table, JSON, JSONL, CSV, redacted CSV) keeps hostile text literal and inert.
Examples are bounded (`max_examples`) so the suite stays fast; `bench/fuzz.py` is the
long run.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Final

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracemail_tui.cli import output
from tracemail_tui.export.csv_export import FORMULA_START, write_csv
from tracemail_tui.export.privacy import Privacy
from tracemail_tui.export.redact import Redactor
from tracemail_tui.store import engine, schema
from tracemail_tui.store.parse import clamav, dovecot, header, postfix, roundcube, rspamd
from tracemail_tui.store.stats import Stats

REAL = Path(__file__).parent / "fixtures" / "real"
REAL_LINES: Final = [
    line
    for name in ("mail.log", "dovecot.log", "rspamd.log", "clamav.log")
    for line in (REAL / name).read_bytes().splitlines()
    if line
]
HOSTILE: Final = [
    "[bold red]x[/]", "[link=http://evil]y[/link]", "\x1b[31m", "\x1b]0;pwned\x07", "\x1b[2J",
    "\x9b31m", "\u202e", "\u2066", "\u200b", "\ufeff", "=cmd|' /C calc'!A0", "+1+1", "-2+3",
    "@SUM(A1)", "\t=1", "\x00", "\x07", "<script>", "=?utf-8?b?x?=", "=?a?q?x", "=?", "'",
    '"', ",", ";", "\\", "%s%n", "{0}", "ü", "中文", "🍕", "\udcff",
]
HOSTILE_BYTES: Final = [b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x80", b"\x00", b"\r", b"\x1b"]
SETTINGS: Final = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# What must never reach a terminal from `--format table`.
_RAW_CONTROL: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)
REDACTOR: Final = Redactor(b"fuzz-key")


# ---------------------------------------------------------------- strategies
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), min_size=1, max_size=6
).map("".join)


@st.composite
def mutated_line(draw: st.DrawFn) -> bytes:
    """A real line, possibly truncated, restamped, moved to another host or spiked."""
    line = draw(st.sampled_from(REAL_LINES))
    op = draw(st.sampled_from(
        ["keep", "truncate", "hostile", "bytes", "host", "stamp_syslog", "stamp_rfc3339",
         "token"]
    ))
    if op == "truncate":
        return line[: draw(st.integers(0, len(line)))]
    if op in ("hostile", "bytes"):
        at = draw(st.integers(0, len(line)))
        spike = (draw(hostile_text).encode("utf-8", "surrogateescape") if op == "hostile"
                 else draw(st.sampled_from(HOSTILE_BYTES)))
        return line[:at] + spike + line[at:]
    if op == "host":  # the same queue ids and sessions on another host
        return line.replace(b" mx01 ", b" mx02 ", 1)
    if op == "stamp_syslog" and line[:3].isalpha():  # "Nov 27" -> "Nov  7" (classic syslog)
        return line[:4] + b" 7" + line[6:]
    if op == "stamp_rfc3339" and line[:3].isalpha() and b" mx01 " in line[:25]:
        return b"2026-11-27T" + line[7:15] + b".123456+01:00" + line[15:]
    if op == "token":  # one word replaced by hostile text (a user name, a HELO, a subject)
        words = line.split(b" ")
        i = draw(st.integers(0, len(words) - 1))
        words[i] = draw(hostile_text).encode("utf-8", "surrogateescape")
        return b" ".join(words)
    return line


@st.composite
def mutated_log(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(mutated_line(), min_size=1, max_size=60))
    if draw(st.booleans()):
        draw(st.randoms(use_true_random=False)).shuffle(lines)  # out of order
    return b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"]))


# ---------------------------------------------------------------- checks
def lines_in(data: bytes) -> int:
    """Lines the reader must see: split at LF, one trailing CR dropped, empty ones skipped."""
    return sum(1 for s in data.split(b"\n") if (s[:-1] if s.endswith(b"\r") else s))


def run_bytes(data: bytes) -> engine.Result:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mail.log"
        path.write_bytes(data)
        return engine.run([path], host="fuzz", year=2026)


def check_stats(stats: Stats, expected_lines: int) -> None:
    """Every line counted once per program; ignored + unparsed never exceed the lines."""
    assert stats.lines == expected_lines
    assert sum(stats.programs.values()) == expected_lines
    assert sum(stats.ignored.values()) + sum(stats.unparsed.values()) <= expected_lines
    for prog, n in stats.programs.items():
        assert stats.ignored.get(prog, 0) + stats.unparsed.get(prog, 0) <= n, prog


def check_outputs(result: engine.Result) -> None:
    """Ids unique; table inert; JSON exact; CSV neutralised, also redacted and scoped."""
    privacy = Privacy(scope=("example.org",), show_subjects=False, redactor=REDACTOR)
    for view in schema.VIEWS:
        df = result.views[view]
        assert df.get_column("id").is_duplicated().sum() == 0, view
        table = io.StringIO()
        output.write_table(df, table, view)
        assert not _RAW_CONTROL.search(table.getvalue())
        js, jl = io.StringIO(), io.StringIO()
        output.write_json(df, js)
        output.write_jsonl(df, jl)
        rows = json.loads(js.getvalue())
        assert len(rows) == df.height
        assert [json.loads(x) for x in jl.getvalue().splitlines()] == rows
        for frame in (df, privacy.frame(df, view)):
            buf = io.BytesIO()
            write_csv(frame, buf, view=view)
            check_csv(buf.getvalue().decode("utf-8"), frame.height)


csv.field_size_limit(2**31 - 1)  # 1 MB cells are legitimate here


def check_csv(text: str, height: int) -> None:
    cells = list(csv.reader(io.StringIO(text)))
    assert len(cells) == height + 1
    for row in cells[1:]:
        for cell in row:
            if cell.startswith(FORMULA_START):  # only numbers may (a spam score of -0.5)
                float(cell)


# ---------------------------------------------------------------- properties
@SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes_through_the_pipeline(data: bytes) -> None:
    result = run_bytes(data)
    check_stats(result.stats, lines_in(data))
    check_outputs(result)


@SETTINGS
@given(st.lists(st.binary(min_size=1, max_size=120).filter(lambda b: b"\n" not in b),
                min_size=1, max_size=30))
def test_garbage_lines_are_all_unparsed(lines: list[bytes]) -> None:
    """Lines that are not log lines at all end up unparsed, never silently dropped."""
    data = b"\n".join(b"~" + line for line in lines)  # no header form starts with "~"
    result = run_bytes(data)
    check_stats(result.stats, lines_in(data))
    assert sum(result.stats.unparsed.values()) == result.stats.lines


@SETTINGS
@given(mutated_log())
def test_mutated_real_lines(data: bytes) -> None:
    """Truncated, restamped, spiked, reordered real lines; queue ids reused on mx02."""
    result = run_bytes(data)
    check_stats(result.stats, lines_in(data))
    check_outputs(result)


PROGRAMS: Final = [
    "postfix/smtpd", "postfix/submission/smtpd", "postfix/cleanup", "postfix/qmgr",
    "postfix/lmtp", "postfix/smtp", "postfix/bounce", "postfix/pickup", "postfix/local",
    "dovecot", "rspamd", "clamd", "clamav-milter", "roundcube", "userlogins",
]
PREFIXES: Final = [
    "", "ABCDEF1234: ", "NOQUEUE: reject: RCPT from x[1.2.3.4]: ", "imap-login: Login: user=<",
    "imap(a@b.c)<1><s>: ", "lmtp(a@b.c)<2><s>: sieve: msgid=<", "auth: passwd-file(",
    "id: <", "<abc> Successful login for ", "FAILED login for ", "stream(): ",
    "ABCDEF1234: to=<", "ABCDEF1234: info: header Subject: ", "connect from ",
]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PROGRAMS), st.sampled_from(PREFIXES), hostile_text),
                min_size=1, max_size=20))
def test_every_parser_on_hostile_messages(items: list[tuple[str, str, str]]) -> None:
    """Each daemon's parser on lines whose header is fine and whose message is hostile."""
    n = len(items)
    # Lines arrive decoded with invalid UTF-8 replaced: a string never holds a surrogate.
    items = [(p, pre, t.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
             for p, pre, t in items]
    lines = pl.DataFrame(
        {
            "time": [None] * n, "host": ["mx01"] * n, "program": [p for p, _, _ in items],
            "pid": ["1"] * n, "msg": [pre + text for _, pre, text in items],
            "raw": [f"{p}: {pre}{text}" for p, pre, text in items],
        },
        schema=header.LINES_FRAME,
    ).with_columns(time=pl.datetime(2026, 11, 27, 5, 40, 0))
    postfix.parse(lines)
    rspamd.parse(lines)
    clamav.parse(lines)
    dovecot.parse(lines.filter(pl.col("program") == "dovecot"))
    roundcube.parse(lines)
    eng = engine.Engine()
    eng.feed(lines)
    check_stats(eng.stats, n)


@SETTINGS
@given(hostile_text.filter(lambda s: "\n" not in s and "\r" not in s and s.strip() != ""))
def test_hostile_subject_stays_literal(subject: str) -> None:
    """A hostile subject of an accepted message: exact in JSON, inert in table and CSV."""
    subject = subject.replace("=?", "").replace("? ", "").replace(" from ", " ")
    raw = subject.encode("utf-8", "surrogateescape")
    base = b"Nov 27 05:39:56 mx01 postfix/"
    data = b"\n".join([
        base + b"smtpd[1]: A62A116255C: client=unknown[127.0.0.10]",
        base + b"cleanup[2]: A62A116255C: info: header Subject: " + raw
        + b" from unknown[127.0.0.10]; from=<p@partner.test> to=<a@example.com> proto=ESMTP "
          b"helo=<h>",
        base + b"qmgr[3]: A62A116255C: from=<p@partner.test>, size=650, nrcpt=1 (queue active)",
        base + b"lmtp[4]: A62A116255C: to=<a@example.com>, relay=mx01[private/dovecot-lmtp], "
               b"delay=0.19, delays=0.15/0.01/0.02/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        base + b"qmgr[3]: A62A116255C: removed",
    ]) + b"\n"
    result = run_bytes(data)
    check_stats(result.stats, 5)
    received = result.views["received"]
    assert received.height == 1
    logged = raw.decode("utf-8", "replace").strip()
    got = received.get_column("subject")[0]
    assert got is not None and got.strip() == logged
    js = io.StringIO()
    output.write_json(received, js)
    assert json.loads(js.getvalue())[0]["subject"] == got
    check_outputs(result)


def test_counts_add_up_on_the_real_logs() -> None:
    """The invariant the properties rely on holds for the real run too (and is not vacuous)."""
    result = engine.run([REAL], year=2026)
    data = b"".join((REAL / n).read_bytes() for n in ("mail.log", "dovecot.log", "rspamd.log",
                                                     "clamav.log"))
    check_stats(result.stats, lines_in(data))
    parsed = Counter(result.stats.programs)
    parsed.subtract(result.stats.ignored)
    parsed.subtract(result.stats.unparsed)
    assert parsed["postfix/smtpd"] > 0 and parsed["dovecot"] > 0 and parsed["rspamd"] > 0
    check_outputs(result)



# ---------------------------------------------------------------- huge and adversarial lines
FORMS: Final = [
    b"Nov 27 05:39:56 mx01 postfix/cleanup[2]: A62A116255C: info: header Subject: ",
    b"Nov 27 05:39:56 mx01 postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 550 <",
    b"Nov 27 05:39:56 imap(a@b.c)<1><sess>: Info: Disconnected: ",
    b"Nov 27 05:39:56 mx01 dovecot: imap-login: Login: user=<",
    b"2026-11-27 05:40:04 #9883(rspamd_proxy) <3af9e4>; proxy; rspamd_task_write_log: id: <",
    b"Fri Nov 27 05:40:08 2026 -> ",
    b"[27-Nov-2026 05:40:00 +0000]: <abc> Successful login for ",
    b"Nov 27 05:39:56 mx01 roundcube: <abc> Failed login for ",
    b"",
]
ADVERSARIAL: Final = [
    "<", "[", "=?", "(", " ", "_", "\\", "a@", "from=a ", " from a[", "=?a?q?x", "1:", "1.",
    "\x1b[", "\u202e", "header Subject: ",
]


def _python_display_paths(text: str) -> None:
    """Every Python (not Rust) regex or loop a logged value can reach on its way out."""
    from tracemail_tui.cli.output import escape
    from tracemail_tui.export.pdf_doc import printable
    from tracemail_tui.export.pdf_report import event_text
    from tracemail_tui.export.redact import remove_subjects
    from tracemail_tui.export.text import visible
    from tracemail_tui.store.correlate.subject import decode_rfc2047

    lines = pl.DataFrame({"raw": [text]})
    row = {"subject": text[:50], "recipient": "a@example.org"}
    for fn in (REDACTOR.text, remove_subjects, event_text, escape, visible, decode_rfc2047,
               printable, lambda t: Privacy(scope=("example.org",), show_subjects=False)
               .evidence(lines, row, "received")):
        fn(text)  # type: ignore[operator]


def test_one_megabyte_lines_are_counted_and_exported() -> None:
    payload = ("x<[=?( \x00\x1b]0;t\x07 " * 60_000)[:1_000_000].encode()
    data = b"\n".join(form + payload for form in FORMS) + b"\n"
    result = run_bytes(data)
    check_stats(result.stats, len(FORMS))
    check_outputs(result)


def test_pdf_report_of_a_hostile_megabyte_line() -> None:
    """fpdf2's bidi step used to recurse once per neutral character (RecursionError)."""
    from tracemail_tui.export.pdf_report import write_result_pdf

    raw = [(FORMS[0] + p.encode() * (1_000_000 // len(p))).decode() for p in ("<", "( ", "a ")]
    lines = schema.conform("lines", pl.DataFrame({"raw": raw}))
    buf = io.BytesIO()
    write_result_pdf({"id": "r-x", "status": "accepted", "subject": raw[0]}, buf,
                     view="received", lines=lines)
    assert buf.getvalue().startswith(b"%PDF")


@pytest.mark.parametrize("piece", ADVERSARIAL, ids=lambda p: repr(p)[1:-1])
def test_adversarial_lines_take_linear_time(piece: str) -> None:
    """100k-character adversarial runs in every line form through the engine and outputs,
    and 500k characters through every Python display path. Linear work takes a few
    seconds of CPU at most here; a quadratic regex (like the `email.header` one on
    `=?a?q?x`, 19 s at 100k) needs many minutes at 500k. CPU time, not wall time: the
    machine may be busy."""
    run = (piece * (100_000 // len(piece) + 1))[:100_000]
    data = b"\n".join(form + run.encode() for form in FORMS) + b"\n"
    start = time.process_time()
    result = run_bytes(data)
    check_stats(result.stats, len(FORMS))
    check_outputs(result)
    engine_s = time.process_time() - start
    big = (piece * (500_000 // len(piece) + 1))[:500_000]
    start = time.process_time()
    for form in (FORMS[0], FORMS[4], FORMS[-1]):  # Postfix subject, Rspamd, no header
        _python_display_paths(form.decode() + big)
    display_s = time.process_time() - start
    assert engine_s < 60 and display_s < 60, (engine_s, display_s)
