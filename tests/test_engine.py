"""Engine invariants: order/chunking independence, hosts apart, line-form variants."""

from __future__ import annotations

import random
import re
from pathlib import Path

import polars as pl
import pytest

from tracemail_tui.store import engine, sources
from tracemail_tui.store.parse.header import split_lines

REAL = Path(__file__).parent / "fixtures" / "real"
FILES = ["mail.log", "dovecot.log", "rspamd.log", "clamav.log"]
VIEWS = ("accesses", "received", "sent")


def raw(name: str) -> list[str]:
    return (REAL / name).read_text("utf-8").splitlines()


def frame(lines: list[str], host: str | None = "mx01") -> pl.DataFrame:
    return split_lines(pl.Series("raw", lines, pl.String), host=host, year=2026)


def canon(res: engine.Result, view: str) -> pl.DataFrame:
    return res[view].sort("id")


@pytest.fixture(scope="module")
def baseline() -> engine.Result:
    return engine.run_lines([frame(raw(f)) for f in FILES])


def test_baseline_has_every_view(baseline: engine.Result) -> None:
    assert baseline["received"].height == 21 and baseline["sent"].height == 11
    assert baseline["accesses"].filter(pl.col("protocol") == "smtp").height == 8
    assert baseline["mailbox"].height > 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_file_order_and_chunking_do_not_matter(baseline: engine.Result, seed: int) -> None:
    rnd = random.Random(seed)
    files = FILES[:]
    rnd.shuffle(files)
    frames = []
    for f in files:
        lines = raw(f)
        cut = sorted(rnd.sample(range(1, len(lines)), 3))
        for a, b in zip([0, *cut], [*cut, len(lines)], strict=True):
            frames.append(frame(lines[a:b]))
    got = engine.run_lines(frames)
    for view in VIEWS:
        assert canon(got, view).equals(canon(baseline, view)), view


def test_shuffled_lines_in_one_chunk(baseline: engine.Result) -> None:
    lines = [ln for f in FILES for ln in raw(f)]
    random.Random(7).shuffle(lines)
    got = engine.run_lines([frame(lines)])
    for view in ("received", "sent"):
        assert canon(got, view).equals(canon(baseline, view)), view


def test_line_by_line_feed_retracts_replaced_rows(baseline: engine.Result) -> None:
    """A message seen before its deliveries gets a provisional row; it is replaced."""
    mail = raw("mail.log")
    frames = [frame(mail[i : i + 1]) for i in range(len(mail))]
    frames += [frame(raw(f)) for f in ("dovecot.log", "rspamd.log")]
    got = engine.run_lines(frames)
    for view in ("received", "sent"):
        a, b = canon(got, view), canon(baseline, view)
        assert a["id"].to_list() == b["id"].to_list(), view
        assert a.select("status", "recipient").equals(b.select("status", "recipient"))


def test_interleaved_files_join(tmp_path: Path) -> None:
    got = engine.run([REAL], chunk_bytes=4096)
    assert got["received"].filter(pl.col("folder") == "Junk").height == 1
    assert got["received"].height == 21


def test_hosts_kept_apart() -> None:
    mail = raw("mail.log")
    mx02 = [ln.replace(" mx01 ", " mx02 ").replace("alice@", "zoe@") for ln in mail]
    got = engine.run_lines([frame(mail), frame(mx02)])
    rec = got["received"]
    assert rec.height == 42
    one = rec.filter(pl.col("queue_id") == "A62A116255C").sort("server")
    assert one["server"].to_list() == ["mx01", "mx02"]
    assert one["recipient"].to_list() == ["alice@example.com", "zoe@example.com"]
    assert rec["id"].n_unique() == rec.height


def _long_ids(lines: list[str]) -> list[str]:
    ids = sorted({m for ln in lines for m in re.findall(r"\b[0-9A-F]{11}\b", ln)})
    alphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxy"
    mapping = {}
    for n, qid in enumerate(ids):
        head = "".join(alphabet[(n * 7 + k * 13) % len(alphabet)] for k in range(10))
        mapping[qid] = f"4P{head}z{alphabet[n % 50]}{alphabet[(n * 3) % 50]}Gx"
    return [re.sub(r"\b[0-9A-F]{11}\b", lambda m: mapping[m.group(0)], ln) for ln in lines]


def test_long_queue_ids(baseline: engine.Result) -> None:
    mail = _long_ids(raw("mail.log") + raw("rspamd.log"))
    got = engine.run_lines([frame(mail), frame(raw("dovecot.log"))])
    rec = got["received"]
    assert rec.height == 21 and rec["queue_id"].null_count() == 2  # the NOQUEUE rejects
    assert rec["queue_id"].drop_nulls().str.contains(r"^4P\w+z\w+$").all()
    assert sorted(rec["status"]) == sorted(baseline["received"]["status"])
    assert rec.filter(pl.col("folder") == "Junk")["spam_action"].to_list() == ["add header"]
    assert got.stats.unparsed_of("postfix") == 0


def _dovecot_as_syslog(line: str) -> str:
    stamp, rest = line[:15], line[16:]
    return f"{stamp} mx01 dovecot: {rest.replace(': Info: ', ': ', 1)}"


def test_syslog_dovecot_mixed_into_mail_log(baseline: engine.Result) -> None:
    mixed = raw("mail.log") + [_dovecot_as_syslog(ln) for ln in raw("dovecot.log")]
    got = engine.run_lines([frame(sorted(mixed, key=lambda s: s[:15]), host=None),
                            frame(raw("rspamd.log"))])
    cols = ["id", "status", "folder", "forwarded_to", "auto_reply", "subject"]
    assert got["received"].sort("id").select(cols).equals(
        baseline["received"].sort("id").select(cols))
    assert got.stats.unparsed_of("dovecot") == 0


def test_space_padded_day_and_rfc3339() -> None:
    mail = raw("mail.log")
    padded = [ln.replace("Nov 27 ", "Nov  7 ", 1) for ln in mail]
    got = engine.run_lines([frame(padded)])
    assert got["received"].height == 21
    assert got["received"]["time"].dt.day().unique().to_list() == [7]
    iso = [re.sub(r"^Nov 27 (\d\d:\d\d:\d\d)", r"2026-11-27T\1.250000+01:00", ln) for ln in mail]
    got = engine.run_lines([frame(iso)])
    assert got["received"].height == 21
    assert got["received"]["time"].dt.microsecond().unique().to_list() == [250000]


def test_state_is_pruned_after_grace(baseline: engine.Result) -> None:
    eng = engine.Engine()
    eng.feed(frame(raw("mail.log")))
    assert eng.open_keys > 0
    # A line two hours later closes every removed/rejected message; held and deferred
    # ones (R09, R10, S03, S05) stay open.
    eng.feed(frame(["Nov 27 07:41:00 mx01 postfix/anvil[1]: statistics: max connection rate"]))
    assert eng.open_keys == 4


def test_unknown_programs_are_counted() -> None:
    got = engine.run_lines([frame([
        "Nov 27 05:39:53 mx01 kernel: [123.4] eth0 link up",
        "Nov 27 05:39:53 mx01 postfix/smtpd[1]: something new and strange",
        "garbage without a header",
    ])])
    assert got.stats.unparsed["kernel"] == 1
    assert got.stats.unparsed["postfix/smtpd"] == 1
    assert got.stats.unparsed_of("(unreadable") == 1


def test_evidence_of_rows(baseline: engine.Result) -> None:
    lines = pl.concat([frame(raw(f)) for f in FILES])
    row = baseline["received"].filter(pl.col("queue_id") == "3760B16256D").row(0, named=True)
    ev = engine.evidence(lines, "received", row)
    text = "\n".join(ev["raw"])
    assert "3760B16256D: removed" in text and "redirect action" in text
    assert "rspamd_task_write_log" in text and ev["time"].is_sorted()
    assert set(ev.columns) == {"time", "server", "program", "raw"}
    rec = baseline["received"]
    noq = rec.filter(pl.col("recipient") == "nobody@example.com").row(0, named=True)
    ev = engine.evidence(lines, "received", noq)
    assert len(ev) == 3 and "NOQUEUE: reject" in ev["raw"][1]
    s07 = baseline["accesses"].filter(pl.col("method") == "LOGIN").row(0, named=True)
    ev = engine.evidence(lines, "accesses", s07)
    assert sum("authentication failed" in r for r in ev["raw"]) == 2
    assert any("Password mismatch" in r for r in ev["raw"])


def test_sources_read_the_same_lines_in_any_chunk_size(tmp_path: Path) -> None:
    a = [len(c) for s in sources.sources([REAL]) for c in sources.read_chunks(s, 512)]
    b = [len(c) for s in sources.sources([REAL]) for c in sources.read_chunks(s)]
    assert sum(a) == sum(b) == 852 and len(a) > len(b)


def test_queue_id_reuse_makes_two_messages() -> None:
    def message(hms: str, later: str, client: str, sender: str, size: int, rcpt: str,
                status: str) -> list[str]:
        p = "mx01 postfix"
        return [
            f"Nov 27 {hms} {p}/smtpd[1]: 1A2B3C4D5E: client={client}",
            f"Nov 27 {hms} {p}/qmgr[2]: 1A2B3C4D5E: from=<{sender}>, size={size}, nrcpt=1 (x)",
            f"Nov 27 {later} {p}/local[3]: 1A2B3C4D5E: to=<{rcpt}>, relay=local, delay=1, "
            f"delays=0/0/0/0, dsn=2.0.0, status={status} (done)",
            f"Nov 27 {later} {p}/qmgr[2]: 1A2B3C4D5E: removed",
        ]

    lines = message("05:00:00", "05:00:01", "a[192.0.2.1]", "x@a.test", 1, "u@ours.test", "sent")
    lines += message("09:00:00", "09:00:01", "b[192.0.2.2]", "y@b.test", 2, "v@ours.test",
                     "bounced")
    for frames in ([frame(lines)], [frame(lines[:4]), frame(lines[4:])]):
        rec = engine.run_lines(frames)["received"].sort("time")
        assert rec["id"].to_list() == ["r-mx01-20261127050000-1A2B3C4D5E-1",
                                       "r-mx01-20261127090000-1A2B3C4D5E-1"]
        assert rec["sender"].to_list() == ["x@a.test", "y@b.test"]
        assert rec["delivery"].to_list() == ["delivered", "bounced"]
        assert rec["size"].to_list() == [1, 2]


def test_generated_logs_do_not_depend_on_chunking(tmp_path: Path) -> None:
    from tracemail_tui.gen import generate

    generate(tmp_path, seed=11, lines=20_000, days=0.2)
    big = engine.run([tmp_path])
    small = engine.run([tmp_path], chunk_bytes=64 * 1024)
    for view in VIEWS:
        assert big[view].height > 100
        assert canon(big, view).equals(canon(small, view)), view
    for fam in ("postfix", "dovecot", "rspamd"):
        assert big.stats.unparsed_of(fam) == 0, big.stats.unparsed


def test_engine_state_survives_pickle(baseline: engine.Result) -> None:
    """The live store checkpoints the engine with pickle and resumes from it."""
    import pickle

    eng = engine.Engine()
    mail = raw("mail.log")
    first = [eng.feed(frame(mail[:100]))]
    eng = pickle.loads(pickle.dumps(eng))
    rest = [eng.feed(frame(mail[100:])), eng.feed(frame(raw("dovecot.log"))),
            eng.feed(frame(raw("rspamd.log")))]
    views = engine.collect(first + rest)
    for view in ("received", "sent"):
        assert views[view].sort("id").equals(canon(baseline, view)), view


def test_compact_keeps_every_value_and_dtype() -> None:
    """State is copied out of shared string buffers (schema.compact) without changing it."""
    import datetime as dt

    from tracemail_tui.store import schema

    big = pl.DataFrame({
        "s": [f"line {i} with text that is longer than twelve bytes" for i in range(10_000)],
        "t": [dt.datetime(2026, 11, 27, 5, 0, 0) + dt.timedelta(seconds=i) for i in range(10_000)],
        "n": list(range(10_000)),
        "f": [i / 3 for i in range(10_000)],
        "b": [i % 2 == 0 for i in range(10_000)],
    }).with_columns(u=pl.lit(None, pl.String), short=pl.col("s").str.slice(0, 4),
                    k=pl.col("s").str.slice(5, 3).str.split(" "))
    few = big.filter(pl.col("n") % 997 == 0)
    out = schema.compact(few)
    assert out.schema == few.schema
    assert out.equals(few)
    assert schema.compact(few.clear()).schema == few.schema
    for view in ("accesses", "received", "sent", "mailbox"):
        assert schema.compact(schema.empty(view)).schema == schema.empty(view).schema
